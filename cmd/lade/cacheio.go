package main

import (
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/remotecache"
	"github.com/lade-build/lade/solver"
)

// remoteCache wires --cache-to and --cache-from to this root.
func (a *app) remoteCache(prog *progress.Printer) remotecache.Options {
	return remotecache.Options{
		Content:  a.content,
		Registry: a.images,
		Insecure: a.insecure,
		MountDir: func(id string) string { return solver.CacheMountDir(a.root, id) },
		Progress: cacheProgress{prog},
	}
}

// cacheProgress shows a cache transfer as a build step.
type cacheProgress struct{ *progress.Printer }

func (p cacheProgress) Begin(name string) func(error) {
	s := p.Start(name)
	return func(err error) { s.Done(true, err) }
}

// cacheBuild is what a build leaves to --cache-to: the records of every
// platform it built (their keys name the platform), each cache mount once.
func cacheBuild(results ...*solver.Result) remotecache.Build {
	var b remotecache.Build
	seen := map[string]bool{}
	for _, r := range results {
		b.Final = append(b.Final, r.FinalRecords...)
		b.All = append(b.All, r.AllRecords...)
		for _, m := range r.CacheMounts {
			if !seen[m] {
				seen[m] = true
				b.Mounts = append(b.Mounts, m)
			}
		}
	}
	return b
}
