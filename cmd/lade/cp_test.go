package main

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// tarNames lists the entry names of a tar stream.
func tarNames(t *testing.T, data string) []string {
	t.Helper()
	var names []string
	testutil.EachTarEntry(t, []byte(data), func(hdr *tar.Header, _ []byte) { names = append(names, hdr.Name) })
	return names
}

// tarOf is a tar holding files (name -> content).
func tarOf(t *testing.T, files map[string]string) string {
	t.Helper()
	return string(testutil.TarDir(t, writeTree(t, files)))
}

// gzipOf is s gzipped.
func gzipOf(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCp copies both ways with docker's path rules, on a running and on a
// stopped container, and never through the container's symlinks out of
// it.
func TestCp(t *testing.T) {
	root := newRoot(t)
	hostDir := t.TempDir() // also made inside the container, behind a symlink
	if err := os.WriteFile(filepath.Join(hostDir, "secret"), []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	hostVol := t.TempDir() // bound at /hv: cp reaches it as docker's does
	runDetached(t, root, "--name", "cpt", "-v", hostVol+":/hv", "busybox", "sh", "-c",
		"mkdir -p /data/sub "+hostDir+" && echo hello > /data/f && echo deep > /data/sub/g && ln -s "+hostDir+" /escape && ln -s ../../../../../.. /up && touch /ready && sleep 300")
	testutil.Poll(t, "the container's files", func() bool { return lade(t, root, "", "exec", "cpt", "test", "-e", "/ready").code == 0 })
	src := writeTree(t, map[string]string{"in.txt": "from host\n", "tree/a": "A\n"})
	if err := os.Chown(filepath.Join(src, "in.txt"), 1234, 1234); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	os.Mkdir(filepath.Join(out, "exist"), 0o755)
	os.Mkdir(filepath.Join(out, "exist2"), 0o755)

	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		check func(t *testing.T, r result)
	}{
		{"file to new host file", []string{"cp", "cpt:/data/f", out + "/f.txt"}, "", hostFile(out+"/f.txt", "hello\n")},
		{"dir to new host dir", []string{"cp", "cpt:/data", out + "/newdata"}, "", hostFile(out+"/newdata/sub/g", "deep\n")},
		{"dir into existing dir", []string{"cp", "cpt:/data", out + "/exist"}, "", hostFile(out+"/exist/data/f", "hello\n")},
		{"dir contents into existing dir", []string{"cp", "cpt:/data/.", out + "/exist2"}, "", hostFile(out+"/exist2/f", "hello\n")},
		{"file into container dir", []string{"cp", src + "/in.txt", "cpt:/data/"}, "", ctrFile(root, "/data/in.txt", "from host\n")},
		{"owned by root without -a", []string{"exec", "cpt", "stat", "-c", "%u", "/data/in.txt"}, "", stdoutIs("0\n")},
		{"dir to new container dir", []string{"cp", src + "/tree", "cpt:/newtree"}, "", ctrFile(root, "/newtree/a", "A\n")},
		{"archive keeps uid", []string{"cp", "-a", src + "/in.txt", "cpt:/kept"}, "", ctrFile(root, "/kept", "from host\n")},
		{"uid kept", []string{"exec", "cpt", "stat", "-c", "%u", "/kept"}, "", stdoutIs("1234\n")},
		{"tar to stdout", []string{"cp", "cpt:/data/sub", "-"}, "", func(t *testing.T, r result) {
			if got := tarNames(t, r.stdout); !slices.Equal(got, []string{"sub/", "sub/g"}) {
				t.Errorf("tar entries %q, want sub/ and sub/g", got)
			}
		}},
		{"contents as tar to stdout", []string{"cp", "cpt:/data/sub/.", "-"}, "", func(t *testing.T, r result) {
			if got := tarNames(t, r.stdout); !slices.Equal(got, []string{"./", "./g"}) {
				t.Errorf("tar entries %q, want ./ and ./g", got)
			}
		}},
		{"tar onto a file", []string{"cp", "-", "cpt:/data/f"}, tarOf(t, map[string]string{"x": "x"}), failsWith(`destination "cpt:/data/f" must be a directory`)},
		{"into a bind mount", []string{"cp", src + "/in.txt", "cpt:/hv/"}, "", func(t *testing.T, r result) {
			hostFile(hostVol+"/in.txt", "from host\n")(t, r)
			ctrFile(root, "/hv/in.txt", "from host\n")(t, r)
		}},
		{"out of a bind mount", []string{"cp", "cpt:/hv/in.txt", out + "/hv.txt"}, "", hostFile(out+"/hv.txt", "from host\n")},
		{"tar from stdin", []string{"cp", "-", "cpt:/data"}, tarOf(t, map[string]string{"streamed": "s\n"}), ctrFile(root, "/data/streamed", "s\n")},
		{"gzipped tar from stdin", []string{"cp", "-", "cpt:/data"}, gzipOf(t, tarOf(t, map[string]string{"zipped": "z\n"})), ctrFile(root, "/data/zipped", "z\n")},
		{"missing source", []string{"cp", "cpt:/nope", out + "/nope"}, "", failsWith("could not find the file /nope in container cpt")},
		{"dir onto a file", []string{"cp", "cpt:/data", out + "/f.txt"}, "", failsWith("cannot copy directory")},
		// Hostile: the container's symlinks point at host paths; they
		// resolve inside its root, never to the host's files.
		{"symlink out, read", []string{"cp", "cpt:/escape/secret", out + "/stolen"}, "", failsWith("could not find the file")},
		{"dotdot symlink, read", []string{"cp", "cpt:/up" + hostDir + "/secret", out + "/stolen"}, "", failsWith("could not find the file")},
		{"symlink out, write", []string{"cp", src + "/in.txt", "cpt:/escape/planted"}, "", ctrFile(root, hostDir+"/planted", "from host\n")},
		{"dotdot symlink, write", []string{"cp", src + "/in.txt", "cpt:/up" + hostDir + "/planted2"}, "", ctrFile(root, hostDir+"/planted2", "from host\n")},
		{"tar through symlink", []string{"cp", "-", "cpt:/escape"}, tarOf(t, map[string]string{"planted3": "t\n"}), ctrFile(root, hostDir+"/planted3", "t\n")},
		{"stopped: stop", []string{"stop", "-t", "0", "cpt"}, "", stdoutIs("cpt\n")},
		{"stopped: copy in", []string{"cp", src + "/in.txt", "cpt:/data/late"}, "", nil},
		{"stopped: copy out", []string{"cp", "cpt:/data/late", out + "/late"}, "", hostFile(out+"/late", "from host\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := lade(t, root, tc.stdin, tc.args...)
			if tc.check == nil || !strings.HasPrefix(tc.name, "missing") && !strings.Contains(tc.name, "onto") && !strings.HasSuffix(tc.name, ", read") {
				if r.code != 0 {
					t.Fatalf("lade %s: %+v", strings.Join(tc.args, " "), r)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	for _, name := range []string{"stolen", "planted", "planted2", "planted3"} {
		if _, err := os.Stat(filepath.Join(out, name)); name == "stolen" && err == nil {
			t.Errorf("the host's secret was copied out")
		}
		if _, err := os.Stat(filepath.Join(hostDir, name)); err == nil {
			t.Errorf("cp wrote the host's %s/%s through the container's symlink", hostDir, name)
		}
	}
}

func hostFile(p, want string) func(*testing.T, result) {
	return func(t *testing.T, _ result) {
		t.Helper()
		if got, err := os.ReadFile(p); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
}

func ctrFile(root, p, want string) func(*testing.T, result) {
	return func(t *testing.T, _ result) {
		t.Helper()
		if r := lade(t, root, "", "exec", "cpt", "cat", p); r.stdout != want {
			t.Errorf("in the container, %s = %+v; want %q", p, r, want)
		}
	}
}

func stdoutIs(want string) func(*testing.T, result) {
	return func(t *testing.T, r result) {
		t.Helper()
		if r.stdout != want {
			t.Errorf("stdout %q, want %q (%+v)", r.stdout, want, r)
		}
	}
}

func failsWith(want string) func(*testing.T, result) {
	return func(t *testing.T, r result) {
		t.Helper()
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("got %+v, want a failure saying %q", r, want)
		}
	}
}
