package sysinfo

import (
	"runtime"
	"testing"
)

func TestBuild(t *testing.T) {
	saved := [3]string{version, commit, buildTime}
	t.Cleanup(func() { version, commit, buildTime = saved[0], saved[1], saved[2] })
	for _, tc := range []struct {
		ver, rev, built          string
		wantVer, wantRev, wantAt string
	}{
		{"v1.2.3", "0123456789abcdef0123", "2026-01-02T03:04:05Z", "v1.2.3", "0123456789ab", "Fri Jan  2 03:04:05 2026"},
		{"", "", "", "dev", "unknown", ""},
	} {
		version, commit, buildTime = tc.ver, tc.rev, tc.built
		v := Version()
		got := [3]string{v.Client.Version, v.Client.GitCommit, v.Client.BuildTime}
		if want := [3]string{tc.wantVer, tc.wantRev, tc.wantAt}; got != want {
			t.Errorf("ldflags %q %q %q: client %q, want %q", tc.ver, tc.rev, tc.built, got, want)
		}
		if v.Server.Version != v.Client.Version || v.Server.GitCommit != v.Client.GitCommit {
			t.Errorf("server %+v differs from client %+v", v.Server, v.Client)
		}
		if v.Server.APIVersion != APIVersion || v.Server.MinAPIVersion != MinAPIVersion || v.Server.Os != runtime.GOOS || v.Server.KernelVersion == "" {
			t.Errorf("server %+v", v.Server)
		}
	}
}
