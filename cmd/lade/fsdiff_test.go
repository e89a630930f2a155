package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// TestDiffExportCommit: a container's changes as diff lists them, export
// writes them, and commit makes an image of them that run then runs.
func TestDiffExportCommit(t *testing.T) {
	root := newRoot(t)
	r := lade(t, root, "", "run", "--name", "changed", "busybox", "sh", "-c",
		"echo new > /added && echo extra >> /etc/passwd && rm /etc/group && mkdir /newdir && touch /newdir/f")
	if r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	t.Run("diff", func(t *testing.T) {
		r := lade(t, root, "", "diff", "changed")
		want := "A /added\nC /etc\nD /etc/group\nC /etc/passwd\nA /newdir\nA /newdir/f\n"
		if r.code != 0 || r.stdout != want {
			t.Errorf("diff: %+v, want stdout\n%s", r, want)
		}
		if r := lade(t, root, "", "container", "diff", "changed"); r.stdout != want {
			t.Errorf("container diff: %+v, want stdout\n%s", r, want)
		}
	})
	t.Run("diff of a running container", func(t *testing.T) {
		// Its /etc/hosts, /etc/resolv.conf and volume mountpoints are no
		// changes of its own, as in docker.
		runDetached(t, root, "--name", "up", "-v", "/vol", "busybox", "sh", "-c", "touch /touched; sleep 300")
		var r result
		testutil.Poll(t, "the container's change", func() bool {
			r = lade(t, root, "", "diff", "up")
			return strings.Contains(r.stdout, "/touched")
		})
		if r.stdout != "A /touched\n" {
			t.Errorf("diff: %+v, want A /touched alone", r)
		}
	})
	t.Run("export", func(t *testing.T) {
		r := lade(t, root, "", "export", "changed")
		if r.code != 0 {
			t.Fatalf("export: %+v", r)
		}
		cmd := exec.Command("tar", "-t")
		cmd.Stdin = strings.NewReader(r.stdout)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tar -t: %v", err)
		}
		names := strings.Fields(string(out))
		for _, want := range []string{"added", "newdir/f", "etc/passwd", "bin/busybox"} {
			if !slices.Contains(names, want) {
				t.Errorf("export lacks %s: %q", want, names)
			}
		}
		if slices.Contains(names, "etc/group") {
			t.Errorf("export holds the deleted etc/group")
		}
	})
	t.Run("commit then run", func(t *testing.T) {
		r := lade(t, root, "", "commit", "-c", `CMD ["cat", "/added"]`, "--change", "ENV A=b", "-c", "WORKDIR /newdir",
			"-m", "a message", "-a", "me", "changed", "test/committed:v1")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "sha256:") {
			t.Fatalf("commit: %+v", r)
		}
		if r := lade(t, root, "", "image", "inspect", "-f", "{{.Comment}} by {{.Author}}", "test/committed:v1"); r.stdout != "a message by me\n" {
			t.Errorf("image inspect of the committed image: %+v, want its comment and author", r)
		}
		if r := lade(t, root, "", "run", "--rm", "test/committed:v1"); r.stdout != "new\n" {
			t.Errorf("run of the committed image's CMD: %+v, want new", r)
		}
		r = lade(t, root, "", "run", "--rm", "test/committed:v1", "sh", "-c", "echo $A; pwd; test -e /etc/group || echo gone; tail -n1 /etc/passwd")
		if want := "b\n/newdir\ngone\nextra\n"; r.stdout != want {
			t.Errorf("run of the committed image: %+v, want %q", r, want)
		}
		if r := lade(t, root, "", "commit", "-c", "RUN true", "changed"); r.code == 0 || !strings.Contains(r.stderr, "RUN is not a valid change command") {
			t.Errorf("commit -c RUN: %+v, want refused", r)
		}
	})
}
