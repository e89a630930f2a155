package untar

import (
	"fmt"
	"os"
	"sync"

	"github.com/lade-build/lade/internal/userns"
)

var deviceWarning sync.Once

// SkipDevice reports whether the device node name (isDevice: a character
// or block device, not a fifo) is to be left out: in a user namespace
// (rootless) the kernel refuses mknod of devices, so, as podman and
// buildah do, lade skips them and warns once per command.
func SkipDevice(name string, isDevice bool) bool {
	if !isDevice || !userns.Rootless() {
		return false
	}
	deviceWarning.Do(func() {
		fmt.Fprintf(os.Stderr, "WARNING: rootless: device nodes cannot be created in a user namespace and are skipped (first: %s)\n", name)
	})
	return true
}
