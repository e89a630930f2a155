package container

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		policy  RestartPolicy
		state   State
		code    int
		restart bool
	}{
		{RestartPolicy{Name: "no"}, State{}, 1, false},
		{RestartPolicy{Name: "always"}, State{}, 0, true},
		{RestartPolicy{Name: "always"}, State{StoppedByUser: true}, 0, false},
		{RestartPolicy{Name: "unless-stopped"}, State{RestartCount: 9}, 0, true},
		{RestartPolicy{Name: "on-failure"}, State{}, 0, false},
		{RestartPolicy{Name: "on-failure"}, State{RestartCount: 50}, 1, true},
		{RestartPolicy{Name: "on-failure", MaxRetries: 2}, State{RestartCount: 1}, 1, true},
		{RestartPolicy{Name: "on-failure", MaxRetries: 2}, State{RestartCount: 2}, 1, false},
	}
	for _, tc := range tests {
		if got := shouldRestart(tc.policy, &tc.state, tc.code); got != tc.restart {
			t.Errorf("%+v %+v exit %d: restart %v, want %v", tc.policy, tc.state, tc.code, got, tc.restart)
		}
	}
}

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want syscall.Signal
		bad  bool
	}{
		{"", syscall.SIGTERM, false},
		{"KILL", syscall.SIGKILL, false},
		{"sigint", syscall.SIGINT, false},
		{"9", syscall.SIGKILL, false},
		{"SIGRTMIN+3", syscall.Signal(37), false}, // systemd images' STOPSIGNAL
		{"RTMAX", syscall.Signal(64), false},
		{"SIGPWR", syscall.SIGPWR, false},
		{"NOPE", 0, true},
		{"0", 0, true},
		{"65", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseSignal(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseSignal(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "1024", want: 1024},
		{in: "512k", want: 512 << 10},
		{in: "32m", want: 32 << 20},
		{in: "10MB", want: 10 << 20},
		{in: "1g", want: 1 << 30},
		{in: "1GiB", want: 1 << 30},
		{in: "64MiB", want: 64 << 20},
		{in: "1.5GiB", want: 3 << 29},
		{in: "2 GB", want: 2 << 30},
		{in: "1T", want: 1 << 40},
		{in: "lots", bad: true},
		{in: "-1", bad: true},
		{in: "1x", bad: true},
	} {
		got, err := ParseBytes(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestLogsRoundTrip(t *testing.T) {
	s, cfg := createdContainer(t)
	lf, err := openLog(s.LogPath(cfg.ID))
	if err != nil {
		t.Fatal(err)
	}
	out := &streamWriter{log: lf, stream: "stdout"}
	errw := &streamWriter{log: lf, stream: "stderr"}
	out.Write([]byte("a\nb"))
	errw.Write([]byte("e\n"))
	out.Write([]byte("c\nd"))
	out.Flush()
	lf.Close()
	tests := []struct {
		tail           int
		stdout, stderr string
	}{
		{-1, "a\nbc\nd", "e\n"},
		{2, "bc\nd", ""},
		{0, "", ""},
	}
	for _, tc := range tests {
		var o, e bytes.Buffer
		if err := s.ReadLogs(context.Background(), cfg.ID, LogOptions{Tail: tc.tail}, &o, &e); err != nil {
			t.Fatal(err)
		}
		if o.String() != tc.stdout || e.String() != tc.stderr {
			t.Errorf("tail %d: %q %q, want %q %q", tc.tail, o.String(), e.String(), tc.stdout, tc.stderr)
		}
	}
}

func TestStoreNames(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := &Config{Name: "app"}
	if err := s.Create(a); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(&Config{Name: "app"}); err == nil {
		t.Error("duplicate name accepted")
	}
	if err := s.Create(&Config{Name: "bad/name"}); err == nil {
		t.Error("bad name accepted")
	}
	for _, ref := range []string{"app", a.ID, a.ID[:5]} {
		c, err := s.Get(ref)
		if err != nil || c.ID != a.ID || c.State.Status != StatusCreated {
			t.Errorf("Get(%q) = %+v, %v", ref, c, err)
		}
	}
	if _, err := s.Get("zzz"); err == nil {
		t.Error("unknown ref found")
	}
}

// TestStartShimDeadShim: a shim that dies before it reports gives an
// error that says so, not an empty one.
func TestStartShimDeadShim(t *testing.T) {
	s, c := createdContainer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.StartShim(ctx, c.ID, "/bin/false")
	if err == nil || !strings.Contains(err.Error(), "exited before the container started: exit status 1") {
		t.Fatalf("StartShim with a shim that dies: %v", err)
	}
}

// createdContainer is a store in a temp dir holding one created container
// that runs true.
func createdContainer(t *testing.T) (*Store, *Config) {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := &Config{Args: []string{"true"}}
	if err := s.Create(c); err != nil {
		t.Fatal(err)
	}
	return s, c
}
