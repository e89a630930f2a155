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

// cacheBuild is what a build leaves to --cache-to.
func cacheBuild(res *solver.Result) remotecache.Build {
	return remotecache.Build{Final: res.FinalRecords, All: res.AllRecords, Mounts: res.CacheMounts}
}
