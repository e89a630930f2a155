package decompress

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestReader(t *testing.T) {
	const plain = "plain content, long enough to sniff"
	gz := func() []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(plain))
		zw.Close()
		return b.Bytes()
	}
	zs := func() []byte {
		zw, _ := zstd.NewWriter(nil)
		defer zw.Close()
		return zw.EncodeAll([]byte(plain), nil)
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr string // from Reader or from reading
	}{
		{name: "plain", in: []byte(plain)},
		{name: "gzip", in: gz()},
		{name: "zstd", in: zs()},
		{name: "empty", wantErr: ErrEmpty.Error()},
		{name: "broken gzip", in: []byte{0x1f, 0x8b, 0, 0}, wantErr: "gzip"},
		{name: "broken xz", in: []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2, 3}, wantErr: "xz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.name, "xz") {
				if _, err := exec.LookPath("xz"); err != nil {
					t.Skip("xz not installed")
				}
			}
			rc, err := Reader(context.Background(), bytes.NewReader(tt.in))
			var got []byte
			if err == nil {
				got, err = io.ReadAll(rc)
				rc.Close()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if tt.name == "empty" && !errors.Is(err, ErrEmpty) {
					t.Fatalf("err = %v, want ErrEmpty", err)
				}
				return
			}
			if err != nil || string(got) != plain {
				t.Fatalf("read %q, %v; want %q", got, err, plain)
			}
		})
	}
}
