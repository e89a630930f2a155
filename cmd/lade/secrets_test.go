package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/lade-build/lade/internal/testutil"
)

// expand returns b plus, if b is gzip or zstd, its decompressed form, and
// recursively the files of a tar found in either, so a search sees through
// layers and archives.
func expand(t *testing.T, b []byte) [][]byte {
	out := [][]byte{b}
	var plain []byte
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err == nil {
			plain, _ = io.ReadAll(zr)
		}
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err == nil {
			plain, _ = io.ReadAll(zr)
			zr.Close()
		}
	}
	if plain != nil {
		out = append(out, expand(t, plain)...)
	}
	for _, src := range [][]byte{b, plain} {
		if len(src) < 512 {
			continue
		}
		tr := tar.NewReader(bytes.NewReader(src))
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if h.Typeflag == tar.TypeReg {
				data, _ := io.ReadAll(tr)
				out = append(out, expand(t, data)...)
			}
		}
	}
	return out
}

// hits counts the files under dir (decompressed) containing marker.
func hits(t *testing.T, dir string, marker []byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(p, string(marker)) {
			found = append(found, p+" (name)")
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, x := range expand(t, b) {
			if bytes.Contains(x, marker) {
				found = append(found, p)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestSecretNeverStored builds with a secret holding a unique marker, as a
// file and as an env secret, into the store and an OCI tar, then searches
// everything lade wrote (every file under --root, blobs decompressed), the
// archive, its config and history, and the build output: zero hits. The
// Dockerfile only sees the marker's sha256, so any hit is a leak.
func TestSecretNeverStored(t *testing.T) {
	root := newRoot(t)
	rnd := make([]byte, 16)
	if _, err := rand.Read(rnd); err != nil {
		t.Fatal(err)
	}
	marker := []byte("MARKER-" + hex.EncodeToString(rnd))
	sum := sha256.Sum256(marker)
	secretFile := filepath.Join(t.TempDir(), "s.txt")
	if err := os.WriteFile(secretFile, marker, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LADE_TEST_TOKEN", string(marker))
	ctx := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
ARG H
RUN --mount=type=secret,id=s test "$(sha256sum < /run/secrets/s | cut -d' ' -f1)" = "$H" && echo ok > /file-ok
RUN --mount=type=secret,id=tok,env=TOK test "$(printf %s "$TOK" | sha256sum | cut -d' ' -f1)" = "$H" && test ! -e /run/secrets/tok && echo ok > /env-ok
RUN --mount=type=secret,id=s,target=/etc/app/key,mode=0440,uid=1000,gid=1000 stat -c '%a %u %g' /etc/app/key > /key-stat && wc -c < /etc/app/key > /key-size
RUN --mount=type=secret,id=s,target=key sh -c 'cat key > /dev/null && pwd > /rel-ok'
RUN echo "$TOK" > /env-after && ls /run > /run-after 2>&1 || true
`})
	out := filepath.Join(t.TempDir(), "img.tar")
	r := lade(t, root, "", "build", "--progress", "plain", "--build-arg", "H="+hex.EncodeToString(sum[:]),
		"--secret", "id=s,src="+secretFile, "--secret", "id=tok,env=LADE_TEST_TOKEN",
		"--output", "type=oci,dest="+out, "--output", "type=image,name=secret:test", ctx)
	if r.code != 0 {
		t.Fatalf("build failed (%d):\n%s", r.code, r.stderr)
	}
	im := testutil.ReadOCITar(t, out)
	for p, want := range map[string]string{
		"/file-ok": "ok\n", "/env-ok": "ok\n", "/key-stat": "440 1000 1000\n", "/key-size": "39\n",
		"/rel-ok": "/\n", "/env-after": "\n", "/run-after": "ls: /run: No such file or directory\n",
	} {
		if got := im.Tree[p].Content; got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	for _, p := range []string{"/run/secrets", "/run", "/etc/app", "/key"} {
		if _, ok := im.Tree[p]; ok {
			t.Errorf("%s left in the image", p)
		}
	}

	var leaks []string
	leaks = append(leaks, hits(t, root, marker)...)
	leaks = append(leaks, hits(t, filepath.Dir(out), marker)...)
	cfg, _ := json.Marshal(im.Config)
	hist, _ := json.Marshal(im.History)
	for what, b := range map[string][]byte{"config": cfg, "history": hist, "manifest": im.ManifestRaw, "stdout+stderr": []byte(r.stdout + r.stderr)} {
		if bytes.Contains(b, marker) {
			leaks = append(leaks, what)
		}
	}
	for _, l := range im.Layers {
		for _, x := range expand(t, l) {
			if bytes.Contains(x, marker) {
				leaks = append(leaks, "layer")
			}
		}
	}
	if len(leaks) > 0 {
		t.Fatalf("secret marker found in: %v", leaks)
	}
	// The search itself must work: the marker is found where it is.
	if len(hits(t, filepath.Dir(secretFile), marker)) != 1 {
		t.Fatal("search does not find the marker in the secret file itself")
	}
	checkNoMounts(t, root)
}

// TestRunMountErrors: bad input fails with the Dockerfile line and never
// runs the step or touches the host.
func TestRunMountErrors(t *testing.T) {
	root := newRoot(t)
	hostDir := t.TempDir()
	hostFile := filepath.Join(hostDir, "host-only")
	if err := os.WriteFile(hostFile, []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []mountErrorCase{
		{
			name:       "required secret missing",
			dockerfile: "FROM busybox\nRUN echo first > /first\nRUN --mount=type=secret,id=nope,required=true echo ran > /ran\n",
			want:       []string{"Dockerfile:3", "secret nope: not found"},
		},
		{
			name:       "secret src file missing",
			dockerfile: "FROM busybox\nRUN --mount=type=secret,id=x cat /run/secrets/x\n",
			args:       []string{"--secret", "id=x,src=" + filepath.Join(hostDir, "missing")},
			want:       []string{"--secret: secret x", "no such file"},
		},
		{
			name:       "bare secret id without env or file",
			dockerfile: "FROM busybox\n",
			args:       []string{"--secret", "id=LADE_NO_SUCH_SECRET_VAR"},
			want:       []string{"--secret: secret LADE_NO_SUCH_SECRET_VAR"},
		},
		{
			name:       "unknown mount type",
			dockerfile: "FROM busybox\nRUN --mount=type=volume,target=/x true\n",
			want:       []string{"Dockerfile:2", "unsupported mount type"},
		},
		{
			name:       "insecure without entitlement",
			dockerfile: "FROM busybox\nRUN --security=insecure true\n",
			want:       []string{"Dockerfile:2", "security.insecure is not allowed"},
		},
		{
			name:       "unknown entitlement",
			dockerfile: "FROM busybox\n",
			args:       []string{"--allow", "device"},
			want:       []string{"--allow: unknown entitlement"},
		},
		{
			name:       "bind source escaping with ..",
			inStep:     true,
			dockerfile: "FROM busybox\nRUN --mount=type=bind,source=../../../../.." + hostDir + ",target=/h cat /h/host-only > /leak\n",
			want:       []string{"Dockerfile:2", "not found"},
		},
		{
			name:       "bind source escaping with a symlink",
			inStep:     true,
			dockerfile: "FROM busybox\nRUN --mount=type=bind,source=esc,target=/h cat /h/host-only > /leak\n",
			links:      map[string]string{"esc": hostDir},
			want:       []string{"Dockerfile:2", "not found"},
		},
		{
			name:       "from a later stage",
			inStep:     true,
			dockerfile: "FROM busybox AS first\nRUN --mount=type=bind,from=later,target=/l true\nFROM busybox AS later\n",
			args:       []string{"--target", "first"},
			want:       []string{"Dockerfile:2", "stage needs to be defined before current command"},
		},
		{
			name:       "mount over /",
			dockerfile: "FROM busybox\nRUN --mount=type=tmpfs,target=/ true\n",
			want:       []string{"Dockerfile:2", "invalid mount target"},
		},
		{
			name:       "required ssh missing",
			dockerfile: "FROM busybox\nRUN --mount=type=ssh,required=true true\n",
			want:       []string{"Dockerfile:2", "ssh default"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkMountError(t, root, hostFile, tc) })
	}
}

// mountErrorCase is a build that must fail with want in its output.
type mountErrorCase struct {
	name, dockerfile string
	args             []string
	links            map[string]string // context symlinks
	want             []string
	inStep           bool // fails while preparing the step, before its process
}

// checkMountError builds tc, which must fail as it says, before any step
// runs unless inStep, and leave hostFile as it was.
func checkMountError(t *testing.T, root, hostFile string, tc mountErrorCase) {
	t.Helper()
	ctx := writeTree(t, map[string]string{"Dockerfile": tc.dockerfile})
	for name, target := range tc.links {
		if err := os.Symlink(target, filepath.Join(ctx, name)); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"build", "--progress", "plain"}, tc.args...)
	r := lade(t, root, "", append(args, ctx)...)
	if r.code == 0 {
		t.Fatalf("build succeeded, want error %v", tc.want)
	}
	for _, w := range tc.want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	// Checks run before any step: no RUN even starts.
	if !tc.inStep && strings.Contains(r.stderr, "] RUN ") {
		t.Errorf("a step ran before the error:\n%s", r.stderr)
	}
	if b, err := os.ReadFile(hostFile); err != nil || string(b) != "host" {
		t.Errorf("host file changed: %q %v", b, err)
	}
}

// TestRunSecurityInsecureAllowed: with --allow security.insecure the step
// runs (lade's sandbox drops nothing extra, so it runs as sandbox does).
func TestRunSecurityInsecureAllowed(t *testing.T) {
	root := newRoot(t)
	ctx := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
RUN --security=insecure echo ok > /insecure && grep -E "^Seccomp:" /proc/self/status > /insecure.seccomp && grep CapEff /proc/self/status > /insecure.caps && (cat /proc/timer_list | head -c 1 | wc -c > /insecure.masked)
RUN --security=sandbox echo ok > /sandbox && grep CapEff /proc/self/status > /sandbox.caps && (cat /proc/timer_list | head -c 1 | wc -c > /sandbox.masked)
RUN grep -E "^Seccomp:" /proc/self/status > /default.seccomp && grep CapEff /proc/self/status > /default.caps && (echo 1 > /proc/sys/kernel/domainname 2>/dev/null; echo $? > /default.procsys)
`})
	im := buildOCI(t, root, ctx, "--allow", "security.insecure")
	for _, p := range []string{"/insecure", "/sandbox"} {
		if got := im.Tree[p].Content; got != "ok\n" {
			t.Errorf("%s = %q", p, got)
		}
	}
	// Docker's default set (BuildKit's sandbox) versus everything lade
	// itself has (a host may lack some, as this VM lacks CAP_SYS_RESOURCE).
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	hostEff := regexp.MustCompile(`CapEff:\t[0-9a-f]+\n`).FindString(string(status))
	want := map[string]string{
		"/sandbox.caps":     "CapEff:\t00000000a80425fb\n",
		"/default.caps":     "CapEff:\t00000000a80425fb\n",
		"/insecure.caps":    hostEff,
		"/default.procsys":  "1\n", // /proc/sys is read-only
		"/default.seccomp":  "Seccomp:\t2\n",
		"/insecure.seccomp": "Seccomp:\t0\n",
	}
	if _, err := os.Stat("/proc/timer_list"); err == nil {
		want["/sandbox.masked"] = "0\n" // /dev/null over it
		want["/insecure.masked"] = "1\n"
	}
	for p, w := range want {
		if got := im.Tree[p].Content; got != w {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
}

// TestSecretIDCannotEscape: ids are names, never host paths; an id like
// ../../etc is served at /run/secrets/etc and nothing else happens.
func TestSecretIDCannotEscape(t *testing.T) {
	root := newRoot(t)
	f := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(f, []byte("v"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=secret,id=../../etc cat /run/secrets/etc > /got
RUN --mount=type=secret,id=absent ls /run/secrets > /absent 2>&1 || true
`})
	im := buildOCI(t, root, ctx, "--secret", "id=../../etc,src="+f)
	if got := im.Tree["/got"].Content; got != "v" {
		t.Errorf("/got = %q", got)
	}
	if got := im.Tree["/absent"].Content; got != "ls: /run/secrets: No such file or directory\n" {
		t.Errorf("/absent = %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "etc")); err == nil {
		t.Error("secret id made a path under the root")
	}
}
