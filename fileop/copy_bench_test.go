package fileop

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchContext makes bench/build.sh's case 2 context: 10,000 files of
// 10 KiB of random bytes in 100 directories (100 MB).
func benchContext(b *testing.B) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	buf := make([]byte, 10<<10)
	for d := 0; d < 100; d++ {
		if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("d%d", d)), 0o755); err != nil {
			b.Fatal(err)
		}
		for f := 0; f < 100; f++ {
			rand.Read(buf)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("d%d/f%d", d, f)), buf, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	return dir, 10000 * int64(len(buf))
}

// BenchmarkCopyContext is `COPY . /src` of that context into an empty
// rootfs: the file-writing half of a big COPY step (the other half, the
// layer tar, is snapshot.BenchmarkDiff and cache.BenchmarkWriteLayer).
// Copies are deleted only at the end: on an ext4 without a journal,
// creating inodes right after deleting many is several times slower.
func BenchmarkCopyContext(b *testing.B) {
	src, size := benchContext(b)
	work := b.TempDir()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst := filepath.Join(work, fmt.Sprint(i))
		if err := os.Mkdir(dst, 0o755); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		err := Copy(context.Background(), CopyOptions{Src: Source{Root: src}, Paths: []string{"."}, DestRoot: dst, Dest: "/src"})
		if err != nil {
			b.Fatal(err)
		}
	}
}
