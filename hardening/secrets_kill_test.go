package hardening

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/solver"
)

// A build SIGKILLed while a RUN step has a secret or an ssh agent mounted
// leaves neither behind. Right after the kill no mount under the root
// belongs to the step's secrets and no file under the root holds the
// secret; after the next lade command nothing is mounted under the root
// at all and no agent socket or step dir is left.
func TestSecretMountsDieWithLade(t *testing.T) {
	needLade(t)
	secret := "lade-kill-secret-" + hex.EncodeToString(randBytes(t, 16))
	for _, tc := range []struct {
		name, mount string
		check       string // shell test that the mount is there
		args        func(t *testing.T) []string
		env         []string
	}{
		{
			name:  "secret",
			mount: "--mount=type=secret,id=tok,required=true",
			check: "grep -q lade-kill-secret- /run/secrets/tok",
			args:  func(*testing.T) []string { return []string{"--secret", "id=tok,env=LADE_KILL_TOK"} },
			env:   []string{"LADE_KILL_TOK=" + secret},
		},
		{
			name:  "secret at a target",
			mount: "--mount=type=secret,id=tok,target=/etc/tok,required=true",
			check: "grep -q lade-kill-secret- /etc/tok",
			args:  func(*testing.T) []string { return []string{"--secret", "id=tok,env=LADE_KILL_TOK"} },
			env:   []string{"LADE_KILL_TOK=" + secret},
		},
		{
			name:  "ssh",
			mount: "--mount=type=ssh,id=k,required=true",
			check: "test -S \"$SSH_AUTH_SOCK\"",
			args:  func(t *testing.T) []string { return []string{"--ssh", "k=" + sshKeyFile(t)} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			ctx := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\n" +
				"RUN " + tc.mount + " --mount=type=cache,id=killsync,target=/sync " +
				"sh -c '" + tc.check + " && touch /sync/ready && sleep 60' lade-secret-kill-marker\n"})
			args := append([]string{"--root", root, "build", "--no-cache"}, tc.args(t)...)
			cmd := exec.Command(ladeBin, append(args, ctx)...)
			cmd.Env = append(os.Environ(), tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ready := filepath.Join(solver.CacheMountDir(root, "killsync"), "data", "ready")
			if !testutil.WaitForFile(ready, 60*time.Second) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the step never ran:\n%s", stderr.String())
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()

			for _, m := range mountsUnder(t, filepath.Join(root, "tmp")) {
				t.Errorf("right after the kill: %s is mounted", m)
			}
			noFileHolds(t, root, secret)

			wantOK(t, lade(t, root, nil, "images"))
			for _, m := range mountsUnder(t, root) {
				t.Errorf("after the next command: %s is mounted", m)
			}
			noFileHolds(t, root, secret)
			left, _ := filepath.Glob(filepath.Join(root, "tmp", "*run-*"))
			for _, p := range left {
				t.Errorf("after the next command: %s left", p)
			}
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type()&fs.ModeSocket != 0 {
					t.Errorf("after the next command: socket %s left", p)
				}
				return nil
			})
			// The step's namespaces, and the secret in them, die with lade.
			noSurvivors(t, "lade-secret-kill-marker", 15*time.Second)
		})
	}
}

// noFileHolds fails if a file under root contains value.
func noFileHolds(t *testing.T, root, value string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(value)) {
			t.Errorf("%s holds the secret", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func randBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// sshKeyFile writes a fresh unencrypted ed25519 key in OpenSSH format.
func sshKeyFile(t *testing.T) string {
	t.Helper()
	return writeTemp(t, "id_ed25519", testutil.SSHKey(t))
}
