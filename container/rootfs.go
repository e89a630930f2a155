package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/du"
	"github.com/lade-build/lade/network"
	"github.com/lade-build/lade/snapshot"
)

// rootfsDirs are the overlay dirs of container id.
func (s *Store) rootfsDirs(id string) (upper, work, merged, empty string) {
	d := filepath.Join(s.Dir(id), "rootfs")
	return filepath.Join(d, "upper"), filepath.Join(d, "work"), filepath.Join(d, "merged"), filepath.Join(d, "empty")
}

// Rootfs returns the merged rootfs dir of c (mounted between MountRootfs
// and UnmountRootfs).
func (s *Store) Rootfs(id string) string {
	_, _, merged, _ := s.rootfsDirs(id)
	return merged
}

// MountRootfs mounts c's overlay unless it is mounted already.
func (s *Store) MountRootfs(c *Config) error {
	upper, work, merged, empty := s.rootfsDirs(c.ID)
	for _, d := range []string{upper, work, merged, empty} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("mounting rootfs: %w", err)
		}
	}
	if isMountpoint(merged) {
		return nil
	}
	lowers := c.Lowers
	if len(lowers) == 0 {
		lowers = []string{empty}
	}
	// The same mount as builds' snapshots, so upper stays a plain diff. A
	// --rm container's upper dir is thrown away with it: skip syncing it
	// on unmount (a few ms per run).
	o := snapshot.Overlay{Lowers: lowers, Upper: upper, Work: work, Volatile: c.AutoRemove}
	if err := snapshot.MountOverlay(merged, o); err != nil {
		return fmt.Errorf("mounting rootfs: %w", err)
	}
	return nil
}

// UnmountRootfs unmounts c's overlay, retrying while busy.
func (s *Store) UnmountRootfs(id string) error {
	_, _, merged, _ := s.rootfsDirs(id)
	var err error
	for i := range 20 {
		if !isMountpoint(merged) {
			return nil
		}
		err = unix.Unmount(merged, 0)
		if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(time.Duration(i+1) * 10 * time.Millisecond)
	}
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(merged, unix.MNT_DETACH)
	}
	if err != nil {
		return fmt.Errorf("unmounting rootfs %s: %w", merged, err)
	}
	return nil
}

// isMountpoint tells whether p is the root of a mount (its mount id
// differs from its parent's).
func isMountpoint(p string) bool {
	var a, b unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &a) != nil {
		return false
	}
	if unix.Statx(unix.AT_FDCWD, filepath.Dir(p), unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &b) != nil {
		return false
	}
	return a.Mnt_id != b.Mnt_id
}

// WriteEtc writes the hosts, hostname and resolv.conf files that are bind
// mounted into c, and returns the mounts. att is c's network attachment
// for this run, nil off bridge networks.
func (s *Store) WriteEtc(c *Config, att *network.Attachment) ([]Mount, error) {
	dir := filepath.Join(s.Dir(c.ID), "etc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("container etc files: %w", err)
	}
	resolv, err := s.resolv(c, att)
	if err != nil {
		return nil, err
	}
	hosts, err := s.hostsFile(c, att)
	if err != nil {
		return nil, err
	}
	files := []struct{ name, data string }{
		{"hosts", hosts},
		{"hostname", c.Hostname + "\n"},
		{"resolv.conf", resolv.Content},
	}
	var mounts []Mount
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(f.data), 0o644); err != nil {
			return nil, fmt.Errorf("container etc files: %w", err)
		}
		mounts = append(mounts, Mount{Type: "bind", Source: p, Target: "/etc/" + f.name, ReadOnly: c.ReadOnly})
	}
	return mounts, nil
}

// SizeRw is what container id's writable layer takes on disk.
func (s *Store) SizeRw(id string) int64 {
	upper, _, _, _ := s.rootfsDirs(id)
	n, _ := du.Size(upper)
	return n
}
