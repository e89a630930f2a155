package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestServeSignaturePolicy: the API's pulls (docker pull, and docker
// build's base images) pass serve's signature policy as the CLI's do: an
// unsigned image is refused with the policy's reason and not stored, a
// signed one is pulled.
func TestServeSignaturePolicy(t *testing.T) {
	root := newRoot(t)
	host, signed, plain, policy := signedAndPlain(t, root, "api")
	sock, _ := startServeArgs(t, root, "--signature-policy", policy)
	bin := serveClients[0].bin
	requireClient(t, bin)
	refused := fmt.Sprintf("refused by signature policy for %q: no valid signature: image is not signed", host)
	if out, errOut, err := dockerTry(bin, sock, "pull", plain); err == nil || !strings.Contains(errOut, refused) {
		t.Errorf("docker pull of an unsigned image: %v %q %q, want %q", err, out, errOut, refused)
	}
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM " + plain + "\nRUN true\n"})
	if out, errOut, err := dockerTry(bin, sock, "build", dir); err == nil || !strings.Contains(out+errOut, refused) {
		t.Errorf("docker build from an unsigned base: %v %q %q, want %q", err, out, errOut, refused)
	}
	if r := lade(t, root, "", "images", "-q", plain); r.stdout != "" {
		t.Errorf("the refused image is stored: %q", r.stdout)
	}
	dockerCLI(t, bin, sock, "pull", signed)
}
