package testutil

import (
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// ImageDigest is img's manifest digest.
func ImageDigest(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	return hashOf(t, img.Digest)
}

// ImageID is img's config digest, the ID docker and lade print.
func ImageID(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	return hashOf(t, img.ConfigName)
}

func hashOf(t testing.TB, f func() (v1.Hash, error)) v1.Hash {
	t.Helper()
	h, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// ReadAll reads and closes what open returns, a layer's Compressed or
// Uncompressed, say.
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

// EditConfig is img with edit applied to a copy of its config file.
func EditConfig(t testing.TB, img v1.Image, edit func(*v1.ConfigFile)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	edit(cf)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
