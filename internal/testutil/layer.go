package testutil

import (
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// LayerBytes reads the whole uncompressed content of l, failing t on any
// error (a digest mismatch included).
func LayerBytes(t testing.TB, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
