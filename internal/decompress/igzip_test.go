package decompress

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"math/rand"
	"os/exec"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// failingReader gives its bytes, then its error.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestOpenLayerIgzip: a layer's gzip goes through igzip, which must give
// the same bytes as Go's inflater for good streams (several members
// too) and fail on bad ones, a failure of the source being reported as
// itself.
func TestOpenLayerIgzip(t *testing.T) {
	if _, err := exec.LookPath("igzip"); err != nil {
		testutil.Unavailable(t, "igzip (Debian's isal) not installed")
	}
	if igzipPath() == "" {
		t.Skip("LADE_DISABLE_IGZIP is set")
	}
	plain := strings.Repeat("layer content ", 100000)
	member := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	whole := member(plain)
	errSource := errors.New("source broke")
	tests := []struct {
		name    string
		in      io.Reader
		want    string
		wantErr string
	}{
		{name: "one member", in: bytes.NewReader(whole), want: plain},
		{name: "two members", in: bytes.NewReader(append(member("a"), member("b")...)), want: "ab"},
		{name: "truncated", in: bytes.NewReader(whole[:len(whole)/2]), wantErr: "igzip"},
		{name: "corrupt", in: bytes.NewReader(append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, bytes.Repeat([]byte{0xff}, 4096)...)), wantErr: "igzip"},
		{name: "source fails", in: &failingReader{r: bytes.NewReader(whole[:1000]), err: errSource}, wantErr: errSource.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := OpenLayer(context.Background(), tt.in, Gzip)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := rc.(*cmdReader); !ok {
				t.Fatalf("OpenLayer gave %T, not igzip", rc)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(tt.want))
			}
		})
	}
}

// TestOpenLayerClose: closing before the end stops igzip and returns.
func TestOpenLayerClose(t *testing.T) {
	if _, err := exec.LookPath("igzip"); err != nil {
		testutil.Unavailable(t, "igzip (Debian's isal) not installed")
	}
	pr, pw := io.Pipe() // a source that never ends
	defer pw.Close()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	// Incompressible, and more than igzip reads before it inflates.
	io.CopyN(zw, rand.New(rand.NewSource(1)), 8<<20)
	zw.Flush()
	go pw.Write(b.Bytes())
	rc, err := OpenLayer(context.Background(), pr, Gzip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	rc.Close()
}
