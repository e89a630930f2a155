package hardening

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/lade-build/lade/internal/du"
)

// The layer limit these cases run under, as in the issue: 100 MB.
const addLimit = 100000000

var addLimitEnv = []string{"LADE_MAX_LAYER_SIZE=" + strconv.Itoa(addLimit)}

// sparseTar is a tar made by GNU tar --sparse in the given format of one
// file, big.bin, of size bytes that is a hole but for "marker" at
// markerAt: a few KB that describe size bytes.
func sparseTar(t *testing.T, format string, size, markerAt int64) []byte {
	t.Helper()
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Fatalf("GNU tar is needed to write sparse archives: %v", err)
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("marker"), markerAt); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "out.tar")
	cmd := exec.Command(tarBin, "--sparse", "--format="+format, "-cf", out, "-C", dir, "big.bin")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 1<<20 {
		t.Fatalf("tar wrote %d bytes: not a sparse archive", len(b))
	}
	return b
}

// zeroBomb is a tar.gz of a few hundred KB holding one file of n zeros.
func zeroBomb(t *testing.T, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: n}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeroReader{}, n); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// errorLine reports whether lade's one "Error:" line of out says want.
func errorLine(out, want string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Error:") && strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// allocated is what dir takes on disk, as du(1) counts it.
func allocated(t *testing.T, dir string) int64 {
	t.Helper()
	n, err := du.Size(dir)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// serveZeros answers every request with n zeros, with a Content-Length
// when declared is set and chunked otherwise.
func serveZeros(t *testing.T, n int64, declared bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if declared {
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		}
		io.CopyN(w, zeroReader{}, n)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// serveBytes answers every request with b.
func serveBytes(t *testing.T, b []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(b) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestAddExpansionLimit: ADD of local archives, URL downloads and URL
// archives stops at LADE_MAX_LAYER_SIZE, as pulled layers do, with one
// line naming the limit, and leaves no big file behind.
func TestAddExpansionLimit(t *testing.T) {
	needLade(t)
	want := fmt.Sprintf("expands past the %d-byte layer limit (LADE_MAX_LAYER_SIZE)", addLimit)
	cases := []struct {
		name  string
		files func(t *testing.T) map[string]string
		add   func(t *testing.T) string // the ADD line
	}{
		{name: "sparse 2 GB tar (gnu)",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"big.tar": string(sparseTar(t, "gnu", 2<<30, 1<<30))}
			},
			add: func(*testing.T) string { return "ADD big.tar /big/" }},
		{name: "sparse 2 GB tar (pax)",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"big.tar": string(sparseTar(t, "posix", 2<<30, 1<<30))}
			},
			add: func(*testing.T) string { return "ADD big.tar /big/" }},
		{name: "gzip bomb",
			files: func(t *testing.T) map[string]string {
				return map[string]string{"bomb.tar.gz": string(zeroBomb(t, 300<<20))}
			},
			add: func(*testing.T) string { return "ADD bomb.tar.gz /bomb/" }},
		{name: "URL download with length",
			add: func(t *testing.T) string { return "ADD " + serveZeros(t, 150<<20, true) + "/big.bin /dl/" }},
		{name: "URL download chunked",
			add: func(t *testing.T) string { return "ADD " + serveZeros(t, 150<<20, false) + "/big.bin /dl/" }},
		{name: "URL archive unpacked",
			add: func(t *testing.T) string {
				return "ADD --unpack=true " + serveBytes(t, zeroBomb(t, 300<<20)) + "/bomb.tar.gz /bomb/"
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := newRoot(t)
			files := map[string]string{}
			if c.files != nil {
				files = c.files(t)
			}
			files["Dockerfile"] = "FROM busybox\n" + c.add(t) + "\n"
			r := lade(t, root, addLimitEnv, "build", "-t", "out", writeTree(t, files))
			wantFail(t, r, want)
			if !errorLine(r.stderr, want) {
				t.Errorf("no ERROR line says %q:\n%s", want, r.stderr)
			}
			if n := allocated(t, root); n > 50<<20 {
				t.Errorf("root holds %d bytes after the refused ADD", n)
			}
			checkStore(t, root)
		})
	}
}

// TestAddSparseStaysSparse: a 200 MB sparse file ADDed from a tar takes
// its data blocks on disk, not 200 MB, in the stored snapshot.
func TestAddSparseStaysSparse(t *testing.T) {
	needLade(t)
	const size, at = 200 << 20, 150 << 20
	for _, format := range []string{"gnu", "posix"} {
		t.Run(format, func(t *testing.T) {
			root := newRoot(t)
			ctx := writeTree(t, map[string]string{
				"Dockerfile": "FROM busybox\nADD mid.tar /mid/\n",
				"mid.tar":    string(sparseTar(t, format, size, at)),
			})
			wantOK(t, lade(t, root, nil, "build", "-t", "out", ctx))
			files, err := filepath.Glob(filepath.Join(root, "snapshots", "layers", "*", "fs", "mid", "big.bin"))
			if err != nil || len(files) != 1 {
				t.Fatalf("snapshot file: %v %v", files, err)
			}
			f, err := os.Open(files[0])
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, _ := f.Stat()
			got := make([]byte, 6)
			if _, err := f.ReadAt(got, at); err != nil || string(got) != "marker" || fi.Size() != size {
				t.Fatalf("content: size %d, %q at %d, %v", fi.Size(), got, at, err)
			}
			if n := fi.Sys().(*syscall.Stat_t).Blocks * 512; n > 1<<20 {
				t.Errorf("%s takes %d bytes on disk, want its holes kept", files[0], n)
			}
			if n := allocated(t, root); n > 100<<20 {
				t.Errorf("root takes %d bytes on disk after a 200 MB sparse ADD", n)
			}
			checkStore(t, root)
		})
	}
}
