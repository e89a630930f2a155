// Package signature signs and verifies images the way cosign does with a
// key, and evaluates containers-policy.json signature policies.
//
// Layout (cosign's, so either tool reads the other's signatures): the
// signature of the manifest sha256:<hex> lives in the same repository under
// the tag sha256-<hex>.sig, an OCI image whose every layer is one
// simple-signing payload (media type SimpleSigningMediaType) naming the
// repository and the manifest digest, with the base64 signature over the
// payload's exact bytes in the layer annotation SignatureAnnotation.
// Signing appends a layer to that image, or starts it.
//
// Keys: cosign's encrypted private keys (scrypt + nacl/secretbox, PEM type
// ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY) and plain PEM EC, ed25519 and RSA
// keys, through sigstore's own cryptoutils and signature packages. Only
// key-based signatures are checked: no transparency log, no certificates
// (cosign's --insecure-ignore-tlog).
//
// Policy: Load reads a containers-policy.json; Policy.Check picks the most
// specific docker-transport scope for a reference and requires all of its
// requirements (insecureAcceptAnything, reject, sigstoreSigned) to accept
// the manifest digest before the image is stored.
package signature
