package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/testutil"
)

// newStore is a content store in a fresh temporary directory.
func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "content"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func digestOf(b []byte) v1.Hash {
	h := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h[:])}
}

func readAll(t *testing.T, s *Store, d v1.Hash) []byte {
	t.Helper()
	return testutil.ReadAll(t, func() (io.ReadCloser, error) { return s.Open(d) })
}

func TestPutOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	big := bytes.Repeat([]byte("lade content "), 300000) // > copy buffer
	tests := []struct {
		name string
		data []byte
		want bool // pass the expected digest
		size bool // pass the expected size
	}{
		{"empty", nil, true, true},
		{"small known", []byte("hello"), true, true},
		{"small unknown digest", []byte("hello world"), false, true},
		{"unknown size", []byte("no size"), true, false},
		{"big unknown", big, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			want := digestOf(tt.data)
			var wantArg v1.Hash
			if tt.want {
				wantArg = want
			}
			size := int64(-1)
			if tt.size {
				size = int64(len(tt.data))
			}
			d, n, err := s.Put(ctx, bytes.NewReader(tt.data), wantArg, size)
			if err != nil {
				t.Fatal(err)
			}
			if d != want || n != int64(len(tt.data)) {
				t.Fatalf("Put = %s, %d; want %s, %d", d, n, want, len(tt.data))
			}
			if !s.Has(d) {
				t.Fatal("Has = false after Put")
			}
			if got, err := s.Size(d); err != nil || got != int64(len(tt.data)) {
				t.Fatalf("Size = %d, %v", got, err)
			}
			if diff := cmp.Diff(tt.data, readAll(t, s, d), cmpBytes); diff != "" {
				t.Errorf("content (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpBytes treats nil and empty slices alike.
var cmpBytes = cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })

func TestPutRejectsMismatch(t *testing.T) {
	ctx := context.Background()
	data := []byte("the real content")
	other := digestOf([]byte("something else"))
	tests := []struct {
		name     string
		want     v1.Hash
		size     int64
		contains string
	}{
		{"wrong digest", other, int64(len(data)), "content has digest " + digestOf(data).String()},
		{"too short", digestOf(data), int64(len(data)) + 5, "got 16 bytes, want 21"},
		{"too long", digestOf(data), 3, "got 4 bytes, want 3"},
		{"wrong digest unknown size", other, -1, other.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			_, _, err := s.Put(ctx, bytes.NewReader(data), tt.want, tt.size)
			if err == nil {
				t.Fatal("Put succeeded")
			}
			if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("error %q: want ErrDigestMismatch containing %q", err, tt.contains)
			}
			if !strings.Contains(err.Error(), tt.want.String()) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
			if s.Has(tt.want) || s.Has(digestOf(data)) {
				t.Error("rejected content was stored")
			}
			if got := walkAll(t, s); len(got) != 0 {
				t.Errorf("blobs after rejected Put: %v", got)
			}
			if ents, _ := os.ReadDir(s.ingest); len(ents) != 0 {
				t.Errorf("temp files left in ingest: %d", len(ents))
			}
		})
	}
}

func TestPutAlreadyPresentDoesNotRead(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	d, err := s.PutBytes(ctx, []byte("abc"))
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := s.Put(ctx, failReader{}, d, 3)
	if err != nil || got != d || n != 3 {
		t.Fatalf("Put of present blob = %s, %d, %v", got, n, err)
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("must not be read") }

func TestOpenDetectsCorruption(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		corrupt func(b []byte) []byte
	}{
		{"flipped byte", func(b []byte) []byte { b[10] ^= 0xff; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"appended", func(b []byte) []byte { return append(b, 'x') }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			data := bytes.Repeat([]byte("0123456789"), 1000)
			d, err := s.PutBytes(ctx, data)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(s.blobs, d.Hex)
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, tt.corrupt(append([]byte(nil), data...)), 0o644); err != nil {
				t.Fatal(err)
			}
			rc, err := s.Open(d)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			_, err = io.ReadAll(rc)
			if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), d.String()) {
				t.Fatalf("reading corrupt blob: err = %v; want digest mismatch naming %s", err, d)
			}
		})
	}
}

func TestOpenMissing(t *testing.T) {
	s := newStore(t)
	_, err := s.Open(digestOf([]byte("nope")))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open missing: %v, want fs.ErrNotExist", err)
	}
	if _, err := s.Open(v1.Hash{Algorithm: "sha256", Hex: "../../etc/passwd"}); err == nil {
		t.Fatal("Open accepted a malformed digest")
	}
}

