package testutil

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// LayerBytes reads the whole uncompressed content of l.
func LayerBytes(t testing.TB, l v1.Layer) []byte {
	t.Helper()
	return ReadAll(t, l.Uncompressed)
}
