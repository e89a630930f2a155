package solver

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/fileop"
)

type copySpec struct {
	cmd      instructions.Command
	name     string // COPY or ADD
	src      instructions.SourcesAndDest
	from     string
	chown    string
	chmod    string
	parents  bool
	exclude  []string
	checksum string
	add      bool
	unpack   *bool
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// destPath resolves a COPY destination against WORKDIR, keeping the
// trailing slash that says "this is a directory".
func (sc *stageCtx) destPath(dest string) string {
	if dest == "" || dest == "." || dest == "./" {
		return strings.TrimSuffix(sc.workdirPath("."), "/") + "/"
	}
	p := sc.workdirPath(dest)
	if strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, "/.") || dest == ".." {
		p = strings.TrimSuffix(p, "/") + "/"
	}
	return p
}

func (sc *stageCtx) dispatchCopy(ctx context.Context, cs copySpec) error {
	bd := sc.bd
	nsrc := len(cs.src.SourcePaths) + len(cs.src.SourceContents)
	if nsrc == 0 {
		return fmt.Errorf("no source files were specified")
	}
	dest := sc.destPath(cs.src.DestPath)
	if nsrc > 1 && !strings.HasSuffix(dest, "/") {
		return fmt.Errorf("when using %s with more than one source file, the destination must be a directory and end with a /", cs.name)
	}
	if cs.checksum != "" && (len(cs.src.SourcePaths) != 1 || !isURL(cs.src.SourcePaths[0])) {
		return fmt.Errorf("checksum can't be specified for non-HTTP(S) sources")
	}

	// Resolve the source root: another stage, an image, or the context.
	var src fileop.Source
	var fromState *stageState // the stage or image COPY --from reads
	var fromName string
	in := inputs{"instruction": copyHistory(cs) + " -> " + dest}
	in["options"] = fmt.Sprintf("add=%v unpack=%s exclude=%q chown=%q chmod=%q parents=%v", cs.add, unpackKey(cs.unpack), cs.exclude, cs.chown, cs.chmod, cs.parents)
	if cs.from != "" {
		from, _, err := bd.newLex().ProcessWord(cs.from, shellEnv(sc.st.env))
		if err != nil {
			return err
		}
		if dep := bd.lookupStage(from, sc.n.index); dep != nil {
			if dep == sc.n {
				return fmt.Errorf("circular dependency detected on stage: %s", from)
			}
			res, err := bd.stageResult(ctx, dep)
			if err != nil {
				return err
			}
			fromState = res
			in["from"] = "stage " + chainID(res.diffIDs)
		} else if bd.byName[strings.ToLower(from)] != nil {
			return fmt.Errorf("cannot copy from stage %q, it needs to be defined before current stage %q", from, sc.name)
		} else {
			ist, err := bd.imageState(ctx, from, bd.o.Platform)
			if err != nil {
				return err
			}
			fromState = ist
			in["from"] = "image " + chainID(ist.diffIDs)
		}
		fromName = from
		// The key needs only the source's layer digests; its snapshot is
		// mounted (and unpacked) only when the step runs.
		src = fileop.Source{KeepOwner: true}
	} else {
		src = fileop.Source{Root: bd.o.ContextDir, Ignore: bd.ignore, Sent: bd.sent}
	}
	if cs.from != "" {
		in["source paths"] = strings.Join(cs.src.SourcePaths, "\x00")
	} else {
		for _, p := range cs.src.SourcePaths {
			if isURL(p) {
				continue
			}
			// A missing source yields no digest here; Copy reports it.
			if d, err := fileop.Checksum(ctx, src, []string{p}, bd.b.StatCache); err == nil {
				in["source "+p] = d
			} else {
				in["source "+p] = "error: " + err.Error()
			}
		}
	}

	step := bd.o.Progress.Start(sc.progressName(cs.cmd))
	var tmpDirs []string
	defer func() {
		for _, d := range tmpDirs {
			os.RemoveAll(d)
		}
	}()
	// One limit for everything this ADD brings in, as for a pulled layer.
	limit := fileop.NewLimit(cache.MaxUncompressedLayer, cache.MaxLayerSizeEnv)
	type job struct {
		src     fileop.Source
		paths   []string
		add     bool
		fetched string // a downloaded URL source
		url     string
		digest  string // of the download
	}
	var jobs []job
	var local []string
	for _, p := range cs.src.SourcePaths {
		if cs.add && isURL(p) {
			file, _, mtime, err := fileop.FetchURL(ctx, p, cs.checksum, bd.b.TmpDir, limit)
			if err != nil {
				step.Done(true, err)
				return err
			}
			tmpDirs = append(tmpDirs, filepath.Dir(file))
			d, err := fileop.ChecksumFetched(ctx, file)
			if err != nil {
				return err
			}
			// Downloads are extracted only on request, as in BuildKit.
			unpack := cs.unpack != nil && *cs.unpack
			jobs = append(jobs, job{fetched: file, add: unpack, url: p, digest: d + " " + mtime.String()})
			continue
		}
		if cs.from == "" && !cs.add && isURL(p) {
			return fmt.Errorf("source can't be a URL for COPY")
		}
		local = append(local, p)
	}
	fromJob := -1
	if len(local) > 0 {
		fromJob = len(jobs)
		unpack := cs.add && cs.from == "" && (cs.unpack == nil || *cs.unpack)
		jobs = append(jobs, job{src: src, paths: local, add: unpack})
	}
	if len(cs.src.SourceContents) > 0 {
		dir, err := os.MkdirTemp(bd.b.TmpDir, "heredoc-")
		if err != nil {
			return err
		}
		tmpDirs = append(tmpDirs, dir)
		var names []string
		for _, c := range cs.src.SourceContents {
			name := path.Base(c.Path)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(c.Data), 0o644); err != nil {
				return err
			}
			if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil {
				return err
			}
			names = append(names, name)
		}
		jobs = append(jobs, job{src: fileop.Source{Root: dir}, paths: names})
	}

	for i, j := range jobs {
		if j.url != "" {
			in[fmt.Sprintf("url %d %s", i, j.url)] = j.digest
		}
	}
	for i, c := range cs.src.SourceContents {
		in[fmt.Sprintf("heredoc %d %s", i, c.Path)] = c.Data
	}
	sc.addBuildInputs(in)
	added, err := sc.layerStep(ctx, step, in, func(rootfs string) error {
		if fromState != nil && fromJob >= 0 {
			root, release, err := bd.view(ctx, fromName, fromState.layers, fromState.diffIDs)
			if err != nil {
				return err
			}
			defer release()
			jobs[fromJob].src.Root = root
		}
		var owner *fileop.Owner
		if cs.chown != "" {
			o, err := fileop.LookupChown(rootfs, cs.chown)
			if err != nil {
				return err
			}
			owner = &o
		}
		for _, j := range jobs {
			opts := fileop.CopyOptions{
				Src:             j.src,
				Paths:           j.paths,
				DestRoot:        rootfs,
				Dest:            dest,
				Chown:           owner,
				Chmod:           cs.chmod,
				Parents:         cs.parents,
				Exclude:         cs.exclude,
				Add:             j.add,
				Limit:           limit,
				SourceDateEpoch: bd.o.SourceDateEpoch,
			}
			var err error
			if j.fetched != "" {
				err = fileop.CopyFetched(ctx, j.fetched, opts)
			} else {
				err = fileop.Copy(ctx, opts)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sc.commit(copyHistory(cs), added, true)
	return nil
}

// contextPaths lists the context paths that stages read, the ones
// BuildKit's frontend asks the context transfer for: COPY and ADD sources
// and RUN bind mounts from the context. A tmpfs mount counts as the whole
// context there too. Never nil: the context is always filtered.
func contextPaths(stages []*stageNode) []string {
	out := []string{}
	for _, n := range stages {
		for _, c := range n.stage.Commands {
			switch c := c.(type) {
			case *instructions.CopyCommand:
				if c.From == "" {
					out = append(out, c.SourcePaths...)
				}
			case *instructions.AddCommand:
				for _, p := range c.SourcePaths {
					if !isURL(p) {
						out = append(out, p)
					}
				}
			case *instructions.RunCommand:
				for _, m := range instructions.GetMounts(c) {
					if m.From == "" && (m.Type == instructions.MountTypeBind || m.Type == instructions.MountTypeTmpfs) {
						out = append(out, "/"+m.Source)
					}
				}
			}
		}
	}
	return out
}

// unpackKey tells ADD --unpack's three states apart in the cache key:
// unset extracts local archives, false does not. Unset keeps the key it
// always had.
func unpackKey(u *bool) string {
	switch {
	case u == nil:
		return "false"
	case *u:
		return "true"
	}
	return "never"
}

func copyHistory(cs copySpec) string {
	var b strings.Builder
	b.WriteString(cs.name)
	if cs.parents {
		b.WriteString(" --parents")
	}
	if cs.chown != "" {
		b.WriteString(" --chown=" + cs.chown)
	}
	if cs.chmod != "" {
		b.WriteString(" --chmod=" + cs.chmod)
	}
	for _, s := range cs.src.SourcePaths {
		b.WriteString(" " + s)
	}
	for _, s := range cs.src.SourceContents {
		b.WriteString(" <<" + s.Path)
	}
	b.WriteString(" " + cs.src.DestPath)
	return b.String()
}
