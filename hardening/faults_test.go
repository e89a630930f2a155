package hardening

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// loopRegistry serves an in-memory registry on loopback holding busybox,
// behind wrap (nil: none).
func loopRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	host := testutil.Registry(t, wrap)
	ref, err := name.NewTag(host+"/lib/busybox:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, testutil.BusyboxImage(t)); err != nil {
		t.Fatal(err)
	}
	return host
}

// TestSIGKILLAnywhere kills lade with SIGKILL at random points of pulls,
// unpacks, RUN steps, commits, tags, exports and pushes, 50 times. After
// every kill the next build succeeds, every blob verifies, no mount or
// active snapshot is left and no RUN process survives.
func TestSIGKILLAnywhere(t *testing.T) {
	needLade(t)
	host := loopRegistry(t, nil)
	root := filepath.Join(t.TempDir(), "root")
	out := t.TempDir()
	df := "FROM " + host + "/lib/busybox:latest\nARG N\nRUN echo $N > /n && head -c 300000 /dev/urandom > /r\n" +
		"RUN sh -c 'sleep 5' lade-kill-marker & sleep 0.2\nRUN cat /n /n > /nn\n"
	ctx := writeTree(t, map[string]string{"Dockerfile": df})
	s := sentinel(t)
	before := snap(t, s, ctx)
	rng := rand.New(rand.NewPCG(8, 8))
	killed := 0
	span := map[int]time.Duration{} // per command kind: how long it ran when it ended before the kill
	for i := range 50 {
		n := fmt.Sprint(i)
		var args []string
		switch i % 5 {
		case 0, 1:
			args = []string{"build", "--build-arg", "N=" + n, "-t", "app:" + n, "-o", "type=oci,dest=" + filepath.Join(out, "o.tar"), "-o", "type=image,name=app:" + n, ctx}
		case 2:
			args = []string{"build", "--build-arg", "N=" + n, "-t", host + "/out/app:" + n, "--push", ctx}
		case 3:
			args = []string{"save", "-o", filepath.Join(out, "s.tar"), "app:" + fmt.Sprint(i-3)}
		case 4:
			args = []string{"push", host + "/out/app:" + fmt.Sprint(i-2)}
		}
		if i%10 == 0 {
			// From an empty store now and then: the pull and unpack too.
			os.RemoveAll(root)
		}
		if killAt(t, rng, span, i%5, append([]string{"--root", root}, args...)) {
			killed++
		}

		r := lade(t, root, nil, "build", "--build-arg", "N=ok"+n, "-t", "app:"+n, ctx)
		if r.code != 0 {
			t.Fatalf("iteration %d (%s): build after the kill failed:\n%s", i, args[0], r.stderr)
		}
		checkStoreAfterKill(t, root)
		// A prune (no build runs now, so nothing is too young to go)
		// reclaims what the kill left: temp files, ingests, active
		// snapshots. Images survive it and the store still verifies.
		if r := lade(t, root, nil, "cache", "prune", "-f", "--min-age", "0"); r.code != 0 {
			t.Fatalf("iteration %d: prune after the kill failed:\n%s", i, r.stderr)
		}
		checkStore(t, root)
		noScratch(t, root)
		if r := lade(t, root, nil, "inspect", "app:"+n); r.code != 0 {
			t.Fatalf("iteration %d: app:%s lost by the prune:\n%s", i, n, r.stderr)
		}
		sameTree(t, before, snap(t, s, ctx), nil)
	}
	noSurvivors(t, "lade-kill-marker", 5*time.Second)
	// Most kills must land while the command still runs, or the loop
	// tests little: commands that finished first do not count.
	if killed < 40 {
		t.Errorf("only %d of 50 kills landed before the command ended", killed)
	}
	t.Logf("%d of 50 kills landed mid-command", killed)
}

// killAt runs lade with args and SIGKILLs it at a random point within
// the first half of the time a command of this kind takes (its length
// varies with the load), and reports whether the kill
// landed mid-command. A command that ends first teaches that time, and
// runs again, up to three times.
func killAt(t *testing.T, rng *rand.Rand, span map[int]time.Duration, kind int, args []string) bool {
	t.Helper()
	for try := 0; try < 3; try++ {
		d := span[kind]
		if d == 0 {
			d = 1500 * time.Millisecond
		}
		cmd := exec.Command(ladeBin, args...)
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
			span[kind] = time.Since(start)
			continue
		case <-time.After(time.Duration(rng.Int64N(int64(d / 2)))):
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		return ok && ws.Signaled()
	}
	return false
}

// noScratch fails if temp entries are left in root's scratch dirs.
func noScratch(t *testing.T, root string) {
	t.Helper()
	for _, d := range []string{"tmp", "snapshots/tmp", "snapshots/active", "content/ingest"} {
		ents, _ := os.ReadDir(filepath.Join(root, d))
		for _, e := range ents {
			if d == "tmp" && e.Name() == "etc" {
				continue // the solver's per-process /etc files, rewritten by each build
			}
			t.Errorf("left after prune: %s/%s", d, e.Name())
		}
	}
}

// checkStoreAfterKill is checkStore without the ingest check: a killed
// writer's temp file stays in ingest/ until it is a day old, never read.
func checkStoreAfterKill(t *testing.T, root string) {
	t.Helper()
	ingest := filepath.Join(root, "content", "ingest")
	tmp := ingest + ".hidden"
	os.Rename(ingest, tmp)
	defer func() { os.RemoveAll(ingest); os.Rename(tmp, ingest) }()
	checkStore(t, root)
}

