package snapshot

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// TestUnpackKeepsHoles: a layer's runs of zeros (a sparse file ADDed in
// a build, stored as plain zeros in the layer tar) take no disk space when
// the layer is unpacked again.
func TestUnpackKeepsHoles(t *testing.T) {
	testutil.RequireRoot(t) // unpacking chowns
	const size = 64 << 20
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: size})
		io.CopyN(tw, zeros{}, size-4)
		io.WriteString(tw, "tail")
		pw.CloseWithError(tw.Close())
	}()
	root := t.TempDir()
	if err := Apply(context.Background(), root, pr); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "big")
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != size || st.Blocks*512 > 1<<20 {
		t.Errorf("size %d, %d bytes allocated; want %d bytes in about one block", st.Size, st.Blocks*512, size)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tail := make([]byte, 4)
	if _, err := f.ReadAt(tail, size-4); err != nil || string(tail) != "tail" {
		t.Errorf("tail %q %v", tail, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
