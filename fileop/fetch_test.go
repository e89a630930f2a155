package fileop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lade-build/lade/internal/testutil"
)

func TestFetchURL(t *testing.T) {
	testutil.RequireRoot(t)
	body := "hello from the web"
	sum := sha256.Sum256([]byte(body))
	good := "sha256:" + hex.EncodeToString(sum[:])
	bad := "sha256:" + strings.Repeat("0", 64)
	lm := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	mux := http.NewServeMux()
	mux.HandleFunc("/files/data.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", lm.Format(http.TimeFormat))
		w.Write([]byte(body))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/files/data.txt", http.StatusFound)
	})
	mux.HandleFunc("/attachment", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="report.csv"`)
		w.Write([]byte(body))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name     string
		path     string
		checksum string
		wantName string
		wantMod  time.Time
		wantErr  string
	}{
		{"plain", "/files/data.txt", "", "data.txt", lm, ""},
		{"good checksum", "/files/data.txt", good, "data.txt", lm, ""},
		{"bad checksum", "/files/data.txt", bad, "", time.Time{}, "digest mismatch " + good + ": expected " + bad},
		// BuildKit's Dockerfile frontend names the file after the URL as
		// written: redirects and Content-Disposition do not rename it.
		{"redirect", "/redirect", good, "redirect", lm, ""},
		{"content disposition", "/attachment", "", "attachment", time.Time{}, ""},
		{"no path", "/", "", "__unnamed__", time.Time{}, ""},
		{"404", "/missing", "", "", time.Time{}, "status 404"},
		{"bad checksum format", "/files/data.txt", "sha256:zz", "", time.Time{}, "invalid checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			p, name, mod, err := FetchURL(context.Background(), srv.URL+tt.path, tt.checksum, tmp, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
				}
				if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
					t.Errorf("left files behind: %v", ents)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != tt.wantName || !mod.Equal(tt.wantMod) {
				t.Errorf("name, modTime = %q, %v; want %q, %v", name, mod, tt.wantName, tt.wantMod)
			}
			if b, err := os.ReadFile(p); err != nil || string(b) != body {
				t.Errorf("content %q %v", b, err)
			}
			if !strings.HasPrefix(p, tmp) || filepath.Base(p) != name {
				t.Errorf("path %s not %s under %s", p, name, tmp)
			}
		})
	}

	// The fetched file lands as 0600 with Last-Modified as mtime.
	tmp, root := t.TempDir(), t.TempDir()
	p, _, _, err := FetchURL(context.Background(), srv.URL+"/files/data.txt", "", tmp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := CopyFetched(context.Background(), p, CopyOptions{DestRoot: root, Dest: "/dl/"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"/dl dir 0755 0:0", "/dl/data.txt file 0600 " + body + " 0:0"}
	if diff := cmp.Diff(want, listTree(t, root, "/dl")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(filepath.Join(root, "dl/data.txt")); err != nil || !fi.ModTime().Equal(lm) {
		t.Errorf("mtime %v %v", fi.ModTime(), err)
	}
}
