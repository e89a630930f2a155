package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"
)

// TestServeConcurrentStarts: containers created and started at once in
// one lade serve all run. The server forks shims while it holds other
// containers' supervisor locks; a lock a fork kept made a start answer
// 304 for a container that never ran.
func TestServeConcurrentStarts(t *testing.T) {
	sock := startServe(t, newRoot(t))
	hc := socketClient(sock)
	post := func(path, body string, want int, v any) error {
		resp, err := hc.Post("http://lade"+path, "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("POST %s: %s, want %d", path, resp.Status, want)
		}
		if v != nil {
			return json.NewDecoder(resp.Body).Decode(v)
		}
		return nil
	}
	tests := []struct {
		name  string
		count int
	}{{"pairs", 2}, {"many", 12}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g errgroup.Group
			for i := range tt.count {
				g.Go(func() error {
					var created struct{ Id string }
					body := fmt.Sprintf(`{"Image":"busybox","Cmd":["sh","-c","exit %d"]}`, i%100)
					if err := post("/containers/create", body, http.StatusCreated, &created); err != nil {
						return err
					}
					if err := post("/containers/"+created.Id+"/start", "", http.StatusNoContent, nil); err != nil {
						return err
					}
					var waited struct{ StatusCode int }
					if err := post("/containers/"+created.Id+"/wait", "", http.StatusOK, &waited); err != nil {
						return err
					}
					if waited.StatusCode != i%100 {
						return fmt.Errorf("container %d exited %d, want %d: it did not run", i, waited.StatusCode, i%100)
					}
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
