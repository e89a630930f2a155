//go:build !linux

package binfmt

import (
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Package is what to install for emulation, on Debian and Ubuntu.
const Package = "qemu-user-static"

// Prepare fails for any platform but the host's: emulation needs Linux's
// binfmt_misc.
func Prepare(p v1.Platform) error {
	if Native(p) {
		return nil
	}
	return fmt.Errorf("platform %s cannot run on this %s/%s host", platformString(p), runtime.GOOS, runtime.GOARCH)
}

// Native reports whether p is the host's own platform.
func Native(p v1.Platform) bool { return p.OS == runtime.GOOS && p.Architecture == runtime.GOARCH }