// TestFullDisk: a --root on an 8 MB tmpfs. A layer that does not fit
// fails naming ENOSPC, the store still verifies, and after space is freed
// the same build works.
func TestFullDisk(t *testing.T) {
	needLade(t)
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=8m"); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	root := filepath.Join(mnt, "root")
	seedBusybox(t, root)
	s := sentinel(t)
	warm := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"})
	wantOK(t, lade(t, root, nil, "build", "-t", "warm", warm))
	var st unix.Statfs_t
	if err := unix.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	filler := filepath.Join(mnt, "filler")
	if free > 900<<10 {
		if err := os.WriteFile(filler, make([]byte, free-(900<<10)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN head -c 600000 /dev/urandom > /big\n"})
	before := snap(t, s, ctx)
	r := lade(t, root, nil, "build", "-t", "big", ctx)
	wantFail(t, r, "no space left on device")
	sameTree(t, before, snap(t, s, ctx), nil)
	checkStore(t, root)
	os.Remove(filler)
	wantOK(t, lade(t, root, nil, "build", "-t", "big", ctx))
	checkStore(t, root)
}

// TestCorruptBlob: a stored blob changed on disk is detected when read,
// and the error names its digest.
func TestCorruptBlob(t *testing.T) {
	needLade(t)
	host := testutil.Registry(t, nil)
	cases := []struct {
		name string
		args func(root, out string) []string
	}{
		{"save", func(root, out string) []string { return []string{"save", "-o", filepath.Join(out, "s.tar"), "busybox"} }},
		{"build-unpack", func(root, out string) []string {
			ctx := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"})
			return []string{"build", "-t", "x", ctx}
		}},
		{"push", func(root, out string) []string {
			lade(t, root, nil, "tag", "busybox", host+"/c/busybox:1")
			return []string{"push", host + "/c/busybox:1"}
		}},
		{"export-oci", func(root, out string) []string {
			ctx := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nLABEL a=b\n"})
			return []string{"build", "-o", "type=oci,dest=" + filepath.Join(out, "o.tar"), ctx}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := newRoot(t)
			blobs := filepath.Join(root, "content", "blobs", "sha256")
			ents, _ := os.ReadDir(blobs)
			var layer string
			var size int64
			for _, e := range ents {
				if fi, _ := e.Info(); fi.Size() > size {
					layer, size = e.Name(), fi.Size()
				}
			}
			p := filepath.Join(blobs, layer)
			flipMiddleByte(t, p)
			s := sentinel(t)
			out := t.TempDir()
			args := c.args(root, out)
			before := snap(t, s, out)
			r := lade(t, root, nil, args...)
			wantFail(t, r, layer[:12])
			// A failed save or export leaves no partial file behind either.
			sameTree(t, before, snap(t, s, out), nil)
			if !strings.Contains(r.stderr, "corrupt") && !strings.Contains(r.stderr, "digest mismatch") && !strings.Contains(r.stderr, "hashes to") {
				t.Errorf("error does not say the blob is corrupt:\n%s", r.stderr)
			}
		})
	}
}

// TestConcurrentBuildsAndTags: two builds, a tag/rmi loop and a prune on
// one root at once lose no image and never tear the index.
func TestConcurrentBuildsAndTags(t *testing.T) {
	root := newRoot(t)
	var wg sync.WaitGroup
	results := make([]result, 2)
	var built atomic.Int32
	for i := range 2 {
		ctx := writeTree(t, map[string]string{"Dockerfile": fmt.Sprintf("FROM busybox\nRUN echo %d > /id\nRUN sleep 0.5\n", i)})
		wg.Go(func() {
			results[i] = lade(t, root, nil, "build", "-t", fmt.Sprintf("built:%d", i), ctx)
			built.Add(1)
		})
	}
	// A prune of everything races the builds and tags: it waits for the
	// builds' GC lock, and must never take what an image or build uses.
	wg.Add(1)
	var pruned result
	raced := make(chan bool, 1)
	go func() {
		defer wg.Done()
		// Start once a RUN step holds an active snapshot, so the prune
		// really meets a build in progress.
		raced <- testutil.PollUntil(30*time.Second, func() bool {
			ents, _ := os.ReadDir(filepath.Join(root, "snapshots", "active"))
			return len(ents) > 0
		}) && built.Load() < 2
		pruned = lade(t, root, nil, "cache", "prune", "-a", "-f", "--min-age", "0")
	}()
	for i := range 20 {
		wantOK(t, lade(t, root, nil, "tag", "busybox", fmt.Sprintf("t:%d", i)))
		if i%2 == 1 {
			wantOK(t, lade(t, root, nil, "rmi", fmt.Sprintf("t:%d", i)))
		}
	}
	wg.Wait()
	if !<-raced {
		t.Error("the prune did not start while a build was running")
	}
	wantOK(t, pruned)
	for _, r := range results {
		wantOK(t, r)
	}
	list := lade(t, root, nil, "images")
	wantOK(t, list)
	for _, want := range []string{"built", "busybox"} {
		if !strings.Contains(list.stdout, want) {
			t.Errorf("%s missing from:\n%s", want, list.stdout)
		}
	}
	for i := range 20 {
		r := lade(t, root, nil, "inspect", fmt.Sprintf("t:%d", i))
		if (r.code == 0) != (i%2 == 0) {
			t.Errorf("t:%d: inspect exit %d", i, r.code)
		}
	}
	for i := range 2 {
		wantOK(t, lade(t, root, nil, "inspect", fmt.Sprintf("built:%d", i)))
	}
	checkStore(t, root)
}
