// Package rawimage makes a v1.Image of a manifest and config lade wrote
// itself (an attestation manifest, a remote build cache) and the layers
// they name, served as they are so that the digests never change.
package rawimage
