package snapshot

import (
	"os"
	"path/filepath"

	"github.com/lade-build/lade/internal/owned"
)

// Every active snapshot holds an exclusive flock on its lock file for as
// long as its owner lives (see package owned), so an unlocked active dir
// is a leftover whose overlay may still be mounted on the host.

// lockNew creates and locks dir's lock file.
func lockNew(dir string) (*os.File, error) { return owned.Lock(dir) }

// removeStale unmounts and deletes the active snapshots whose owner is
// gone. Active dirs appear by rename with their lock already held, so a
// dir that can be locked here is never one being set up. Errors leave the
// dir for the next start.
func (s *Snapshotter) removeStale() {
	dir := filepath.Join(s.root, "active")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		release, ok := owned.Abandoned(p)
		if !ok {
			continue
		}
		if owned.UnmountAll(filepath.Join(p, "merged")) {
			os.RemoveAll(p)
		}
		release()
	}
}

// Scratch lists the unpack, commit and discard dirs under tmp/ and the
// active snapshots: each lives only while its process does.
func (s *Snapshotter) Scratch() []string {
	var out []string
	for _, d := range []string{"tmp", "active"} {
		ms, _ := filepath.Glob(filepath.Join(s.root, d, "*"))
		out = append(out, ms...)
	}
	return out
}
