package main

import (
	"encoding/json"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/lade-build/lade/internal/testutil"
)

// TestServeExecDetachedStatus: a detached exec's inspect says it runs,
// then that it ended, with its exit status, as dockerd's does.
func TestServeExecDetachedStatus(t *testing.T) {
	root := newRoot(t)
	sock := startServe(t, root)
	if r := lade(t, root, "", "run", "-d", "--name", "exd", "busybox", "sleep", "60"); r.code != 0 {
		t.Fatalf("lade run -d: %s", r.stderr)
	}
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", "exd") })
	hc := socketClient(sock)
	call := func(method, path, body string, into any) {
		t.Helper()
		resp := apiDo(t, hc, method, path, body)
		defer resp.Body.Close()
		if into != nil {
			if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
				t.Fatal(err)
			}
		}
	}
	var created ctypes.ExecCreateResponse
	call("POST", "/containers/exd/exec", `{"Cmd":["sh","-c","sleep 0.5; exit 7"]}`, &created)
	call("POST", "/exec/"+created.ID+"/start", `{"Detach":true}`, nil)
	var st ctypes.ExecInspectResponse
	call("GET", "/exec/"+created.ID+"/json", "", &st)
	if !st.Running || st.ExitCode != nil {
		t.Errorf("just started: running %v, exit code %v", st.Running, st.ExitCode)
	}
	testutil.Poll(t, "the detached exec's end", func() bool {
		call("GET", "/exec/"+created.ID+"/json", "", &st)
		return !st.Running
	})
	if st.ExitCode == nil || *st.ExitCode != 7 {
		t.Errorf("detached exec's exit code %v, want 7", st.ExitCode)
	}
}
