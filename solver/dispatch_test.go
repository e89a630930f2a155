package solver

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestParsePortSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"80", []string{"80/tcp"}, false},
		{"53/udp", []string{"53/udp"}, false},
		{"9090/TCP", []string{"9090/tcp"}, false},
		{"8000-8002", []string{"8000/tcp", "8001/tcp", "8002/tcp"}, false},
		{"127.0.0.1:8080:80", []string{"80/tcp"}, false},
		{"80/icmp", nil, true},
		{"http", nil, true},
		{"90-80", nil, true},
		{"70000", nil, true},
	}
	for _, tt := range tests {
		got, err := parsePortSpec(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parsePortSpec(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("parsePortSpec(%q) (-want +got):\n%s", tt.in, d)
		}
	}
}

func TestCheckSignal(t *testing.T) {
	for _, s := range []string{"SIGTERM", "TERM", "sigkill", "9", "SIGRTMIN+3", "RTMIN+3", "SIGRTMAX-2"} {
		if err := checkSignal(s); err != nil {
			t.Errorf("checkSignal(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"SIGNOPE", "0", "65", "", "SIGRTMIN+99", "RTMINNOPE"} {
		if err := checkSignal(s); err == nil {
			t.Errorf("checkSignal(%q) accepted", s)
		}
	}
}

func TestDestPath(t *testing.T) {
	tests := []struct{ wd, dest, want string }{
		{"", "/abs", "/abs"},
		{"", "/abs/", "/abs/"},
		{"/work", "rel.txt", "/work/rel.txt"},
		{"/work", "nested/deeper/", "/work/nested/deeper/"},
		{"/work", ".", "/work/"},
		{"/work", "./", "/work/"},
		{"", ".", "/"},
		{"/a/b", "..", "/a/"},
		{"/w", "x/.", "/w/x/"},
	}
	for _, tt := range tests {
		sc := &stageCtx{st: &stageState{}}
		sc.st.img.Config.WorkingDir = tt.wd
		if got := sc.destPath(tt.dest); got != tt.want {
			t.Errorf("destPath(wd=%q, %q) = %q, want %q", tt.wd, tt.dest, got, tt.want)
		}
	}
}

func TestRunCommandString(t *testing.T) {
	v := "1.0"
	sc := &stageCtx{st: &stageState{
		env:  []string{"PATH=/bin", "VERSION=2.0"},
		args: []instructions.KeyValuePairOptional{{Key: "VERSION", Value: &v}, {Key: "UNSET"}},
	}}
	got := sc.runCommandString([]string{"/bin/sh", "-c", "echo hi"})
	// The stage env wins over the declared default, as in BuildKit.
	if want := "|2 VERSION=2.0 UNSET= /bin/sh -c echo hi"; got != want {
		t.Errorf("runCommandString = %q, want %q", got, want)
	}
	sc.st.args = nil
	if got := sc.runCommandString([]string{"true"}); got != "true" {
		t.Errorf("without args = %q", got)
	}
}

func TestSetEnvKeepsOrderAndCopies(t *testing.T) {
	a := []string{"A=1", "B=2"}
	b := setEnv(a, "A", "3")
	if d := cmp.Diff([]string{"A=3", "B=2"}, b); d != "" {
		t.Error(d)
	}
	if a[0] != "A=1" {
		t.Error("setEnv modified its input")
	}
	if d := cmp.Diff([]string{"A=1", "B=2", "C=4"}, setEnv(a, "C", "4")); d != "" {
		t.Error(d)
	}
}
