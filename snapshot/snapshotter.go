package snapshot

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/idle"
	"github.com/lade-build/lade/internal/untar"
)

// Snapshotter manages committed layer snapshots and active overlay
// snapshots under one root directory:
//
//	root/layers/<hex>/fs   committed snapshot (overlay lower-dir form)
//	root/active/<id>/      upper, work, merged (and empty) dirs
//	root/tmp/              in-progress unpacks and commits
//
// Everything lives on one filesystem so commits are atomic renames.
type Snapshotter struct {
	root string
	bg   sync.WaitGroup // background removals (see discard)
}

// New returns a Snapshotter storing everything under root, creating it.
func New(root string) (*Snapshotter, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("snapshot root %s: %w", root, err)
	}
	for _, d := range []string{abs, filepath.Join(abs, "layers"), filepath.Join(abs, "active"), filepath.Join(abs, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("creating snapshot root: %w", err)
		}
	}
	s := &Snapshotter{root: abs}
	spreadDirs(filepath.Join(abs, "tmp"))
	s.removeStale()
	return s, nil
}

// fsTopdirFL is FS_TOPDIR_FL (chattr +T), which x/sys/unix lacks.
const fsTopdirFL = 0x00020000

// spreadDirs marks dir, where every snapshot dir is made before being
// renamed into place, as a top of directory hierarchies. ext4's Orlov
// allocator then puts each new snapshot in a little used block group
// instead of next to the snapshots just deleted: right after a prune,
// ext4 (without a journal, as here) otherwise scans the recently freed
// inodes on every create, and a 10,000-file COPY took 2.5 s, not 0.7 s.
// Best-effort: other filesystems ignore or refuse the flag.
func spreadDirs(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	if err != nil || flags&fsTopdirFL != 0 {
		return
	}
	_ = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, flags|fsTopdirFL)
}

// layerDir returns the directory of a committed snapshot. The hash is
// validated because it becomes a path component.
func (s *Snapshotter) layerDir(diffID v1.Hash) (string, error) {
	if diffID.Algorithm != "sha256" || len(diffID.Hex) != 64 {
		return "", fmt.Errorf("invalid diffID %q", diffID.String())
	}
	for _, c := range diffID.Hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("invalid diffID %q", diffID.String())
		}
	}
	return filepath.Join(s.root, "layers", diffID.Hex), nil
}

// Has reports whether the committed snapshot diffID exists.
func (s *Snapshotter) Has(diffID v1.Hash) bool {
	p := s.Path(diffID)
	if p == "" {
		return false
	}
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

// Path returns the fs dir of the committed snapshot diffID (usable as an
// overlay lowerdir), or "" for an invalid digest. It does not check
// existence.
func (s *Snapshotter) Path(diffID v1.Hash) string {
	d, err := s.layerDir(diffID)
	if err != nil {
		return ""
	}
	return filepath.Join(d, "fs")
}

// Unpack extracts the uncompressed layer tar r into the committed snapshot
// diffID, verifying that the sha256 of the entire stream equals diffID.
// Nothing is committed on error. Concurrent callers are safe: the first
// rename wins and the others discard their work.
func (s *Snapshotter) Unpack(ctx context.Context, diffID v1.Hash, r io.Reader) error {
	x, err := s.Extract(ctx, diffID, r)
	if err != nil {
		return err
	}
	defer x.Discard()
	return x.Commit()
}

// Extracted is a layer unpacked under tmp/ and verified against its
// DiffID, not yet committed: Commit makes it the snapshot, Discard
// (always deferred) drops it. A pull commits the layer's blob between
// Extract and Commit, so a layer whose blob or tar is wrong leaves neither.
type Extracted struct {
	diffID   v1.Hash
	tmp, dst string // tmp "": the snapshot was already there
}

// Extract is Unpack up to the commit: it reads all of r into a temp dir
// and checks its digest is diffID. An existing snapshot diffID makes it
// only drain r.
func (s *Snapshotter) Extract(ctx context.Context, diffID v1.Hash, r io.Reader) (*Extracted, error) {
	dst, err := s.layerDir(diffID)
	if err != nil {
		return nil, fmt.Errorf("unpacking layer: %w", err)
	}
	if s.Has(diffID) {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, fmt.Errorf("unpacking layer %s: draining: %w", diffID, err)
		}
		return &Extracted{diffID: diffID}, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "unpack-")
	if err != nil {
		return nil, fmt.Errorf("unpacking layer %s: %w", diffID, err)
	}
	x := &Extracted{diffID: diffID, tmp: tmp, dst: dst}
	if err := x.fill(ctx, r); err != nil {
		x.Discard()
		return nil, fmt.Errorf("unpacking layer %s: %w", diffID, err)
	}
	return x, nil
}

