package du

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSize(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = byte(i) // not zeros, so the filesystem allocates blocks
	}
	one := filepath.Join(dir, "one")
	if err := os.WriteFile(one, data, 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := Size(one)
	if err != nil || file < int64(len(data)) {
		t.Fatalf("Size(file) = %d, %v; want at least %d", file, err, len(data))
	}
	tree := filepath.Join(dir, "tree")
	if err := os.Mkdir(tree, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} { // two names of one inode
		if err := os.Link(one, filepath.Join(tree, n)); err != nil {
			t.Fatal(err)
		}
	}
	dirOnly, _ := Size(t.TempDir())
	tests := []struct {
		name string
		path string
		want int64
	}{
		{"hard links count once", tree, file + dirOnly},
		{"missing", filepath.Join(dir, "missing"), 0},
	}
	for _, tt := range tests {
		if got, err := Size(tt.path); err != nil || got != tt.want {
			t.Errorf("%s: Size = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}
