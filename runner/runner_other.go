//go:build !linux

package runner

import (
	"context"
	"errors"
)

// Reexec reports false: containers only exist on Linux.
func Reexec() bool { return false }

// Run fails: containers need Linux namespaces.
func (r *Runner) Run(ctx context.Context, spec *Spec) (int, error) {
	return -1, errors.New("runner: containers are only supported on linux")
}