// fill extracts r into x.tmp and checks the digest of all of r.
func (x *Extracted) fill(ctx context.Context, r io.Reader) error {
	fs := filepath.Join(x.tmp, "fs")
	if err := untar.MkdirRoot(fs); err != nil {
		return err
	}
	h := sha256.New()
	tee := io.TeeReader(r, h)
	if err := extract(ctx, fs, tee, modeOverlay); err != nil {
		// A corrupt blob usually breaks the tar before its reader can
		// check the digest at EOF; draining lets it name the real cause.
		if ctx.Err() == nil {
			if _, derr := io.Copy(io.Discard, tee); derr != nil {
				err = derr
			}
		}
		return err
	}
	// The digest covers everything, including padding after the end marker.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return err
	}
	got := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
	if got != x.diffID {
		return fmt.Errorf("digest mismatch: got %s", got)
	}
	return ctx.Err()
}

// Commit renames the extracted layer into place; a snapshot another
// process committed first wins, and this one is discarded.
func (x *Extracted) Commit() error {
	if x.tmp == "" {
		return nil
	}
	won, err := renameNoReplace(x.tmp, x.dst)
	if err != nil {
		return fmt.Errorf("unpacking layer %s: committing: %w", x.diffID, err)
	}
	if won {
		x.tmp = ""
	}
	return nil
}

// Discard removes the extracted layer unless Commit moved it into place.
func (x *Extracted) Discard() {
	if x.tmp != "" {
		os.RemoveAll(x.tmp)
		x.tmp = ""
	}
}

// renameNoReplace renames src to dst unless dst exists. It reports whether
// this call created dst.
func renameNoReplace(src, dst string) (bool, error) {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// No RENAME_NOREPLACE: a plain rename of a dir still fails when
		// dst is a non-empty dir, and committed dirs always hold fs/.
		err = unix.Rename(src, dst)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY):
		return false, nil
	default:
		return false, &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
	}
}

// Lowers returns the overlay lower dirs of a chain of committed
// snapshots given bottom layer first, as in image layer order: top-most
// first, each dir once (see MountOverlay).
func (s *Snapshotter) Lowers(chain []v1.Hash) ([]string, error) {
	lowers := make([]string, 0, len(chain))
	for i := len(chain) - 1; i >= 0; i-- {
		if !s.Has(chain[i]) {
			return nil, fmt.Errorf("layer %s is not unpacked", chain[i])
		}
		lowers = append(lowers, s.Path(chain[i]))
	}
	return uniqueLowers(lowers), nil
}

