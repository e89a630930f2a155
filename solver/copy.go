package solver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
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

// dispatchCopy runs a COPY or ADD: it resolves the sources, keys the step
// on their content and copies them in, unless the cache holds the result.
func (sc *stageCtx) dispatchCopy(ctx context.Context, cs copySpec) error {
	dest, err := sc.copyDest(cs)
	if err != nil {
		return err
	}
	in := inputs{
		"instruction": copyHistory(cs) + " -> " + dest,
		"options":     fmt.Sprintf("add=%v unpack=%s exclude=%q chown=%q chmod=%q parents=%v", cs.add, unpackKey(cs.unpack), cs.exclude, cs.chown, cs.chmod, cs.parents),
	}
	from, err := sc.resolveSource(ctx, cs, in)
	if err != nil {
		return err
	}
	step := sc.bd.o.Progress.Start(sc.progressName(cs.cmd))
	// One limit for everything this ADD brings in, as for a pulled layer.
	limit := fileop.NewLimit(cache.MaxUncompressedLayer, cache.MaxLayerSizeEnv)
	jobs, cleanup, err := sc.copyJobs(ctx, cs, limit)
	defer cleanup()
	var fetchErr *fetchError
	if errors.As(err, &fetchErr) {
		step.Done(true, fetchErr.err)
		return fetchErr.err
	}
	if err != nil {
		return err
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
		return sc.runCopy(ctx, rootfs, cs, dest, from, jobs, limit)
	})
	if err != nil {
		return err
	}
	sc.commit(copyHistory(cs), added, true)
	return nil
}

// copyDest checks a COPY's or ADD's sources against its destination and
// returns the destination resolved against WORKDIR.
func (sc *stageCtx) copyDest(cs copySpec) (string, error) {
	nsrc := len(cs.src.SourcePaths) + len(cs.src.SourceContents)
	if nsrc == 0 {
		return "", fmt.Errorf("no source files were specified")
	}
	dest := sc.destPath(cs.src.DestPath)
	if nsrc > 1 && !strings.HasSuffix(dest, "/") {
		return "", fmt.Errorf("when using %s with more than one source file, the destination must be a directory and end with a /", cs.name)
	}
	if cs.checksum != "" && (len(cs.src.SourcePaths) != 1 || !isURL(cs.src.SourcePaths[0])) {
		return "", fmt.Errorf("checksum can't be specified for non-HTTP(S) sources")
	}
	return dest, nil
}

// copySource is where a COPY's local (non-URL) sources are read: the
// build context, or the stage or image that --from names.
type copySource struct {
	src  fileop.Source
	name string      // the expanded --from; "" for the context
	st   *stageState // what it names
}

// resolveSource resolves the local sources' root and puts their content in
// the step's key: the context files' digests, or the --from source's
// layers, whose snapshot is mounted (and unpacked) only when the step
// runs.
func (sc *stageCtx) resolveSource(ctx context.Context, cs copySpec, in inputs) (copySource, error) {
	bd := sc.bd
	if cs.from == "" {
		src := fileop.Source{Root: bd.o.ContextDir, Ignore: bd.ignore, Sent: bd.sent}
		for _, p := range cs.src.SourcePaths {
			if isURL(p) {
				continue
			}
			// A missing source yields no digest here; Copy reports it.
			if d, err := bd.contextChecksum(ctx, p); err == nil {
				in["source "+p] = d
			} else {
				in["source "+p] = "error: " + err.Error()
			}
		}
		return copySource{src: src}, nil
	}
	from, _, err := bd.newLex().ProcessWord(cs.from, shellEnv(sc.st.env))
	if err != nil {
		return copySource{}, err
	}
	if nc, ok := bd.named(from); ok && nc.Dir != "" {
		return sc.namedCopySource(ctx, nc.Dir, cs, in)
	}
	st, desc, err := sc.fromSource(ctx, from)
	if errors.Is(err, errStageLater) {
		return copySource{}, fmt.Errorf("cannot copy from stage %q, it needs to be defined before current stage %q", from, sc.name)
	}
	if err != nil {
		return copySource{}, err
	}
	in["from"] = desc
	in["source paths"] = strings.Join(cs.src.SourcePaths, "\x00")
	return copySource{src: fileop.Source{KeepOwner: true}, name: from, st: st}, nil
}

