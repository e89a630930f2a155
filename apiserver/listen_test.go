package apiserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListen(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "sub", "lade.sock")
	tests := []struct {
		host    string
		wantErr string // "" for success
	}{
		{"unix://" + sock, ""},
		{"tcp://127.0.0.1:0", ""},
		{"tcp://localhost:0", ""},
		{"tcp://0.0.0.0:0", "refusing to serve tcp://0.0.0.0:0 without TLS"},
		{"tcp://:0", "without TLS"},
		{"udp://127.0.0.1:0", "protocol udp is not unix or tcp"},
		{"127.0.0.1:2375", "want unix://PATH or tcp://HOST:PORT"},
	}
	for _, tt := range tests {
		l, err := Listen(tt.host, nil)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("Listen(%q) = %v", tt.host, err)
				continue
			}
			l.Close()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Listen(%q) = %v, want an error with %q", tt.host, err, tt.wantErr)
		}
		if err == nil {
			l.Close()
		}
	}
}

// TestListenUnixMode: the socket is root's and its group's only, and a
// stale socket of an earlier server is replaced.
func TestListenUnixMode(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "lade.sock")
	for range 2 {
		l, err := Listen("unix://"+sock, nil)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(sock)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o660 {
			t.Errorf("socket mode %v, want 0660", got)
		}
		// The next Listen finds the file of a server that did not clean up.
		if ul, ok := l.Listener.(interface{ SetUnlinkOnClose(bool) }); ok {
			ul.SetUnlinkOnClose(false)
		}
		l.Close()
	}
}

func TestTLSOptions(t *testing.T) {
	if c, err := (TLSOptions{}).Config(); c != nil || err != nil {
		t.Errorf("no TLS flags: Config() = %v, %v, want nil, nil", c, err)
	}
	if _, err := (TLSOptions{Verify: true, Cert: "c", Key: "k"}).Config(); err == nil || !strings.Contains(err.Error(), "--tlscacert") {
		t.Errorf("--tlsverify without a CA: %v", err)
	}
}

func TestSplitVersion(t *testing.T) {
	tests := []struct {
		path, rest, version string
		ok                  bool
		tooNew, tooOld      bool
	}{
		{"/v1.41/containers/json", "/containers/json", "1.41", true, false, false},
		{"/v1.57/_ping", "/_ping", "1.57", true, false, false},
		{"/v1.58/_ping", "/_ping", "1.58", true, true, false},
		{"/v2.0/_ping", "/_ping", "2.0", true, true, false},
		{"/v1.40/_ping", "/_ping", "1.40", true, false, true},
		{"/containers/json", "/containers/json", "", false, false, false},
		{"/volumes/v1.41", "/volumes/v1.41", "", false, false, false},
		{"/vx/_ping", "/vx/_ping", "", false, false, false},
	}
	for _, tt := range tests {
		rest, v, ok := splitVersion(tt.path)
		if rest != tt.rest || v != tt.version || ok != tt.ok {
			t.Errorf("splitVersion(%q) = %q, %q, %v; want %q, %q, %v", tt.path, rest, v, ok, tt.rest, tt.version, tt.ok)
		}
		if !ok {
			continue
		}
		err := checkVersion(v)
		if got := err != nil && strings.Contains(err.Error(), "too new"); got != tt.tooNew {
			t.Errorf("checkVersion(%q) = %v, too new: %v", v, err, tt.tooNew)
		}
		if got := err != nil && strings.Contains(err.Error(), "too old"); got != tt.tooOld {
			t.Errorf("checkVersion(%q) = %v, too old: %v", v, err, tt.tooOld)
		}
	}
}
