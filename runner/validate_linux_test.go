package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRunRejectsBadSpecs(t *testing.T) {
	rootfs := t.TempDir()
	file := filepath.Join(t.TempDir(), "f")
	writeFile(t, file, "x")
	ok := func() *Spec { return &Spec{Rootfs: rootfs, Args: []string{"true"}, Cwd: "/"} }
	tests := []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"nil args", func(s *Spec) { s.Args = nil }, "no command"},
		{"relative rootfs", func(s *Spec) { s.Rootfs = "rel" }, "not absolute"},
		{"missing rootfs", func(s *Spec) { s.Rootfs = filepath.Join(rootfs, "nope") }, "rootfs"},
		{"rootfs is a file", func(s *Spec) { s.Rootfs = file }, "not a directory"},
		{"relative cwd", func(s *Spec) { s.Cwd = "work" }, "cwd"},
		{"bad network", func(s *Spec) { s.Network = 7 }, "network"},
		{"relative target", func(s *Spec) { s.Mounts = []Mount{{Type: "tmpfs", Target: "run"}} }, "not absolute"},
		{"root target", func(s *Spec) { s.Mounts = []Mount{{Type: "tmpfs", Target: "/"}} }, "root"},
		{"bad type", func(s *Spec) { s.Mounts = []Mount{{Type: "nfs", Target: "/x"}} }, "type"},
		{"bad option", func(s *Spec) {
			s.Mounts = []Mount{{Type: "bind", Source: file, Target: "/x", Options: []string{"size=1m"}}}
		}, "option"},
		{"missing source", func(s *Spec) { s.Mounts = []Mount{{Type: "bind", Source: "/no/such/src", Target: "/x"}} }, "source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := ok()
			tc.edit(spec)
			code, err := New().Run(context.Background(), spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) || code != -1 {
				t.Errorf("Run = %d, %v; want -1 and an error mentioning %q", code, err, tc.want)
			}
			if ents, _ := os.ReadDir(rootfs); len(ents) != 0 {
				t.Errorf("rejected spec left %d entries in the rootfs", len(ents))
			}
		})
	}
}

func TestParseMountOptions(t *testing.T) {
	m, err := parseMount(Mount{Type: "tmpfs", Target: "/run/", Options: []string{"size=64m", "mode=0700", "noexec", "ro"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Target != "/run" || m.Flags&unix.MS_NOEXEC == 0 || m.Data != "size=64m,mode=0700" || !m.ReadOnly || m.IsFile {
		t.Errorf("parseMount = %+v", m)
	}
}
