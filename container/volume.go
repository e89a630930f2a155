package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/lade-build/lade/snapshot"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Volume is a named (or anonymous) volume under <root>/volumes/<name>.
type Volume struct {
	Name       string            `json:"Name"`
	Driver     string            `json:"Driver"`
	Mountpoint string            `json:"Mountpoint"`
	CreatedAt  time.Time         `json:"CreatedAt"`
	Labels     map[string]string `json:"Labels"`
	Anonymous  bool              `json:"Anonymous,omitempty"`
	// Seeded is set once the volume was first mounted, after which image
	// content is never copied in again (docker's behaviour).
	Seeded bool `json:"Seeded,omitempty"`
}

func (s *Store) volumesDir() string { return filepath.Join(s.root, "volumes") }

func (s *Store) volumeDir(name string) string { return filepath.Join(s.volumesDir(), name) }

// CreateVolume creates volume name, or returns the existing one; an empty
// name makes an anonymous volume with a random name.
func (s *Store) CreateVolume(name string, labels map[string]string) (*Volume, error) {
	anon := name == ""
	if anon {
		name = NewID()
	}
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("invalid volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	if err := os.MkdirAll(s.volumesDir(), 0o700); err != nil {
		return nil, fmt.Errorf("creating volume store: %w", err)
	}
	unlock, err := lockFile(filepath.Join(s.volumesDir(), ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if v, err := s.GetVolume(name); err == nil {
		return v, nil
	}
	v := &Volume{Name: name, Driver: "local", Mountpoint: filepath.Join(s.volumeDir(name), "_data"),
		CreatedAt: time.Now().UTC().Truncate(time.Second), Labels: labels, Anonymous: anon}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if err := os.MkdirAll(v.Mountpoint, 0o755); err != nil {
		return nil, fmt.Errorf("creating volume %s: %w", name, err)
	}
	if err := writeJSON(filepath.Join(s.volumeDir(name), "volume.json"), v, true); err != nil {
		return nil, err
	}
	s.volumeEvent(events.ActionCreate, name)
	return v, nil
}

// ErrVolumeNotFound is returned for an unknown volume.
var ErrVolumeNotFound = errors.New("no such volume")

// GetVolume returns volume name.
func (s *Store) GetVolume(name string) (*Volume, error) {
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("%w: %s", ErrVolumeNotFound, name)
	}
	var v Volume
	if err := readJSON(filepath.Join(s.volumeDir(name), "volume.json"), &v); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrVolumeNotFound, name)
		}
		return nil, err
	}
	return &v, nil
}

// ListVolumes returns all volumes sorted by name.
func (s *Store) ListVolumes() ([]*Volume, error) {
	entries, err := os.ReadDir(s.volumesDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing volumes: %w", err)
	}
	var out []*Volume
	for _, e := range entries {
		if v, err := s.GetVolume(e.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// VolumeUsers lists the containers that mount volume name.
func (s *Store) VolumeUsers(name string) ([]string, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var users []string
	for _, c := range all {
		for _, m := range c.Mounts {
			if m.Type == "volume" && m.Name == name {
				users = append(users, c.ID)
				break
			}
		}
	}
	return users, nil
}

// RemoveVolume deletes volume name unless a container uses it.
func (s *Store) RemoveVolume(name string) error {
	if _, err := s.GetVolume(name); err != nil {
		return err
	}
	users, err := s.VolumeUsers(name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("remove %s: volume is in use - [%s]", name, users[0])
	}
	if err := os.RemoveAll(s.volumeDir(name)); err != nil {
		return fmt.Errorf("removing volume %s: %w", name, err)
	}
	s.volumeEvent(events.ActionDestroy, name)
	return nil
}

// SeedVolume copies the image content at target (inside rootfs) into an
// empty volume the first time it is mounted, as docker does.
func (s *Store) SeedVolume(name, rootfs, target string) error {
	v, err := s.GetVolume(name)
	if err != nil {
		return err
	}
	if v.Seeded {
		return nil
	}
	entries, err := os.ReadDir(v.Mountpoint)
	if err != nil {
		return fmt.Errorf("seeding volume %s: %w", name, err)
	}
	if len(entries) == 0 {
		src, err := securejoin.SecureJoin(rootfs, target)
		if err != nil {
			return fmt.Errorf("seeding volume %s: %w", name, err)
		}
		if fi, err := os.Stat(src); err == nil && fi.IsDir() {
			if err := copyTree(src, v.Mountpoint); err != nil {
				return fmt.Errorf("seeding volume %s from %s: %w", name, target, err)
			}
		}
	}
	v.Seeded = true
	return writeJSON(filepath.Join(s.volumeDir(name), "volume.json"), v, true)
}

// copyTree copies dir src into the existing dir dst keeping modes, owners
// and symlinks; dst takes src's mode and owner too.
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		st, _ := fi.Sys().(*unix.Stat_t)
		switch {
		case fi.IsDir():
			if rel != "." {
				if err := os.Mkdir(out, 0o700); err != nil {
					return err
				}
			}
		case fi.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, out); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := snapshot.CopyFile(p, out); err != nil {
				return err
			}
		default:
			return nil // devices, fifos and sockets are not seeded
		}
		if st != nil {
			if err := os.Lchown(out, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return os.Chmod(out, fi.Mode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky))
		}
		return nil
	})
}
