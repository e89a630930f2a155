package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
)

// BenchmarkWriteLayer stores a 100 MB layer: tar bytes in, pgzip, both
// digests and the fsynced blob out, in one pass. Half the input is random
// and half repeats, so it compresses about as well as typical files.
func BenchmarkWriteLayer(b *testing.B) {
	s := newStore(b)
	data := make([]byte, 100<<20)
	rand.Read(data[:50<<20])
	for i := 50 << 20; i < len(data); i++ {
		data[i] = byte(i % 251)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data[0]++ // a new blob each time
		if _, err := s.WriteLayer(context.Background(), bytes.NewReader(data), Gzip); err != nil {
			b.Fatal(err)
		}
	}
}