func TestConcurrentPut(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	// Two Stores on one root stand in for two processes.
	s2, err := Open(s.root)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("concurrent "), 200000)
	want := digestOf(data)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			st := s
			if i%2 == 1 {
				st = s2
			}
			d, _, err := st.Put(ctx, bytes.NewReader(data), v1.Hash{}, -1)
			if err == nil && d != want {
				err = errors.New("wrong digest " + d.String())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	if !bytes.Equal(readAll(t, s, want), data) {
		t.Fatal("stored content differs")
	}
	if diff := cmp.Diff(map[v1.Hash]int64{want: int64(len(data))}, walkAll(t, s)); diff != "" {
		t.Errorf("blobs (-want +got):\n%s", diff)
	}
}

func TestKilledIngestIsInvisible(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := []byte("half written")
	d := digestOf(data)
	// What a killed Put leaves behind: a temp file in ingest/ only.
	if err := os.WriteFile(filepath.Join(s.ingest, "put-123456"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(s.root)
	if err != nil {
		t.Fatal(err)
	}
	if s.Has(d) {
		t.Fatal("temp file visible as a blob")
	}
	if got := walkAll(t, s); len(got) != 0 {
		t.Fatalf("Walk sees %v", got)
	}
	if _, err := s.Open(d); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open: %v", err)
	}
	// A real Put of the same content still works.
	if got, err := s.PutBytes(ctx, data); err != nil || got != d {
		t.Fatalf("PutBytes = %s, %v", got, err)
	}
}

func TestDeleteAndWalk(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	want := map[v1.Hash]int64{}
	for _, c := range []string{"a", "bb", "ccc"} {
		d, err := s.PutBytes(ctx, []byte(c))
		if err != nil {
			t.Fatal(err)
		}
		want[d] = int64(len(c))
	}
	if diff := cmp.Diff(want, walkAll(t, s)); diff != "" {
		t.Fatalf("Walk (-want +got):\n%s", diff)
	}
	gone := digestOf([]byte("bb"))
	if err := s.Delete(gone); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(gone); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	delete(want, gone)
	if diff := cmp.Diff(want, walkAll(t, s)); diff != "" {
		t.Fatalf("Walk after Delete (-want +got):\n%s", diff)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.Walk(func(v1.Hash, int64) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("Walk stop: err %v after %d calls", err, calls)
	}
}

func TestPutCanceled(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Put(ctx, strings.NewReader("x"), v1.Hash{}, -1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with canceled ctx: %v", err)
	}
	if got := walkAll(t, s); len(got) != 0 {
		t.Fatalf("blobs: %v", got)
	}
}

func walkAll(t *testing.T, s *Store) map[v1.Hash]int64 {
	t.Helper()
	got := map[v1.Hash]int64{}
	if err := s.Walk(func(d v1.Hash, size int64) error { got[d] = size; return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestOpenTrustsOnlyWhatItCommitted: a blob this Store just committed is
// read without hashing it again; one written to since, or opened by
// another Store (another lade process), is verified in full.
func TestOpenTrustsOnlyWhatItCommitted(t *testing.T) {
	s := newStore(t)
	data := bytes.Repeat([]byte("layer bytes "), 10000)
	d, err := s.PutBytes(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	kind := func(s *Store) string {
		rc, err := s.Open(d)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		switch rc.(type) {
		case *sizeChecker:
			return "trusted"
		case *verifier:
			return "verified"
		}
		return fmt.Sprintf("%T", rc)
	}
	if k := kind(s); k != "trusted" {
		t.Errorf("blob just committed: %s, want trusted", k)
	}
	if got := readAll(t, s, d); !bytes.Equal(got, data) {
		t.Error("trusted read returned other bytes")
	}
	other, err := Open(s.root)
	if err != nil {
		t.Fatal(err)
	}
	if k := kind(other); k != "verified" {
		t.Errorf("blob of another Store: %s, want verified", k)
	}

	// Written to in place, same size: no longer trusted, and caught.
	p, _ := s.path(d)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), 100)
	f.Close()
	if k := kind(s); k != "verified" {
		t.Fatalf("blob written to after commit: %s, want verified", k)
	}
	rc, _ := s.Open(d)
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("corrupted blob read: %v, want a digest mismatch", err)
	}
}

func TestSizeChecker(t *testing.T) {
	p := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{4, 5, 6} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		c := &sizeChecker{f: f, want: digestOf([]byte("12345")), size: size}
		_, err = io.Copy(io.Discard, c)
		c.Close()
		if (err == nil) != (size == 5) || err != nil && !errors.Is(err, ErrDigestMismatch) {
			t.Errorf("size %d: %v", size, err)
		}
	}
}
