package holes

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// pieces reads b at most n bytes at a time, then fails with err (io.EOF
// when nil), as a tar reader may.
type pieces struct {
	b   []byte
	n   int
	err error
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.b) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		return 0, io.EOF
	}
	k := min(len(b), p.n, len(p.b))
	copy(b, p.b[:k])
	p.b = p.b[k:]
	return k, nil
}

var errTruncated = errors.New("truncated")

// TestWrite: zero blocks become holes, everything else is written, a
// trailing hole still gives the file its length, and a stream that fails
// is an error, not a short file.
func TestWrite(t *testing.T) {
	const size = 8 << 20
	data := make([]byte, size)
	copy(data[3<<20:], "middle")
	copy(data[Block-2:], "straddles a block edge")
	dense := bytes.Repeat([]byte("x"), 3*Block+5)
	tests := []struct {
		name      string
		data      []byte
		piece     int
		err       error
		maxBlocks int64 // allocated bytes at most
	}{
		{"sparse, trailing hole", data, 1000, nil, 1 << 20},
		{"sparse, big reads", data, 1 << 20, nil, 1 << 20},
		{"dense", dense, 7, nil, 1 << 20},
		{"empty", nil, 1, nil, 0},
		{"all zeros", make([]byte, size), 4096, nil, 0},
		{"truncated", data[:5000], 4096, errTruncated, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			n, err := Write(f, &pieces{b: tt.data, n: tt.piece, err: tt.err})
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || n != int64(len(tt.data)) {
				t.Fatalf("Write = %d, %v", n, err)
			}
			got, err := os.ReadFile(f.Name())
			if err != nil || !bytes.Equal(got, tt.data) {
				t.Fatalf("content differs (%d bytes, %v)", len(got), err)
			}
			var st unix.Stat_t
			if err := unix.Fstat(int(f.Fd()), &st); err != nil {
				t.Fatal(err)
			}
			if st.Blocks*512 > tt.maxBlocks {
				t.Errorf("%d bytes allocated, want at most %d", st.Blocks*512, tt.maxBlocks)
			}
		})
	}
}
