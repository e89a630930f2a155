package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestIngestTail: a Tail reader sees every byte written, in order, while
// the writer is still writing, then the writer's error (EOF when none);
// Commit stores the blob only when digest and size match.
func TestIngestTail(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<14) // 256 KiB
	good := v1.Hash{Algorithm: "sha256", Hex: sha(data)}
	broken := errors.New("connection reset")
	tests := []struct {
		name     string
		want     v1.Hash
		size     int64
		werr     error
		tailErr  error
		commitOK bool
	}{
		{"whole", good, int64(len(data)), nil, nil, true},
		{"wrong digest", v1.Hash{Algorithm: "sha256", Hex: sha([]byte("x"))}, int64(len(data)), nil, nil, false},
		{"wrong size", good, int64(len(data)) + 1, nil, nil, false},
		{"writer failed", good, int64(len(data)), broken, broken, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			ing, err := s.NewIngest(tt.want, tt.size)
			if err != nil {
				t.Fatal(err)
			}
			defer ing.Discard()
			go func() {
				for off := 0; off < len(data); off += 1000 {
					ing.Write(data[off:min(off+1000, len(data))])
				}
				ing.CloseWrite(tt.werr)
			}()
			got, err := io.ReadAll(ing.Tail())
			if !bytes.Equal(got, data) {
				t.Errorf("tail read %d bytes, want the %d written", len(got), len(data))
			}
			if !errors.Is(err, tt.tailErr) {
				t.Errorf("tail error %v, want %v", err, tt.tailErr)
			}
			_, _, err = ing.Commit()
			if (err == nil) != tt.commitOK || s.Has(tt.want) != tt.commitOK {
				t.Errorf("commit: %v, stored %v, want stored %v", err, s.Has(tt.want), tt.commitOK)
			}
		})
	}
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
