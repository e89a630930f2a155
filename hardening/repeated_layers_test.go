package hardening

import (
	"path/filepath"
	"strings"
	"testing"
)

// An image holding the same layer twice (two `RUN true` add two identical
// empty layers) runs: overlayfs refuses a repeated lower dir, so every
// path that mounts an image must pass each one once. The build, a RUN
// --mount from that image, `lade run` (twice, so a failed first attempt
// cannot poison the second) and `lade start` of a stopped one all work.
func TestRepeatedLayerImage(t *testing.T) {
	root := newRoot(t)
	ctx := writeTree(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN true\nRUN true\nRUN echo ok > /ok\nRUN true\n",
		"Dockerfile.mount": "FROM busybox\n" +
			"RUN --mount=type=bind,from=twice,target=/m cat /m/ok > /seen\n",
	})
	wantOK(t, lade(t, root, nil, "build", "-q", "-t", "twice", ctx))
	wantOK(t, lade(t, root, nil, "build", "-q", "-t", "mounted", "-f", filepath.Join(ctx, "Dockerfile.mount"), ctx))
	for i := range 2 {
		r := lade(t, root, nil, "run", "--rm", "twice", "cat", "/ok")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "ok" {
			t.Fatalf("run %d: exit %d, stdout %q\n%s", i, r.code, r.stdout, r.stderr)
		}
	}
	// start mounts the rootfs again, from the stored config.
	wantOK(t, lade(t, root, nil, "run", "-d", "--name", "kept", "twice", "sleep", "60"))
	wantOK(t, lade(t, root, nil, "kill", "kept"))
	wantOK(t, lade(t, root, nil, "wait", "kept"))
	wantOK(t, lade(t, root, nil, "start", "kept"))
	wantOK(t, lade(t, root, nil, "rm", "-f", "kept"))
	if m := mountsUnder(t, root); len(m) != 0 {
		t.Errorf("mounts left under the root: %v", m)
	}
}
