package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// composeFile is a two-service project: web serves a page over HTTP,
// client fetches it by web's service name (lade's embedded DNS on side,
// the network they share, web's second after default), prints it and
// exits. web has a named volume and an exec-form healthcheck, which
// client waits for. httpd as PID 1 ignores SIGTERM: the grace period
// keeps stop short.
const composeFile = `services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]
    stop_grace_period: 1s
    volumes: ["data:/data"]
    networks: [default, side]
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost/"]
      interval: 1s
      retries: 60
  client:
    image: busybox
    depends_on:
      web:
        condition: service_healthy
    networks: [side]
    command: ["sh", "-c", "for i in $$(seq 1 100); do wget -qO- http://web/ && exit 0; sleep 0.2; done; echo no answer; exit 1"]
volumes:
  data:
networks:
  side:
`

// composeV5Pkg is the compose scripts/test.sh builds as docker-compose-v5.
const composeV5Pkg = "github.com/docker/compose/v5/cmd@v5.6.0"

// composeClient is a compose program and the arguments before its
// command: docker compose as the docker CLI's plugin runs as "docker
// compose", the v5 binary in the Docker config's cli-plugins.
type composeClient struct {
	bin    string
	pre    []string
	plugin string // the binary for $DOCKER_CONFIG/cli-plugins/docker-compose
}

// run runs the client in dir against the socket and returns its combined
// output.
func (c composeClient) run(sock, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home, err := os.MkdirTemp("", "compose-home-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(home)
	if c.plugin != "" {
		plugins := filepath.Join(home, "cli-plugins")
		if err := os.Mkdir(plugins, 0o700); err != nil {
			return "", err
		}
		if err := os.Symlink(c.plugin, filepath.Join(plugins, "docker-compose")); err != nil {
			return "", err
		}
	}
	cmd := exec.CommandContext(ctx, c.bin, append(slices.Clone(c.pre), args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sock, "HOME="+home, "DOCKER_CONFIG="+home, "COMPOSE_ANSI=never")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestServeCompose: Debian's docker-compose 1.29 and a current docker
// compose (alone and as the docker CLI's plugin) bring a two-service
// project up through lade serve, detached and attached; one service
// reaches the other by name, a second up finds the project as its file
// says (recreating nothing), and down removes the containers, the project's networks and
// (-v) its volume.
func TestServeCompose(t *testing.T) {
	root := newRoot(t)
	sock, _, logs := startServeLogged(t, root, "--debug")
	t.Cleanup(func() { removeAll(t, root) })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(composeFile), 0o644); err != nil {
		t.Fatal(err)
	}
	v5 := func(t *testing.T) string { return goTool(t, "docker-compose-v5", composeV5Pkg) }
	tests := []struct {
		name, project string
		client        func(t *testing.T) composeClient
	}{
		{"docker-compose-1.29", "ladeold", func(t *testing.T) composeClient {
			return composeClient{bin: tool(t, "docker-compose", "docker-compose")}
		}},
		{"compose-v5", "ladenew", func(t *testing.T) composeClient { return composeClient{bin: v5(t)} }},
		{"docker-compose-plugin", "ladeplugin", func(t *testing.T) composeClient {
			docker := serveClients[0].bin
			requireClient(t, docker)
			return composeClient{bin: docker, pre: []string{"compose"}, plugin: v5(t)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client(t)
			defer func() {
				if t.Failed() {
					t.Logf("lade serve's log:\n%s", logs.String())
				}
			}()
			compose := func(args ...string) string {
				t.Helper()
				out, err := c.run(sock, dir, append([]string{"-p", tt.project}, args...)...)
				if err != nil {
					t.Fatalf("%s %s: %v\n%s", tt.name, strings.Join(args, " "), err, out)
				}
				return out
			}
			// Detached: the client's page comes through compose logs.
			compose("up", "-d")
			testutil.Poll(t, "client's page from web", func() bool {
				got, _ := c.run(sock, dir, "-p", tt.project, "logs", "--no-color", "client")
				return strings.Contains(got, "hello-from-web")
			})
			// Again: the project is as its file says, nothing recreated.
			ids := lade(t, root, "", "ps", "-aq").stdout
			compose("up", "-d")
			if again := lade(t, root, "", "ps", "-aq").stdout; again != ids {
				t.Errorf("a second up -d recreated containers: %q, then %q", ids, again)
			}
			compose("down", "-v")
			composeGone(t, root, tt.project)
			// Attached: compose follows both services' output and events,
			// stops web when client exits and exits with client's code.
			if out := compose("up", "--no-color", "--exit-code-from", "client"); !strings.Contains(out, "hello-from-web") {
				t.Errorf("up --exit-code-from client printed %q", out)
			}
			compose("down", "-v")
			composeGone(t, root, tt.project)
		})
	}
}

// composeGone checks that down -v left none of project's containers, and
// not its networks or volume.
func composeGone(t *testing.T, root, project string) {
	t.Helper()
	if r := lade(t, root, "", "ps", "-a", "--format", "{{.Names}}"); strings.Contains(r.stdout, project) {
		t.Errorf("lade ps -a after down: %q", r.stdout)
	}
	if r := lade(t, root, "", "network", "ls", "--format", "{{.Name}}"); strings.Contains(r.stdout, project+"_") {
		t.Errorf("lade network ls after down: %q", r.stdout)
	}
	if r := lade(t, root, "", "volume", "ls", "-q"); strings.Contains(r.stdout, project+"_data") {
		t.Errorf("lade volume ls after down -v: %q", r.stdout)
	}
}

// removeAll removes the containers a failed test left in root.
func removeAll(t *testing.T, root string) {
	if ids := strings.Fields(lade(t, root, "", "ps", "-aq").stdout); len(ids) > 0 {
		lade(t, root, "", append([]string{"rm", "-f"}, ids...)...)
	}
}
