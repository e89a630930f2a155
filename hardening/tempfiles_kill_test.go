package hardening

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A `save -o F` or `build -o type=oci,dest=F` SIGKILLed while it writes
// F leaves nothing in F's directory: no F and no temporary file, right
// after the kill. Run against an existing F too, which must stay as it was.
func TestKilledSaveLeavesNoTempFile(t *testing.T) {
	root := newRoot(t)
	// 256 MiB of random data: stored, not compressed, and long enough
	// to write that the kill lands mid-file.
	ctx := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN head -c 268435456 /dev/urandom > /big\n"})
	wantOK(t, lade(t, root, nil, "build", "-q", "-t", "big", ctx))
	for i := range 4 {
		existing := i%2 == 1
		out := t.TempDir()
		dest := filepath.Join(out, "F.tar")
		if existing {
			if err := os.WriteFile(dest, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		args := []string{"save", "-o", dest, "big"}
		if i >= 2 {
			args = []string{"build", "-o", "type=oci,dest=" + dest, ctx}
		}
		killMidWrite(t, out, append([]string{ladeBin, "--root", root}, args...)...)
		ents, _ := os.ReadDir(out)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		want := ""
		if existing {
			want = "F.tar"
		}
		if strings.Join(names, " ") != want {
			t.Errorf("%s, existing %v: after the kill %s holds %v, want %q", args[0], existing, out, names, want)
		}
		if existing {
			if b, _ := os.ReadFile(dest); string(b) != "old" {
				t.Errorf("the existing F.tar changed: %q...", b[:min(len(b), 16)])
			}
		}
	}
}

// killMidWrite starts args and SIGKILLs it once it has written over 1 MiB
// to a file in dir, seen through its open fds. It fails the test if the
// command ended first.
func killMidWrite(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	fds := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "fd")
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("%v ended (%v) before it could be killed mid-write", args, err)
		default:
		}
		ents, _ := os.ReadDir(fds)
		for _, e := range ents {
			target, err := os.Readlink(filepath.Join(fds, e.Name()))
			if err != nil || !strings.HasPrefix(target, dir+"/") {
				continue
			}
			if fi, err := os.Stat(filepath.Join(fds, e.Name())); err == nil && fi.Size() > 1<<20 {
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				return
			}
		}
	}
	cmd.Process.Kill()
	<-done
	t.Fatalf("%v never wrote to %s", args, dir)
}
