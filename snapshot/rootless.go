package snapshot

import "github.com/lade-build/lade/internal/userns"

// opaqueXattr marks an overlay dir opaque. In a user namespace overlayfs
// is mounted with userxattr (Linux 5.11) and keeps its markers in
// user.overlay.*, since trusted.* belongs to the host's root there.
// Whiteouts are 0:0 character devices either way: creating one needs no
// privilege since Linux 5.8.
func opaqueXattr() string {
	if userns.Rootless() {
		return "user.overlay.opaque"
	}
	return "trusted.overlay.opaque"
}

// mountOptions are overlayOptions as the kernel takes them here: with
// userxattr it refuses redirect_dir=off (which still follows redirects)
// and wants nofollow, which creates none either.
func mountOptions() [][2]string {
	if !userns.Rootless() {
		return overlayOptions
	}
	opts := make([][2]string, 0, len(overlayOptions))
	for _, o := range overlayOptions {
		if o[0] == "redirect_dir" {
			o[1] = "nofollow"
		}
		opts = append(opts, o)
	}
	return opts
}

// rootlessHint says, after a refused overlay mount in a user namespace,
// what rootless overlayfs needs: build steps then copy their snapshots
// (copy.go), but a container's rootfs has no such fallback.
func rootlessHint() string {
	if !userns.Rootless() {
		return ""
	}
	return " (rootless overlayfs needs Linux 5.11 and --root on a filesystem it accepts as upper dir, such as ext4, xfs, btrfs or tmpfs: not overlayfs itself, so use a volume inside a container)"
}
