package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// TestBuildSignaturePolicy: the signature policy judges the base images a
// build pulls (FROM, COPY --from, RUN --mount from=), as pull's: a signed
// base builds, an unsigned one fails the build with one line naming it,
// a FROM base before any step runs, an image of COPY --from or RUN
// --mount from= before that step reads it, and none of it is stored.
func TestBuildSignaturePolicy(t *testing.T) {
	host, signed, plain, policy := signedAndPlain(t, newRoot(t), "base")
	refused := fmt.Sprintf("%s: refused by signature policy for %q: no valid signature: image is not signed", plain, host)
	for _, tc := range []struct {
		name, dockerfile string
		pull             bool
		ok               bool
	}{
		{"from signed", "FROM " + signed + "\nRUN echo ran > /ran\n", false, true},
		{"from signed --pull", "FROM " + signed + "\nRUN echo ran > /ran\n", true, true},
		{"from unsigned", "FROM " + plain + "\nRUN echo ran > /ran\n", false, false},
		{"from unsigned --pull", "FROM " + plain + "\nRUN echo ran > /ran\n", true, false},
		{"later stage from unsigned", "FROM scratch AS a\nCOPY Dockerfile /d\nFROM " + plain + "\nCOPY --from=a /d /d\n", false, false},
		{"copy --from unsigned", "FROM " + signed + "\nCOPY --from=" + plain + " /bin/busybox /bb\n", false, false},
		{"mount from unsigned", "FROM " + signed + "\nRUN --mount=from=" + plain + ",target=/m test -e /m/bin/busybox\n", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := t.TempDir()
			dir := writeTree(t, map[string]string{"Dockerfile": tc.dockerfile})
			args := []string{"build", "--progress", "plain", "--signature-policy", policy, "-t", "out:1"}
			if tc.pull {
				args = append(args, "--pull")
			}
			r := lade(t, fresh, "", append(args, dir)...)
			if tc.ok {
				if r.code != 0 {
					t.Fatalf("build from a signed base: %+v", r)
				}
				return
			}
			lines := testutil.ErrorLines(r.stderr)
			if r.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], refused) {
				t.Errorf("build from an unsigned base: %+v, want one error line with %q", r, refused)
			}
			// A RUN --mount's step starts, but fails on resolving the
			// mount before its process is started.
			if strings.Contains(r.stderr, "] RUN echo") || strings.Contains(r.stderr, "] COPY ") {
				t.Errorf("a step ran before the base was refused:\n%s", r.stderr)
			}
			if !strings.Contains(tc.dockerfile, signed) {
				if blobs := storedBlobs(t, fresh); len(blobs) != 0 {
					t.Errorf("refused base stored %v", blobs)
				}
			}
		})
	}
}

// signedAndPlain pushes busybox from root to a registry of the test's as
// REPO/signed:1, signed with a new key, and REPO/plain:1, unsigned, and
// returns the registry, both names and a policy that wants that key's
// signature there.
func signedAndPlain(t *testing.T, root, repo string) (host, signed, plain, policy string) {
	t.Helper()
	host = testutil.Registry(t, nil)
	key, pub := keyFiles(t)
	signed, plain = host+"/"+repo+"/signed:1", host+"/"+repo+"/plain:1"
	for _, ref := range []string{signed, plain} {
		for _, args := range [][]string{{"tag", "busybox", ref}, {"push", ref}, {"rmi", ref}} {
			if r := lade(t, root, "", args...); r.code != 0 {
				t.Fatalf("lade %v: %+v", args, r)
			}
		}
	}
	if r := lade(t, root, "", "sign", "--key", key, signed); r.code != 0 {
		t.Fatalf("sign: %+v", r)
	}
	return host, signed, plain, requireKey(t, host, pub)
}
