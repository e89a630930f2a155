package interop

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/lade-build/lade/internal/testroot"
	"github.com/lade-build/lade/internal/testutil"
)

// ladeBin is the lade binary TestMain builds; empty if that failed.
var ladeBin string

func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithLade(m, &ladeBin))
}

// lade runs the built binary over root and returns its stdout, failing
// the test when it fails.
func lade(t *testing.T, root string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, ladeBin, append([]string{"--root", root}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("lade %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// serve starts lade serve over root on a socket of the test's until the
// test ends, and returns the socket's path.
func serve(t *testing.T, root string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "lade.sock")
	var errb testutil.LockedBuffer
	cmd := exec.Command(ladeBin, "--root", root, "serve", "-H", "unix://"+sock)
	cmd.Stdout, cmd.Stderr = &errb, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	if !testutil.WaitForFile(sock, 20*time.Second) {
		t.Fatalf("lade serve did not listen on %s:\n%s", sock, errb.String())
	}
	return sock
}

// TestTestcontainers: testcontainers-go pulls the test's busybox from a
// loopback registry through lade serve, starts containers, waits for them
// (a log line; an HTTP answer on the published port from a file it
// copied in; another container's answer by its alias on a network of
// testcontainers') and terminates them; lade's CLI then lists none.
func TestTestcontainers(t *testing.T) {
	testutil.RequireRoot(t)
	if ladeBin == "" {
		t.Fatal("lade binary was not built (see TestMain output)")
	}
	root := t.TempDir()
	testroot.SeedBusybox(t, root)
	testroot.TeardownNetworks(t, root) // the bridge lade's first container made
	ref := testutil.Registry(t, nil) + "/lade/busybox:tc"
	lade(t, root, "tag", "busybox", ref)
	lade(t, root, "push", ref)
	lade(t, root, "rmi", ref)
	sock := serve(t, root)
	// Nothing reaches a docker of the machine's: the socket is lade's,
	// the reaper is off and the home holds no configuration.
	home := t.TempDir()
	for k, v := range map[string]string{
		"DOCKER_HOST": "unix://" + sock, "TESTCONTAINERS_RYUK_DISABLED": "true",
		"TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1", "HOME": home, "DOCKER_CONFIG": home,
		"DOCKER_CONTEXT": "", "DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": "",
	} {
		t.Setenv(k, v)
	}
	tests := []struct {
		name string
		opts []testcontainers.ContainerCustomizer
	}{
		{"log line", []testcontainers.ContainerCustomizer{
			testcontainers.WithCmd("sh", "-c", "echo booting; sleep 1; echo ready; exec sleep 60"),
			testcontainers.WithWaitStrategy(wait.ForLog("ready").WithStartupTimeout(time.Minute)),
		}},
		// The file goes in as a gzipped tar (PUT archive) before the start.
		{"http port", []testcontainers.ContainerCustomizer{
			testcontainers.WithCmd("httpd", "-f", "-p", "8080", "-h", "/www"),
			testcontainers.WithFiles(testcontainers.ContainerFile{Reader: strings.NewReader("served\n"), ContainerFilePath: "/www/index.html", FileMode: 0o644}),
			testcontainers.WithExposedPorts("8080/tcp"),
			testcontainers.WithWaitStrategy(wait.ForHTTP("/").WithPort("8080/tcp").
				WithResponseMatcher(func(body io.Reader) bool {
					b, _ := io.ReadAll(body)
					return string(b) == "served\n"
				}).WithStartupTimeout(time.Minute)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runTestcontainer(t, root, ref, tt.opts) })
	}
	t.Run("network alias", func(t *testing.T) { networkAlias(t, root, ref) })
	if out := lade(t, root, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, ref) {
		t.Errorf("lade images does not list %s that testcontainers pulled: %q", ref, out)
	}
}

// runTestcontainer starts ref with opts through testcontainers, checks
// that lade ps lists it, terminates it and checks that lade ps -a does
// not.
func runTestcontainer(t *testing.T, root, ref string, opts []testcontainers.ContainerCustomizer) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctr, err := testcontainers.Run(ctx, ref, opts...)
	if err != nil {
		if ctr != nil {
			ctr.Terminate(ctx)
		}
		t.Fatalf("testcontainers.Run: %v", err)
	}
	id := ctr.GetContainerID()
	if out := lade(t, root, "ps", "--format", "{{.ID}}"); !strings.Contains(out, id[:12]) {
		t.Errorf("lade ps does not list testcontainers' container %s: %q", id, out)
	}
	if err := ctr.Terminate(ctx, testcontainers.StopTimeout(time.Second)); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if out := lade(t, root, "ps", "-a", "--format", "{{.ID}}"); strings.Contains(out, id[:12]) {
		t.Errorf("lade ps -a lists %s after Terminate: %q", id, out)
	}
}

// networkAlias: on a network testcontainers makes, one container reaches
// another by its alias; the network goes after them.
func networkAlias(t *testing.T, root, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nw, err := network.New(ctx)
	if err != nil {
		t.Fatalf("network.New: %v", err)
	}
	server, err := testcontainers.Run(ctx, ref,
		testcontainers.WithCmd("sh", "-c", "echo aliased > /index.html; echo up; exec httpd -f -p 80 -h /"),
		network.WithNetwork([]string{"web"}, nw),
		testcontainers.WithWaitStrategy(wait.ForLog("up").WithStartupTimeout(time.Minute)))
	if err != nil {
		testcontainers.TerminateContainer(server)
		nw.Remove(ctx)
		t.Fatalf("server: %v", err)
	}
	runTestcontainer(t, root, ref, []testcontainers.ContainerCustomizer{
		testcontainers.WithCmd("sh", "-c", "wget -qO- http://web/; exec sleep 60"),
		network.WithNetwork([]string{"client"}, nw),
		testcontainers.WithWaitStrategy(wait.ForLog("aliased").WithStartupTimeout(time.Minute)),
	})
	if err := server.Terminate(ctx, testcontainers.StopTimeout(time.Second)); err != nil {
		t.Errorf("Terminate: %v", err)
	}
	if err := nw.Remove(ctx); err != nil {
		t.Fatalf("removing the network: %v", err)
	}
	if out := lade(t, root, "network", "ls", "--format", "{{.Name}}"); strings.Contains(out, nw.Name) {
		t.Errorf("lade network ls lists %s after its removal: %q", nw.Name, out)
	}
}