// copyJob is one fileop call of a COPY or ADD: its local sources, one
// downloaded URL, or its heredocs.
type copyJob struct {
	local   bool // reads the copySource
	src     fileop.Source
	paths   []string
	add     bool   // extract archives
	fetched string // a downloaded URL source
	url     string
	digest  string // of the download
}

// fetchError is a download that failed: the step shows it as its own.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }

// copyJobs lists the jobs of a COPY or ADD, downloading URL sources and
// writing heredocs into temp dirs, which cleanup removes.
func (sc *stageCtx) copyJobs(ctx context.Context, cs copySpec, limit *fileop.Limit) (jobs []copyJob, cleanup func(), err error) {
	var tmpDirs []string
	cleanup = func() {
		for _, d := range tmpDirs {
			os.RemoveAll(d)
		}
	}
	var local []string
	for _, p := range cs.src.SourcePaths {
		if cs.add && isURL(p) {
			file, _, mtime, err := fileop.FetchURL(ctx, p, cs.checksum, sc.bd.b.TmpDir, limit)
			if err != nil {
				return nil, cleanup, &fetchError{err}
			}
			tmpDirs = append(tmpDirs, filepath.Dir(file))
			d, err := fileop.ChecksumFetched(ctx, file)
			if err != nil {
				return nil, cleanup, err
			}
			// Downloads are extracted only on request, as in BuildKit.
			unpack := cs.unpack != nil && *cs.unpack
			jobs = append(jobs, copyJob{fetched: file, add: unpack, url: p, digest: d + " " + mtime.String()})
			continue
		}
		if cs.from == "" && !cs.add && isURL(p) {
			return nil, cleanup, fmt.Errorf("source can't be a URL for COPY")
		}
		local = append(local, p)
	}
	if len(local) > 0 {
		unpack := cs.add && cs.from == "" && (cs.unpack == nil || *cs.unpack)
		jobs = append(jobs, copyJob{local: true, paths: local, add: unpack})
	}
	if len(cs.src.SourceContents) > 0 {
		dir, names, err := sc.writeHeredocs(cs.src.SourceContents)
		if dir != "" {
			tmpDirs = append(tmpDirs, dir)
		}
		if err != nil {
			return nil, cleanup, err
		}
		jobs = append(jobs, copyJob{src: fileop.Source{Root: dir}, paths: names})
	}
	return jobs, cleanup, nil
}

// writeHeredocs writes a COPY's heredocs into a new temp dir.
func (sc *stageCtx) writeHeredocs(docs []instructions.SourceContent) (dir string, names []string, err error) {
	dir, err = os.MkdirTemp(sc.bd.b.TmpDir, "heredoc-")
	if err != nil {
		return "", nil, err
	}
	for _, c := range docs {
		name := path.Base(c.Path)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(c.Data), 0o644); err != nil {
			return dir, nil, err
		}
		if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil {
			return dir, nil, err
		}
		names = append(names, name)
	}
	return dir, names, nil
}

// runCopy runs a COPY's or ADD's jobs into rootfs, mounting the --from
// source first when a job reads it.
func (sc *stageCtx) runCopy(ctx context.Context, rootfs string, cs copySpec, dest string, from copySource, jobs []copyJob, limit *fileop.Limit) error {
	if from.st != nil && slices.ContainsFunc(jobs, func(j copyJob) bool { return j.local }) {
		root, release, err := sc.bd.view(ctx, from.name, from.st.layers, from.st.diffIDs)
		if err != nil {
			return err
		}
		defer release()
		from.src.Root = root
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
		if j.local {
			j.src = from.src
		}
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
			SourceDateEpoch: sc.bd.o.SourceDateEpoch,
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