// Prepare creates an active snapshot with fresh upper and work dirs over
// parents, given bottom layer first as in image layer order.
func (s *Snapshotter) Prepare(ctx context.Context, parents []v1.Hash) (*Active, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lowers, err := s.Lowers(parents)
	if err != nil {
		return nil, fmt.Errorf("preparing snapshot: %w", err)
	}
	// Built in tmp and renamed into active with its lock held, so
	// removeStale never sees a half-made one.
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "a-")
	if err != nil {
		return nil, fmt.Errorf("preparing snapshot: %w", err)
	}
	lock, err := lockNew(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("preparing snapshot: %w", err)
	}
	for _, d := range []string{"upper", "work", "merged", "empty"} {
		if err := untar.MkdirRoot(filepath.Join(tmp, d)); err != nil {
			lock.Close()
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("preparing snapshot: %w", err)
		}
	}
	dir := filepath.Join(s.root, "active", filepath.Base(tmp))
	if err := os.Rename(tmp, dir); err != nil {
		lock.Close()
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("preparing snapshot: %w", err)
	}
	return &Active{
		Upper:  filepath.Join(dir, "upper"),
		Work:   filepath.Join(dir, "work"),
		Merged: filepath.Join(dir, "merged"),
		Lowers: lowers,
		dir:    dir,
		lock:   lock,
	}, nil
}

// Commit stores a's upper dir as the committed snapshot diffID (unmounting
// a first if needed). If diffID already exists, a's upper is discarded. All
// of a's dirs are removed either way.
func (s *Snapshotter) Commit(ctx context.Context, a *Active, diffID v1.Hash) error {
	dst, err := s.layerDir(diffID)
	if err != nil {
		return fmt.Errorf("committing snapshot: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("committing snapshot %s: %w", diffID, err)
	}
	if err := a.Unmount(); err != nil {
		return fmt.Errorf("committing snapshot %s: %w", diffID, err)
	}
	a.mu.Lock()
	removed := a.removed
	a.mu.Unlock()
	if removed {
		return fmt.Errorf("committing snapshot %s: active snapshot was removed", diffID)
	}
	if s.Has(diffID) {
		return s.discard(a)
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "commit-")
	if err != nil {
		return fmt.Errorf("committing snapshot %s: %w", diffID, err)
	}
	if err := os.Rename(a.Upper, filepath.Join(tmp, "fs")); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("committing snapshot %s: %w", diffID, err)
	}
	won, err := renameNoReplace(tmp, dst)
	if !won {
		os.RemoveAll(tmp)
	}
	if err != nil {
		return fmt.Errorf("committing snapshot %s: %w", diffID, err)
	}
	if err := s.Remove(a); err != nil {
		return fmt.Errorf("committing snapshot %s: %w", diffID, err)
	}
	return nil
}

// discard removes an unmounted active snapshot whose upper duplicates a
// committed one, off the caller's path: the upper of a rebuilt COPY can
// hold a whole context, and unlinking 10,000 files takes most of a second
// on a disk mounted with discard. It is renamed out of active/ at once;
// Wait finishes the deletion.
func (s *Snapshotter) discard(a *Active) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.removed {
		return nil
	}
	trash, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "discard-")
	if err != nil {
		return fmt.Errorf("removing snapshot: %w", err)
	}
	if err := os.Rename(a.dir, filepath.Join(trash, "active")); err != nil {
		os.Remove(trash)
		return fmt.Errorf("removing snapshot %s: %w", a.dir, err)
	}
	if a.lock != nil {
		a.lock.Close()
		a.lock = nil
	}
	a.removed = true
	// At idle priority: the build's next steps run meanwhile.
	// A failure leaves scratch that cache GC removes once stale.
	idle.Go(&s.bg, func() { _ = os.RemoveAll(trash) })
	return nil
}

// Wait returns once the snapshots discarded by Commit are deleted, and
// sweeps again the active snapshots whose owner is gone: a process killed
// while this one started may have left its overlay after New's sweep.
// Call it before the process exits.
func (s *Snapshotter) Wait() {
	s.bg.Wait()
	s.removeStale()
}

// Remove unmounts a if mounted and deletes all of its dirs. It is safe to
// call more than once, including after Commit.
func (s *Snapshotter) Remove(a *Active) error {
	if err := a.unmount(false); err != nil {
		return fmt.Errorf("removing snapshot: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := os.RemoveAll(a.dir); err != nil {
		return fmt.Errorf("removing snapshot %s: %w", a.dir, err)
	}
	if a.lock != nil {
		a.lock.Close()
		a.lock = nil
	}
	a.removed = true
	return nil
}
