package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/container"
)

// fixture is three containers, oldest first: web (running, healthy,
// published 8080), job (exited 3, volume data), fresh (created).
func fixture() []*container.Container {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	web := &container.Container{Config: container.Config{ID: "aaa111", Name: "web", Image: "nginx", ImageID: "sha256:1234567890ab",
		Created: t0, Network: "bridge", Labels: map[string]string{"tier": "front"},
		Ports:       []container.Port{{HostPort: 8080, Port: 80, Proto: "tcp"}},
		Healthcheck: &container.Healthcheck{Test: []string{"CMD", "true"}}}}
	web.State = container.State{Status: container.StatusRunning, StartedAt: t0, Pid: 42, Health: &container.Health{Status: "healthy"}}
	job := &container.Container{Config: container.Config{ID: "bbb222", Name: "job", Image: "busybox:1", Created: t0.Add(time.Minute),
		Network: "none", Mounts: []container.Mount{{Type: "volume", Name: "data", Target: "/data"}}}}
	job.State = container.State{Status: container.StatusExited, StartedAt: t0, FinishedAt: t0, ExitCode: 3}
	fresh := &container.Container{Config: container.Config{ID: "ccc333", Name: "fresh", Image: "busybox:1", Created: t0.Add(2 * time.Minute)}}
	fresh.State = container.State{Status: container.StatusCreated}
	return []*container.Container{web, job, fresh}
}

func names(list []*container.Container) string {
	var n []string
	for _, c := range list {
		n = append(n, c.Name)
	}
	return strings.Join(n, ",")
}

func TestListContainers(t *testing.T) {
	tests := []struct {
		o       ListOptions
		want    string
		wantErr string
	}{
		{o: ListOptions{}, want: "web"},
		{o: ListOptions{All: true}, want: "fresh,job,web"},
		{o: ListOptions{Latest: true}, want: "fresh"},
		{o: ListOptions{Last: 2}, want: "fresh,job"},
		{o: ListOptions{Filters: []string{"status=exited"}}, want: "job"},
		{o: ListOptions{Filters: []string{"status=created", "status=running"}}, want: "fresh,web"},
		{o: ListOptions{Filters: []string{"exited=3"}}, want: "job"},
		{o: ListOptions{Filters: []string{"exited=0"}}, want: ""},
		{o: ListOptions{All: true, Filters: []string{"name=^/fr"}}, want: "fresh"},
		{o: ListOptions{All: true, Filters: []string{"id=bbb"}}, want: "job"},
		{o: ListOptions{All: true, Filters: []string{"label=tier"}}, want: "web"},
		{o: ListOptions{All: true, Filters: []string{"label=tier=back"}}, want: ""},
		{o: ListOptions{All: true, Filters: []string{"ancestor=busybox:1"}}, want: "fresh,job"},
		{o: ListOptions{All: true, Filters: []string{"ancestor=nginx"}}, want: "web"},
		{o: ListOptions{All: true, Filters: []string{"ancestor=1234567890"}}, want: "web"},
		{o: ListOptions{All: true, Filters: []string{"before=fresh"}}, want: "job,web"},
		{o: ListOptions{All: true, Filters: []string{"since=web"}}, want: "fresh,job"},
		{o: ListOptions{All: true, Filters: []string{"volume=data"}}, want: "job"},
		{o: ListOptions{All: true, Filters: []string{"network=none"}}, want: "job"},
		{o: ListOptions{All: true, Filters: []string{"health=healthy"}}, want: "web"},
		{o: ListOptions{All: true, Filters: []string{"health=none"}}, want: "fresh,job"},
		{o: ListOptions{All: true, Filters: []string{"publish=80"}}, want: "web"},
		{o: ListOptions{All: true, Filters: []string{"publish=80/udp"}}, want: ""},
		{o: ListOptions{All: true, Filters: []string{"bogus=1"}}, wantErr: "invalid filter 'bogus'"},
		{o: ListOptions{All: true, Filters: []string{"status"}}, wantErr: "bad format"},
		{o: ListOptions{All: true, Filters: []string{"exited=x"}}, wantErr: "invalid filter 'exited=x'"},
		{o: ListOptions{All: true, Filters: []string{"before=nope"}}, wantErr: "no such container: nope"},
	}
	for _, tc := range tests {
		got, err := ListContainers(fixture(), tc.o)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ListContainers(%+v) error = %v, want %q", tc.o, err, tc.wantErr)
			}
			continue
		}
		if err != nil || names(got) != tc.want {
			t.Errorf("ListContainers(%+v) = %q, %v; want %q", tc.o, names(got), err, tc.want)
		}
	}
}

func TestStatusText(t *testing.T) {
	now := time.Now()
	tests := []struct {
		st         container.State
		status     string
		textPrefix string
	}{
		{container.State{Status: container.StatusRunning, StartedAt: now.Add(-3 * time.Minute)}, "running", "Up 3 minutes"},
		{container.State{Status: container.StatusRunning, StartedAt: now, Health: &container.Health{Status: "starting"}}, "running", "Up Less than a second (health: starting)"},
		{container.State{Status: container.StatusRunning, StartedAt: now, Health: &container.Health{Status: "unhealthy"}}, "running", "Up Less than a second (unhealthy)"},
		{container.State{Status: container.StatusExited, StartedAt: now, FinishedAt: now.Add(-2 * time.Hour), ExitCode: 137}, "exited", "Exited (137) 2 hours ago"},
		{container.State{Status: container.StatusExited}, "created", "Created"},
		{container.State{Status: container.StatusCreated}, "created", "Created"},
		{container.State{Status: container.StatusRestarting, ExitCode: 1, FinishedAt: now}, "restarting", "Restarting (1)"},
	}
	for _, tc := range tests {
		if got := string(Status(&tc.st)); got != tc.status {
			t.Errorf("Status(%+v) = %q, want %q", tc.st, got, tc.status)
		}
		if got := StatusText(&tc.st); !strings.HasPrefix(got, tc.textPrefix) {
			t.Errorf("StatusText(%+v) = %q, want prefix %q", tc.st, got, tc.textPrefix)
		}
	}
}
