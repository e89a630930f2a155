package attest

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"
)

// TestScanHostileFiles: files an image's author controls are read within
// bounds and a broken one is skipped, never an error or a panic.
func TestScanHostileFiles(t *testing.T) {
	nested := `{"dependencies":` + strings.Repeat(`{"a":{"version":"1","dependencies":`, 200) + "{}" + strings.Repeat("}}", 200) + "}"
	tests := []struct {
		name  string
		mode  uint32
		data  string
		count int
	}{
		{"var/lib/dpkg/status", 0o644, "\x00\xff\nPackage\n\n:::\n", 0},
		{"var/lib/dpkg/status", 0o644, "Package: a\nVersion: 1\n" + strings.Repeat(" x\n", 100000), 1},
		{"lib/apk/db/installed", 0o644, "P:\nV:\n\nP:a", 0},
		{"app/node_modules/x/package.json", 0o644, `{"name":`, 0},
		{"app/node_modules/x/package.json", 0o644, `{"name":"x","version":"1","license":[1]}`, 1},
		{"app/package-lock.json", 0o644, nested, 1},
		{"x.dist-info/METADATA", 0o644, "Name: a\n", 0},
		{"../../usr/bin/go-ish", 0o755, "\x7fELF\x02\x01\x01" + "\xff Go buildinf:" + strings.Repeat("\xff", 64), 0},
		{"usr/bin/tiny", 0o755, "\x7fEL", 0},
	}
	for _, tc := range tests {
		var s Scanner
		if err := s.Add(tc.name, fileMode(tc.mode), int64(len(tc.data)), bytes.NewReader([]byte(tc.data))); err != nil {
			t.Errorf("Add(%s) = %v, want the file skipped", tc.name, err)
		}
		if n := len(s.Packages()); n != tc.count {
			t.Errorf("Add(%s): %d packages, want %d", tc.name, n, tc.count)
		}
	}
	// A lockfile v1's nesting is followed 64 levels deep, no further.
	if n := len(parseNpmLock([]byte(nested), "/l")); n != 65 {
		t.Errorf("nested lockfile: %d entries, want 65", n)
	}
}

func fileMode(m uint32) fs.FileMode { return fs.FileMode(m) }
