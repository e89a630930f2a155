package solver

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

func TestParseSecretFlag(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	if err := os.WriteFile(file, []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MYVAR": "from-env", "ID_AS_ENV": "id-env"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := []struct {
		in, id, value, err string
	}{
		{in: "id=a,src=" + file, id: "a", value: "from-file"},
		{in: "id=a,source=" + file + ",type=file", id: "a", value: "from-file"},
		{in: "id=a,env=MYVAR", id: "a", value: "from-env"},
		{in: "id=a,type=env,src=MYVAR", id: "a", value: "from-env"},
		{in: "id=ID_AS_ENV", id: "ID_AS_ENV", value: "id-env"},
		{in: "id=" + file, id: file, value: "from-file"},
		{in: "id=a,src=" + filepath.Join(dir, "missing"), err: "secret a: open"},
		{in: "id=a,env=NOPE", err: "environment variable NOPE is not set"},
		{in: "src=" + file, err: "id is required"},
		{in: "id=a,src=x,env=y", err: "mutually exclusive"},
		{in: "id=a,colour=red", err: `unexpected key "colour"`},
		{in: "id=a,type=tar", err: "unsupported type"},
		{in: "a", err: "expected key=value"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			id, v, err := ParseSecretFlag(tc.in, lookup)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || id != tc.id || string(v) != tc.value {
				t.Fatalf("got %q %q %v, want %q %q", id, v, err, tc.id, tc.value)
			}
		})
	}
}

func TestParseSSHFlag(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, testutil.SSHKey(t), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	withSock := func(k string) (string, bool) { return sock, k == "SSH_AUTH_SOCK" }
	noSock := func(string) (string, bool) { return "", false }
	cases := []struct {
		in     string
		lookup func(string) (string, bool)
		id     string
		socket string
		keys   int
		err    string
	}{
		{in: "default", lookup: withSock, id: "default", socket: sock},
		{in: "gh", lookup: withSock, id: "gh", socket: sock},
		{in: "default", lookup: noSock, err: "SSH_AUTH_SOCK is not set"},
		{in: "k=" + key, lookup: noSock, id: "k", keys: 1},
		{in: "k=" + key + "," + key, lookup: noSock, id: "k", keys: 2},
		{in: "s=" + sock, lookup: noSock, id: "s", socket: sock},
		{in: "k=" + bad, lookup: noSock, err: "parsing private key"},
		{in: "k=" + filepath.Join(dir, "none"), lookup: noSock, err: "no such file"},
		{in: "s=" + sock + "," + key, lookup: noSock, err: "cannot be combined"},
		{in: "=x", lookup: noSock, err: "empty id"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			id, src, err := ParseSSHFlag(tc.in, tc.lookup)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || id != tc.id || src.Socket != tc.socket || len(src.Keys) != tc.keys {
				t.Fatalf("got %q %+v %v", id, src, err)
			}
		})
	}
}
