package container

import (
	"errors"
	"fmt"
	"time"
)

// WithRootfs runs fn with c's merged rootfs mounted, for cp, export and
// the like. A running container's own mount serves as it is; a stopped
// one is mounted for fn alone, under the supervisor lock, so a start
// cannot run the container on a mount about to go away.
func (s *Store) WithRootfs(c *Config, fn func(rootfs string) error) error {
	for range 50 { // a start or stop in progress settles within a few tries
		unlock, err := s.lockSupervisor(c.ID)
		var busy supervisedError
		if errors.As(err, &busy) {
			if isMountpoint(s.Rootfs(c.ID)) {
				return fn(s.Rootfs(c.ID))
			}
			time.Sleep(20 * time.Millisecond) // starting: not mounted yet
			continue
		}
		if err != nil {
			return err
		}
		defer unlock()
		mounted := isMountpoint(s.Rootfs(c.ID))
		if err := s.MountRootfs(c); err != nil {
			return err
		}
		err = fn(s.Rootfs(c.ID))
		if !mounted {
			if uerr := s.UnmountRootfs(c.ID); err == nil {
				err = uerr
			}
		}
		return err
	}
	return fmt.Errorf("container %s: its root filesystem is not mounted", c.ID[:12])
}

// Layers returns c's overlay upper dir (its changes) and the image's
// layer dirs below it, top-most first, for diff and commit.
func (s *Store) Layers(c *Config) (upper string, lowers []string) {
	upper, _, _, _ = s.rootfsDirs(c.ID)
	return upper, c.Lowers
}
