package testutil

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ImageDigest is img's manifest digest.
func ImageDigest(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ImageID is img's config digest, the ID docker and lade print.
func ImageID(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
