package images

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// dropper breaks the connection of the first n requests that match:
// "drop" closes it before any answer, "cut" sends the headers and half
// the body first.
type dropper struct {
	mu    sync.Mutex
	n     int
	mode  string
	match func(*http.Request) bool
	hits  int
}

func (d *dropper) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		hit := d.match(r)
		if hit {
			d.hits++
		}
		fault := hit && d.n > 0
		if fault {
			d.n--
		}
		d.mu.Unlock()
		if !fault {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		if d.mode == "cut" {
			h.ServeHTTP(rec, r)
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		if d.mode == "cut" {
			body := rec.Body.Bytes()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n")
			for k, v := range rec.Header() {
				if k != "Content-Length" {
					buf.WriteString(k + ": " + v[0] + "\r\n")
				}
			}
			buf.WriteString("\r\n")
			buf.Write(body[:len(body)/2])
			buf.Flush()
		}
	})
}

// TestDroppedConnections: pulls and pushes survive connections that break
// before the answer or in the middle of a blob body.
func TestDroppedConnections(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 2, time.Unix(9, 0))
	isTarget := getsBlob(layerDigest(t, img, 1))
	isPatch := func(r *http.Request) bool { return r.Method == http.MethodPatch }

	for _, mode := range []string{"drop", "cut"} {
		t.Run("pull-"+mode, func(t *testing.T) {
			d := &dropper{n: 2, mode: mode, match: isTarget}
			host := testutil.Registry(t, d.wrap)
			s := pushPullRetrying(t, ctx, host+"/d/app:1", img)
			if d.hits != 3 {
				t.Errorf("blob requested %d times, want 3", d.hits)
			}
			leftovers(t, s.root+"/..")
		})
	}
	t.Run("push-drop", func(t *testing.T) {
		d := &dropper{n: 2, mode: "drop", match: isPatch}
		host := testutil.Registry(t, d.wrap)
		s, _ := retryingStore(t)
		src := storedRandom(t, s, 2)
		if _, err := s.Push(ctx, host+"/d/app:1", src, PushOptions{}); err != nil {
			t.Fatalf("push through two broken connections: %v", err)
		}
		validateRemote(t, host+"/d/app:1")
	})
}
