package fileop

import (
	"strings"
	"testing"
)

// FuzzMatcher: any .dockerignore text and path compile or fail cleanly,
// matching never panics, the root is never excluded, and a path's match
// does not depend on how it is spelled ("a/b", "/a/b", "./a/b/").
func FuzzMatcher(f *testing.F) {
	for _, s := range [][2]string{
		{"*\n!keep\n", "keep"},
		{"!../x\n../*\n", "../x"},
		{"a/../a/secret\n/../../*/x\n", "a/secret"},
		{"**/*.go\n!**/main.go\n", "cmd/lade/main.go"},
		{"[\n", "x"},
		{"#c\n\n  /a/b/  \n", "a/b/c"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, ignore, rel string) {
		m, err := NewMatcher(strings.Split(ignore, "\n"))
		if err != nil {
			return
		}
		if ex, _ := m.Excluded("", true); ex {
			t.Fatal("the context root is excluded")
		}
		a, errA := m.Excluded(rel, false)
		b, errB := m.Excluded("/"+rel, false)
		c, errC := m.Excluded("./"+rel+"/", true)
		if (errA == nil) != (errB == nil) || (errA == nil) != (errC == nil) {
			return // error paths may differ in text, not in outcome
		}
		if errA == nil && (a != b || a != c) {
			t.Fatalf("%q: %v, /: %v, ./ /: %v", rel, a, b, c)
		}
	})
}
