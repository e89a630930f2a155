package solver

import (
	"fmt"
	"os"
	"strings"

	"github.com/lade-build/lade/internal/owned"
)

// Entitlements a build may be granted with Options.Allow (lade build --allow).
const (
	EntitlementSecurityInsecure = "security.insecure"
	EntitlementNetworkHost      = "network.host"
)

// ParseSecretFlag reads one `--secret` value, buildx style:
//
//	id=ID,src=FILE    the file's content (also source=, type=file)
//	id=ID,env=VAR     the environment variable VAR
//	id=ID             the environment variable ID, else a file named ID
//
// The value is read now so a missing file fails before anything is built.
func ParseSecretFlag(s string, lookupEnv func(string) (string, bool)) (id string, value []byte, err error) {
	var src, env, typ string
	for _, field := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return "", nil, fmt.Errorf("invalid secret %q: expected key=value", s)
		}
		switch strings.ToLower(k) {
		case "id":
			id = v
		case "src", "source":
			src = v
		case "env":
			env = v
		case "type":
			if v != "file" && v != "env" {
				return "", nil, fmt.Errorf("invalid secret %q: unsupported type %q", s, v)
			}
			typ = v
		default:
			return "", nil, fmt.Errorf("invalid secret %q: unexpected key %q", s, k)
		}
	}
	if id == "" {
		return "", nil, fmt.Errorf("invalid secret %q: id is required", s)
	}
	if src != "" && env != "" {
		return "", nil, fmt.Errorf("invalid secret %q: src and env are mutually exclusive", s)
	}
	if typ == "env" && env == "" {
		env, src = src, ""
		if env == "" {
			env = id
		}
	}
	if src == "" && env == "" {
		if _, ok := lookupEnv(id); ok && typ != "file" {
			env = id
		} else {
			src = id
		}
	}
	if env != "" {
		v, ok := lookupEnv(env)
		if !ok {
			return "", nil, fmt.Errorf("secret %s: environment variable %s is not set", id, env)
		}
		return id, []byte(v), nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", nil, fmt.Errorf("secret %s: %w", id, err)
	}
	return id, data, nil
}

// stepDirPrefix names the per-step dirs under the build's TmpDir that hold
// ssh agent sockets.
const stepDirPrefix = "run-"

// newStepDir makes the dir of one RUN step's ssh agent sockets, owned by
// this process (package owned). A socket is only a name: the agent behind
// it lives in lade's memory, so one left by a killed lade serves nothing,
// and RemoveStale deletes it at the next start. Secrets never come here:
// they are "file" mounts that exist only in the step's mount namespace.
func newStepDir(tmpDir string) (*owned.Dir, error) {
	d, err := owned.New(tmpDir, stepDirPrefix)
	if err != nil {
		return nil, fmt.Errorf("creating agent socket dir: %w", err)
	}
	return d, nil
}

// RemoveStale deletes what killed builds left under tmpDir: agent socket
// dirs and, from older versions of lade, secret tmpfs mounts. Dirs of
// live builds are left alone. Every lade command calls it at start.
func RemoveStale(tmpDir string) error {
	return owned.Sweep(tmpDir, stepDirPrefix)
}
