package container

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFreezerV1: on a host without cgroup v2, pause uses the v1 freezer
// hierarchy's freezer.state (here a stand-in directory).
func TestFreezerV1(t *testing.T) {
	old := cgroupRoot
	defer func() { cgroupRoot = old }()
	cgroupRoot = t.TempDir()
	id := NewID()
	if _, err := findFreezer(id); err == nil {
		t.Fatal("found a freezer where there is none")
	}
	dir := filepath.Join(cgroupRoot, "freezer", "lade", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "freezer.state")
	if err := os.WriteFile(state, []byte("THAWED\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := findFreezer(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		frozen bool
		want   string
	}{{true, "FROZEN"}, {false, "THAWED"}} {
		if err := f.set(tc.frozen); err != nil {
			t.Fatalf("set(%v): %v", tc.frozen, err)
		}
		if data, _ := os.ReadFile(state); string(data) != tc.want {
			t.Errorf("set(%v) wrote %q, want %q", tc.frozen, data, tc.want)
		}
	}
	if err := os.WriteFile(state, []byte("FREEZING\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f.is(true) || f.is(false) {
		t.Error("FREEZING read as frozen or thawed")
	}
}
