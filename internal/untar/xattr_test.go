package untar

import "testing"

func TestSafeXattr(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"user.mime_type", true},
		{"security.capability", true},
		{"trusted.overlay.opaque", false},
		{"trusted.overlay.redirect", false},
		// Overlayfs's markers where it runs with userxattr (rootless).
		{"user.overlay.opaque", false},
		{"user.overlay.whiteout", false},
		{"user.overlayish", true},
		{"security.selinux", false},
	}
	for _, tt := range tests {
		if got := SafeXattr(tt.name); got != tt.want {
			t.Errorf("SafeXattr(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
