package main

import (
	"io"
	"strings"
	"testing"
)

// The namespaces' members (docker's `container run` and the like) are
// built only for a command line that goes through a namespace or names
// no command; the others get the top-level commands alone.
func TestNeedsNamespaces(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--root", "/r", "run", "--rm", "img", "true"}, false},
		{[]string{"run", "--rm", "img", "container", "run"}, false},
		{[]string{"ps", "-a"}, false},
		{[]string{"container", "ls"}, true},
		{[]string{"--root=/r", "image", "rm", "x"}, true},
		{[]string{"volume", "ls"}, true},
		{[]string{"builder", "prune"}, true},
		{[]string{"--help"}, true},
		{[]string{}, true},
		{[]string{"help", "run"}, true},
		{[]string{"completion", "bash"}, true},
		{[]string{"nosuch"}, true},
	} {
		a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
		root := a.rootCmd(tc.args)
		got := subcommand(subcommand(root, "container"), "run") != nil
		if got != tc.want {
			t.Errorf("lade %s: container run built: %v, want %v", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}
