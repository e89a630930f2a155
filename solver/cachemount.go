package solver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/fileop"
	"github.com/lade-build/lade/internal/flock"
	"github.com/lade-build/lade/runner"
)

// cacheMountRoot is where type=cache mounts persist: Builder.CacheMounts,
// else <root>/cachemounts beside the build's TmpDir (<root>/tmp).
func (bd *build) cacheMountRoot() string {
	if bd.b.CacheMounts != "" {
		return bd.b.CacheMounts
	}
	return filepath.Join(filepath.Dir(filepath.Clean(bd.b.TmpDir)), "cachemounts")
}

// cacheMount binds the persistent directory of a cache id. Each id lives in
// <cachemounts>/<sha256 of id>, so no id can name a path of its own. A lock
// file implements sharing: shared users hold it shared, locked users
// exclusively (so they queue), and a private user that cannot get it
// exclusively right away gets a fresh scratch directory instead.
func (sc *stageCtx) cacheMount(ctx context.Context, s *stepMounts, p plannedMount) error {
	m := p.m
	sum := sha256.Sum256([]byte(p.id))
	dir := filepath.Join(sc.bd.cacheMountRoot(), hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating cache dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("opening cache lock: %w", err)
	}
	s.addCleanup(lock.Close) // closing drops the flock
	data := filepath.Join(dir, "data")
	switch m.CacheSharing {
	case instructions.MountSharingLocked:
		err = flock.Wait(ctx, lock, unix.LOCK_EX, nil)
	case instructions.MountSharingPrivate:
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) {
			data, err = os.MkdirTemp(dir, "private-")
			if err == nil {
				scratch := data
				s.addCleanup(func() error { return os.RemoveAll(scratch) })
				err = os.Remove(data) // initCache creates it
			}
		}
	default:
		err = flock.Wait(ctx, lock, unix.LOCK_SH, nil)
	}
	if err != nil {
		return fmt.Errorf("locking cache %s: %w", p.id, err)
	}
	if err := sc.initCache(ctx, s, dir, data, p); err != nil {
		return err
	}
	sc.bd.mu.Lock()
	if sc.bd.cacheMountsUsed == nil {
		sc.bd.cacheMountsUsed = map[string]bool{}
	}
	sc.bd.cacheMountsUsed[p.id] = true
	sc.bd.mu.Unlock()
	opts := []string{"rw"}
	if m.ReadOnly {
		opts = []string{"ro"}
	}
	s.mounts = append(s.mounts, runner.Mount{Type: "bind", Source: data, Target: p.target, Options: opts})
	return nil
}

// initCache creates a cache's directory the first time: empty with the
// mount's mode and owner (0755 0:0 by default), or seeded from from=/source=.
// It is built aside and renamed into place, so concurrent shared users
// never see a half-made one.
func (sc *stageCtx) initCache(ctx context.Context, s *stepMounts, dir, data string, p plannedMount) error {
	if _, err := os.Lstat(data); err == nil {
		return nil
	}
	m := p.m
	tmp, err := os.MkdirTemp(dir, "init-")
	if err != nil {
		return fmt.Errorf("creating cache dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	if m.From != "" || m.Source != "" {
		root, err := sc.sourceRoot(ctx, s, m.From, p.target)
		if err != nil {
			return err
		}
		src := fileop.Source{Root: root, KeepOwner: true}
		if root == "" {
			src = fileop.Source{Root: sc.bd.o.ContextDir, Ignore: sc.bd.ignore}
		}
		if _, err := inRoot(src.Root, m.Source); err != nil {
			return err
		}
		err = fileop.Copy(ctx, fileop.CopyOptions{Src: src, Paths: []string{path.Join("/", m.Source)}, DestRoot: tmp, Dest: "/"})
		if err != nil {
			return fmt.Errorf("seeding cache: %w", err)
		}
	}
	if m.From == "" && m.Source == "" || m.Mode != nil || m.UID != nil || m.GID != nil {
		mode, uid, gid := fileMode(m, 0o755)
		if err := os.Chown(tmp, uid, gid); err != nil {
			return err
		}
		if err := os.Chmod(tmp, mode); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, data); err != nil {
		if _, serr := os.Lstat(data); serr == nil {
			return nil // a concurrent user made it first
		}
		return fmt.Errorf("creating cache dir: %w", err)
	}
	return nil
}

// CacheMountDir is the directory that persists cache mount id under root
// (lade's --root): its data/ subdirectory is what steps see, its lock file
// serialises users.
func CacheMountDir(root, id string) string {
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(root, "cachemounts", hex.EncodeToString(sum[:]))
}
