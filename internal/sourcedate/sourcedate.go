// Package sourcedate finds the SOURCE_DATE_EPOCH a reproducible build
// uses when none is given: the time of the build context's git commit,
// which is the same on every checkout of that commit.
package sourcedate

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// FromGit returns the committer time of HEAD in the git checkout holding
// dir (clean or not). It fails when dir is in no checkout, git is
// missing, or git refuses the repository (safe.directory: lade does not
// override that check, which keeps another user's repository config from
// running commands as the builder).
func FromGit(ctx context.Context, dir string) (time.Time, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return time.Time{}, fmt.Errorf("git log in %s: %w", dir, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("git log in %s: commit time %q: %w", dir, out, err)
	}
	return time.Unix(n, 0).UTC(), nil
}
