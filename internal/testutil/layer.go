package testutil

import (
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ReadAll reads what open returns to the end and closes it, failing t on
// any error (a digest mismatch at EOF included).
func ReadAll(t testing.TB, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
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

// LayerBytes reads the whole uncompressed content of l.
func LayerBytes(t testing.TB, l v1.Layer) []byte {
	t.Helper()
	return ReadAll(t, l.Uncompressed)
}
