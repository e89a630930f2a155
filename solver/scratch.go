package solver

import (
	"os"
	"path/filepath"
)

// TmpDir is a builder's TmpDir (Builder.TmpDir) as garbage collection
// sees it.
type TmpDir string

// Scratch lists what builds left in the dir: everything but etc/, the
// RUN steps' /etc files that each build process writes once and keeps.
func (d TmpDir) Scratch() []string {
	ents, _ := os.ReadDir(string(d))
	var out []string
	for _, e := range ents {
		if e.Name() != "etc" {
			out = append(out, filepath.Join(string(d), e.Name()))
		}
	}
	return out
}
