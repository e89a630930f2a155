package solver

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

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
	in["options"] = fmt.Sprintf("add=%v unpack=%v exclude=%q chown=%q chmod=%q parents=%v", cs.add, cs.unpack != nil && *cs.unpack, cs.exclude, cs.chown, cs.chmod, cs.parents)
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
		src = fileop.Source{Root: bd.o.ContextDir, Ignore: bd.ignore}
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
	type job struct {
		src    fileop.Source
		paths  []string
		chmod  string
		add    bool
		url    string
		digest string // of a downloaded URL source
	}
	var jobs []job
	var local []string
	for _, p := range cs.src.SourcePaths {
		if cs.add && isURL(p) {
			dir, err := os.MkdirTemp(bd.b.TmpDir, "url-")
			if err != nil {
				return err
			}
			tmpDirs = append(tmpDirs, dir)
			file, name, mtime, err := fileop.FetchURL(ctx, p, cs.checksum, dir)
			if err != nil {
				step.Done(true, err)
				return err
			}
			// Serve the download under its BuildKit name from its own root.
			root := filepath.Join(dir, "root")
			if err := os.MkdirAll(root, 0o755); err != nil {
				return err
			}
			target := filepath.Join(root, name)
			if err := os.Rename(file, target); err != nil {
				return err
			}
			if err := os.Chmod(target, 0o600); err != nil {
				return err
			}
			if !mtime.IsZero() {
				_ = os.Chtimes(target, mtime, mtime)
			}
			d, err := fileop.Checksum(ctx, fileop.Source{Root: root}, []string{name}, nil)
			if err != nil {
				return err
			}
			jobs = append(jobs, job{src: fileop.Source{Root: root}, paths: []string{name}, chmod: cs.chmod, url: p, digest: d + " " + mtime.String()})
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
		jobs = append(jobs, job{src: src, paths: local, chmod: cs.chmod, add: cs.add && cs.from == ""})
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
		jobs = append(jobs, job{src: fileop.Source{Root: dir}, paths: names, chmod: cs.chmod})
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
			err := fileop.Copy(ctx, fileop.CopyOptions{
				Src:             j.src,
				Paths:           j.paths,
				DestRoot:        rootfs,
				Dest:            dest,
				Chown:           owner,
				Chmod:           j.chmod,
				Parents:         cs.parents,
				Exclude:         cs.exclude,
				Add:             j.add && (cs.unpack == nil || *cs.unpack),
				SourceDateEpoch: bd.o.SourceDateEpoch,
			})
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
