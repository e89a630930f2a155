package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// agentLs is a static agent client for the busybox image: it asks
// $SSH_AUTH_SOCK for its identities and prints "SHA256:<fp> <comment>"
// lines, as ssh-add -l does. Plain stdlib so it builds outside the module.
const agentLs = `package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	c, err := net.Dial("unix", os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	c.Write([]byte{0, 0, 0, 1, 11}) // SSH_AGENTC_REQUEST_IDENTITIES
	var n uint32
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil || body[0] != 12 {
		fmt.Fprintln(os.Stderr, "bad agent answer", err)
		os.Exit(2)
	}
	body = body[1:]
	str := func() []byte {
		l := binary.BigEndian.Uint32(body)
		s := body[4 : 4+l]
		body = body[4+l:]
		return s
	}
	count := binary.BigEndian.Uint32(body)
	body = body[4:]
	for i := uint32(0); i < count; i++ {
		blob, comment := str(), str()
		sum := sha256.Sum256(blob)
		fmt.Printf("SHA256:%s %s\n", base64.RawStdEncoding.EncodeToString(sum[:]), comment)
	}
}
`

// sshTools returns ssh-keygen, ssh-agent and ssh-add, installing Debian's
// openssh-client when they are missing.
func sshTools(t *testing.T) (keygen, agent, add string) {
	t.Helper()
	find := func() error {
		var err error
		for _, p := range []*string{&keygen, &agent, &add} {
			name := map[*string]string{&keygen: "ssh-keygen", &agent: "ssh-agent", &add: "ssh-add"}[p]
			if *p, err = exec.LookPath(name); err != nil {
				return err
			}
		}
		return nil
	}
	if err := find(); err != nil {
		testutil.Unavailable(t, "%v: apt-get install openssh-client", err)
	}
	return
}

// sshFixture makes a key, its fingerprint, and a context holding agentLs.
func sshFixture(t *testing.T, keygen, dockerfile string) (key, fp, ctx string) {
	t.Helper()
	dir := t.TempDir()
	key = filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "lade-test-key", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	out, err := exec.Command(keygen, "-l", "-E", "sha256", "-f", key+".pub").Output()
	if err != nil {
		t.Fatal(err)
	}
	fp = strings.Fields(string(out))[1]

	ctx = writeTree(t, map[string]string{"Dockerfile": dockerfile})
	src := filepath.Join(t.TempDir(), "agentls.go")
	if err := os.WriteFile(src, []byte(agentLs), 0o644); err != nil {
		t.Fatal(err)
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(gobin, "build", "-o", filepath.Join(ctx, "agentls"), src)
	build.Dir = filepath.Dir(src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building agentls: %v\n%s", err, out)
	}
	return key, fp, ctx
}

// TestSSHKeyAgent: --ssh ID=KEYFILE serves the key through lade's own
// agent; the step lists it through SSH_AUTH_SOCK with the mount's mode and
// owner, and the socket is gone afterwards.
func TestSSHKeyAgent(t *testing.T) {
	root := newRoot(t)
	keygen, _, _ := sshTools(t)
	key, fp, ctx := sshFixture(t, keygen, `FROM busybox
COPY agentls /agentls
RUN --mount=type=ssh,id=mykey /agentls > /keys && echo "$SSH_AUTH_SOCK" > /sock && stat -c '%a %u' "$SSH_AUTH_SOCK" > /sockstat
USER 1000
RUN --mount=type=ssh,id=mykey,uid=1000,mode=0600,target=/tmp/agent.sock /agentls > /tmp/keys-as-user
`)
	im := buildOCI(t, root, ctx, "--ssh", "mykey="+key)
	want := fp + " \n" // lade's keyring has no comment
	for p, w := range map[string]string{
		"/keys": want, "/tmp/keys-as-user": want,
		"/sock": "/run/buildkit/ssh_agent.0\n", "/sockstat": "600 0\n",
	} {
		if got := im.Tree[p].Content; got != w {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
	for _, p := range []string{"/run", "/tmp/agent.sock"} {
		if _, ok := im.Tree[p]; ok {
			t.Errorf("%s left in the image", p)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(root, "tmp", "run-*")); len(left) > 0 {
		t.Errorf("step dirs left: %v", left)
	}
	r := lade(t, root, "", "build", "--ssh", "mykey="+filepath.Join(t.TempDir(), "nokey"), ctx)
	if r.code == 0 || !strings.Contains(r.stderr, "--ssh: ssh mykey") {
		t.Errorf("missing key file: code %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestSSHForwardAgent: --ssh default forwards a real ssh-agent. The step
// lists its key, and while the step runs the host's ssh-add -l talks to
// the forwarded socket lade serves.
func TestSSHForwardAgent(t *testing.T) {
	root := newRoot(t)
	keygen, sshAgent, sshAdd := sshTools(t)
	key, fp, ctx := sshFixture(t, keygen, `FROM busybox
COPY agentls /agentls
RUN --mount=type=ssh --mount=type=cache,id=sshsync,target=/sync /agentls > /keys && touch /sync/ready && while [ ! -e /sync/go ]; do sleep 0.05; done
`)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command(sshAgent, "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	waitFor(t, sock)
	add := exec.Command(sshAdd, key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)

	hostList := make(chan string, 1)
	go func() {
		sync := cacheData(root, "sshsync")
		defer os.WriteFile(filepath.Join(sync, "go"), nil, 0o644)
		testutil.WaitForFile(filepath.Join(sync, "ready"), 60*time.Second)
		socks, _ := filepath.Glob(filepath.Join(root, "tmp", "run-*", "ssh-0.sock"))
		if len(socks) != 1 {
			hostList <- "forwarded sockets found: " + strings.Join(socks, ",")
			return
		}
		cmd := exec.Command(sshAdd, "-l")
		cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+socks[0])
		out, err := cmd.CombinedOutput()
		if err != nil {
			hostList <- "ssh-add -l: " + err.Error() + ": " + string(out)
			return
		}
		hostList <- string(out)
	}()
	im := buildOCI(t, root, ctx, "--ssh", "default")
	if got, want := im.Tree["/keys"].Content, fp+" lade-test-key\n"; got != want {
		t.Errorf("/keys = %q, want %q", got, want)
	}
	if got := <-hostList; !strings.Contains(got, fp) || !strings.Contains(got, "lade-test-key") {
		t.Errorf("host ssh-add -l on the forwarded socket: %q, want %s", got, fp)
	}
}
