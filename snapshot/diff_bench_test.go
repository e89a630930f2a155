package snapshot

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDiff walks an upper dir of 10,000 files / 100 MB into a tar,
// the uncompressed half of turning a big COPY into a layer.
func BenchmarkDiff(b *testing.B) {
	dir := b.TempDir()
	buf := make([]byte, 10<<10)
	rand.Read(buf)
	for i := 0; i < 10000; i++ {
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i%100), fmt.Sprintf("f%05d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(10000 * int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Diff(context.Background(), dir, nil, io.Discard, DiffOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
