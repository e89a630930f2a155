package solver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
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

// stepDir is a private tmpfs on the host, mounted under the build's TmpDir
// for one RUN step: secrets and agent sockets live there, so they never
// touch a disk, and it is unmounted and removed when the step ends.
type stepDir struct {
	path    string
	mounted bool
}

func newStepDir(tmpDir string) (*stepDir, error) {
	p, err := os.MkdirTemp(tmpDir, "run-")
	if err != nil {
		return nil, fmt.Errorf("creating secret dir: %w", err)
	}
	d := &stepDir{path: p}
	if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,size=16m"); err != nil {
		os.Remove(p)
		return nil, fmt.Errorf("mounting secret tmpfs: %w", err)
	}
	d.mounted = true
	return d, nil
}

// writeFile stores data as name with the mode and owner the mount asks for.
func (d *stepDir) writeFile(name string, data []byte, mode os.FileMode, uid, gid int) (string, error) {
	p := filepath.Join(d.path, name)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chown(p, uid, gid)
	}
	if err == nil {
		err = os.Chmod(p, mode)
	}
	return p, err
}

func (d *stepDir) close() error {
	var errs []error
	if d.mounted {
		if err := unix.Unmount(d.path, unix.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmounting secret tmpfs: %w", err))
		}
		d.mounted = false
	}
	if err := os.RemoveAll(d.path); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
