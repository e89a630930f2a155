package images

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is how lade spells Docker Hub in stored names; go-containerregistry
// says index.docker.io, docker says docker.io.
const dockerHub = "docker.io"

// normalize turns a user-supplied name into the canonical form the index
// keys on: "app" -> "docker.io/library/app:latest".
func normalize(ref string) (string, error) {
	t, err := ParseTag(ref)
	if err != nil {
		return "", err
	}
	return canonicalRepo(t.Context()) + ":" + t.TagStr(), nil
}

func canonicalRepo(r name.Repository) string {
	reg := r.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	return reg + "/" + r.RepositoryStr()
}

// familiar shortens a canonical name the way docker prints it:
// "docker.io/library/app:latest" -> "app:latest".
func familiar(canonical string) string {
	s, ok := strings.CutPrefix(canonical, dockerHub+"/")
	if !ok {
		return canonical
	}
	if rest, ok := strings.CutPrefix(s, "library/"); ok && !strings.Contains(repoPart(rest), "/") {
		return rest
	}
	return s
}

// repoPart drops the ":tag" from a name without a registry port.
func repoPart(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[:i]
	}
	return s
}

// isHexPrefix reports whether s could be (part of) a hex digest.
func isHexPrefix(s string) bool {
	return s != "" && len(s) <= 64 && strings.Trim(s, "0123456789abcdef") == ""
}
