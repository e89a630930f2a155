package runner

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMounts(t *testing.T) {
	rootfs := newRootfs(t)
	host := t.TempDir()
	before := hostMounts(t, rootfs, host)

	rwDir := filepath.Join(host, "rw")
	roDir := filepath.Join(host, "ro")
	for _, d := range []string{rwDir, roDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(roDir, "data"), "read me\n")
	hosts := filepath.Join(host, "hosts")
	writeFile(t, hosts, "10.0.0.1 lade-host\n")
	secret := filepath.Join(host, "secret")
	writeFile(t, secret, "s3cret\n")
	etcBefore, err := os.Stat(filepath.Join(rootfs, "etc"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a stub would visibly move /etc's mtime

	tests := []struct {
		name   string
		mounts []Mount
		script string
		want   string
		// gone must not exist in the rootfs after the run.
		gone []string
		// hostCheck inspects the host side afterwards.
		hostCheck func(t *testing.T)
	}{
		{
			name:   "bind rw",
			mounts: []Mount{{Type: "bind", Source: rwDir, Target: "/mnt/rw"}},
			script: "echo written > /mnt/rw/out && echo ok",
			want:   "ok\n",
			gone:   []string{"mnt"},
			hostCheck: func(t *testing.T) {
				if got := readFile(t, filepath.Join(rwDir, "out")); got != "written\n" {
					t.Errorf("host file = %q", got)
				}
			},
		},
		{
			name:   "bind ro",
			mounts: []Mount{{Type: "bind", Source: roDir, Target: "/mnt/ro", Options: []string{"ro"}}},
			script: "cat /mnt/ro/data; touch /mnt/ro/new 2>&1 | grep -o 'Read-only file system'",
			want:   "read me\nRead-only file system\n",
			gone:   []string{"mnt"},
			hostCheck: func(t *testing.T) {
				if _, err := os.Stat(filepath.Join(roDir, "new")); err == nil {
					t.Error("write through ro bind reached the host")
				}
			},
		},
		{
			name:   "tmpfs size and mode",
			mounts: []Mount{{Type: "tmpfs", Target: "/scratch", Options: []string{"size=1m", "mode=0700"}}},
			script: "stat -f -c '%T %b %S' /scratch; stat -c %a /scratch; echo x > /scratch/f && cat /scratch/f",
			want:   "tmpfs 256 4096\n700\nx\n",
			gone:   []string{"scratch"},
		},
		{
			name:   "file bind creates and removes stub",
			mounts: []Mount{{Type: "bind", Source: hosts, Target: "/etc/hosts", Options: []string{"ro"}}},
			script: "cat /etc/hosts",
			want:   "10.0.0.1 lade-host\n",
			gone:   []string{"etc/hosts"},
		},
		{
			name:   "file bind under missing parents",
			mounts: []Mount{{Type: "bind", Source: secret, Target: "/run/secrets/x"}},
			script: "cat /run/secrets/x",
			want:   "s3cret\n",
			gone:   []string{"run"},
		},
		{
			name: "mount onto an earlier tmpfs",
			mounts: []Mount{
				{Type: "tmpfs", Target: "/run"},
				{Type: "bind", Source: secret, Target: "/run/secrets/x"},
			},
			script: "cat /run/secrets/x; stat -f -c %T /run",
			want:   "s3cret\ntmpfs\n",
			gone:   []string{"run"},
		},
		{
			// The content exists only in the container's namespace: its
			// tmpfs, owner and mode, read-only, nothing left in /dev.
			name: "file mount",
			mounts: []Mount{{Type: "file", Data: []byte("in-memory\n"), Target: "/run/secrets/m",
				Options: []string{"ro", "nosuid", "nodev", "noexec", "mode=0440", "uid=7", "gid=8"}}},
			script: "cat /run/secrets/m; stat -f -c %T /run/secrets/m; stat -c '%a %u %g' /run/secrets/m; " +
				"echo x 2>&1 > /run/secrets/m | grep -o 'Read-only file system'; ls -A /dev | grep -c lade-files; true",
			want: "in-memory\ntmpfs\n440 7 8\nRead-only file system\n0\n",
			gone: []string{"run"},
		},
		{
			name: "file mounts under a mount over /dev",
			mounts: []Mount{
				{Type: "tmpfs", Target: "/dev"},
				{Type: "file", Data: []byte("a"), Target: "/dev/a"},
				{Type: "file", Data: []byte("b"), Target: "/etc/b", Options: []string{"mode=0644"}},
			},
			script: "cat /dev/a /etc/b; echo; stat -c %a /etc/b",
			want:   "ab\n644\n",
			gone:   []string{"etc/b"},
		},
		{
			name:   "target on the dev tmpfs",
			mounts: []Mount{{Type: "bind", Source: secret, Target: "/dev/lade-secret"}},
			script: "cat /dev/lade-secret",
			want:   "s3cret\n",
			gone:   []string{"dev"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := baseSpec(rootfs, "sh", "-c", tc.script)
			spec.Mounts = tc.mounts
			r := run(t, spec)
			if r.err != nil || r.code != 0 {
				t.Fatalf("Run = %d, %v, stderr %q", r.code, r.err, r.stderr)
			}
			if r.stdout != tc.want {
				t.Errorf("stdout = %q, want %q (stderr %q)", r.stdout, tc.want, r.stderr)
			}
			assertNoStubs(t, rootfs, append(tc.gone, "proc", "dev", "sys")...)
			if tc.hostCheck != nil {
				tc.hostCheck(t)
			}
		})
	}

	etcAfter, err := os.Stat(filepath.Join(rootfs, "etc"))
	if err != nil {
		t.Fatal(err)
	}
	if !etcAfter.ModTime().Equal(etcBefore.ModTime()) {
		t.Errorf("/etc mtime changed by stubs: %v -> %v", etcBefore.ModTime(), etcAfter.ModTime())
	}
	if after := hostMounts(t, rootfs, host); !slices.Equal(before, after) {
		t.Errorf("host mount table changed:\nbefore:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
}

func TestExistingTargetsUntouched(t *testing.T) {
	rootfs := newRootfs(t)
	for _, d := range []string{"proc", "dev", "sys", "mnt/data"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o711); err != nil {
			t.Fatal(err)
		}
	}
	spec := baseSpec(rootfs, "true")
	spec.Mounts = []Mount{{Type: "tmpfs", Target: "/mnt/data"}}
	if r := run(t, spec); r.err != nil || r.code != 0 {
		t.Fatalf("Run = %d, %v, stderr %q", r.code, r.err, r.stderr)
	}
	for _, d := range []string{"proc", "dev", "sys", "mnt/data"} {
		fi, err := os.Stat(filepath.Join(rootfs, d))
		if err != nil || fi.Mode().Perm() != 0o711 {
			t.Errorf("pre-existing %s was changed or removed: %v %v", d, fi, err)
		}
	}
}

func TestSymlinkTargetStaysInRootfs(t *testing.T) {
	rootfs := newRootfs(t)
	host := t.TempDir()
	before := hostMounts(t, rootfs, host)
	outside := filepath.Join(host, "host-x")
	if err := os.Symlink(outside, filepath.Join(rootfs, "etc/evil")); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(host, "secret")
	writeFile(t, secret, "s3cret\n")

	spec := baseSpec(rootfs, "sh", "-c", "touch /etc/evil/marker && ls /etc/evil && cat /etc/evil-file")
	spec.Mounts = []Mount{
		{Type: "tmpfs", Target: "/etc/evil"},
		{Type: "bind", Source: secret, Target: "/etc/evil-file"},
	}
	// A second link chain through a relative and an absolute link.
	if err := os.Symlink("../../../../../"+strings.TrimPrefix(host, "/")+"/host-y", filepath.Join(rootfs, "etc/evil-file")); err != nil {
		t.Fatal(err)
	}
	r := run(t, spec)
	if r.err != nil || r.code != 0 {
		t.Fatalf("Run = %d, %v, stderr %q", r.code, r.err, r.stderr)
	}
	if r.stdout != "marker\ns3cret\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	for _, p := range []string{outside, filepath.Join(host, "host-y")} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Run created %s outside the rootfs (err %v)", p, err)
		}
	}
	// The stubs went inside the rootfs, following the links there, and are gone.
	first := strings.Split(strings.TrimPrefix(host, "/"), "/")[0]
	if first == "tmp" {
		// The fixture has /tmp, which must be left as it was: empty.
		if ents, err := os.ReadDir(filepath.Join(rootfs, "tmp")); err != nil || len(ents) != 0 {
			t.Errorf("stubs left in rootfs /tmp: %v %v", ents, err)
		}
	} else {
		assertNoStubs(t, rootfs, first)
	}
	assertNoStubs(t, rootfs, "proc", "dev", "sys")
	for _, l := range []string{"etc/evil", "etc/evil-file"} {
		if fi, err := os.Lstat(filepath.Join(rootfs, l)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("symlink %s was replaced: %v %v", l, fi, err)
		}
	}
	if after := hostMounts(t, rootfs, host); !slices.Equal(before, after) {
		t.Errorf("host mount table changed:\nbefore:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
}
