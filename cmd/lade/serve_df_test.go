package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"
)

// dfFormat is system df's every column, as both CLIs print it.
const dfFormat = "{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}"

// TestServeSystemDF: docker system df through the API prints what lade
// system df prints, for docker's newer answer and its older one (the
// records, which the clients add up), and docker builder prune removes
// the build cache an image no longer holds.
func TestServeSystemDF(t *testing.T) {
	root := newRoot(t)
	for _, args := range [][]string{
		{"run", "-d", "-v", "used:/data", "busybox", "sh", "-c", "head -c 70000 /dev/zero > /data/f; head -c 30000 /dev/zero > /w; exec sleep 60"},
		{"run", "-v", "spare:/data", "busybox", "sh", "-c", "head -c 50000 /dev/zero > /data/f"},
		{"volume", "create", "empty"},
	} {
		if r := lade(t, root, "", args...); r.code != 0 {
			t.Fatalf("lade %v: %s", args, r.stderr)
		}
	}
	t.Cleanup(func() {
		ids := strings.Fields(lade(t, root, "", "ps", "-aq").stdout)
		lade(t, root, "", append([]string{"rm", "-f"}, ids...)...)
	})
	sock := startServe(t, root)
	for i, cl := range serveClients {
		t.Run(cl.name, func(t *testing.T) {
			requireClient(t, cl.bin)
			dir := writeTree(t, map[string]string{"Dockerfile": fmt.Sprintf("FROM busybox\nRUN head -c 400000 /dev/urandom > /big%d\n", i)})
			if r := lade(t, root, "", "build", "-q", "-t", "dfimg", dir); r.code != 0 {
				t.Fatal(r.stderr)
			}
			want := lade(t, root, "", "system", "df", "--format", dfFormat).stdout
			if got := dockerCLI(t, cl.bin, sock, "system", "df", "--format", dfFormat); got != want {
				t.Errorf("docker system df:\n%s\nlade system df:\n%s", got, want)
			}
			lade(t, root, "", "rmi", "dfimg")
			// Under the size to keep, the records stay.
			dockerCLI(t, cl.bin, sock, "builder", "prune", "-f", "--keep-storage", "100MB")
			if r := lade(t, root, "", "cache", "du"); !strings.Contains(r.stdout, "true") {
				t.Errorf("docker builder prune --keep-storage 100MB removed the reclaimable record:\n%s", r.stdout)
			}
			out := dockerCLI(t, cl.bin, sock, "builder", "prune", "-f")
			if !strings.Contains(out, "Total reclaimed space:") || strings.Contains(out, "Total reclaimed space: 0B") {
				t.Errorf("docker builder prune -f printed %q, want the RUN layer's bytes reclaimed", out)
			}
			if r := lade(t, root, "", "cache", "du"); !strings.Contains(r.stdout, "Total:") || strings.Contains(r.stdout, "true") {
				t.Errorf("lade cache du lists reclaimable records after docker builder prune:\n%s", r.stdout)
			}
		})
	}
	serveDFShapes(t, sock)
}

// serveDFShapes: the newer answer has totals, and records only when
// verbose; type= keeps the parts it names.
func serveDFShapes(t *testing.T, sock string) {
	hc := socketClient(sock)
	tests := []struct {
		query      string
		parts      int
		withRecord bool
	}{
		{"", 4, false},
		{"?verbose=1", 4, true},
		{"?type=volume&type=image", 2, false},
	}
	for _, tt := range tests {
		resp, err := hc.Get("http://lade/v1.57/system/df" + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		var du system.DiskUsage
		err = json.NewDecoder(resp.Body).Decode(&du)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /system/df%s: %d %v", tt.query, resp.StatusCode, err)
		}
		parts := 0
		if u := du.ImageUsage; u != nil {
			parts++
			if (len(u.Items) > 0) != tt.withRecord || u.TotalCount != 1 {
				t.Errorf("%s: images %+v", tt.query, u)
			}
		}
		if u := du.VolumeUsage; u != nil {
			parts++
			if (len(u.Items) == 3) != tt.withRecord || u.TotalCount != 3 || u.ActiveCount != 2 {
				t.Errorf("%s: volumes %+v", tt.query, u)
			}
		}
		for _, p := range []bool{du.ContainerUsage != nil, du.BuildCacheUsage != nil} {
			if p {
				parts++
			}
		}
		if parts != tt.parts {
			t.Errorf("GET /system/df%s: %d parts, want %d", tt.query, parts, tt.parts)
		}
	}
}
