package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// ladeStdinWithin is lade with stdin and a deadline: a command still running when it
// passes fails the test rather than hang it.
func ladeStdinWithin(t *testing.T, d time.Duration, root, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		code := Run(ctx, append([]string{"--root", root}, args...), strings.NewReader(stdin), &out, &errb)
		done <- result{code, out.String(), errb.String()}
	}()
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
		t.Fatalf("lade %v still runs after %v", args, d)
		return result{}
	}
}

// TestRunStdinEnds: a piped stdin's end closes the container's, so
// `echo x | lade run -i busybox cat` ends.
func TestRunStdinEnds(t *testing.T) {
	root := newRoot(t)
	tests := []struct {
		name, stdin string
		args        []string
		out         string
	}{
		{"cat", "x\ny\n", []string{"run", "--rm", "-i", "busybox", "cat"}, "x\ny\n"},
		{"empty", "", []string{"run", "--rm", "-i", "busybox", "cat"}, ""},
		{"wc", "a b\n", []string{"run", "--rm", "-i", "busybox", "wc", "-w"}, "2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ladeStdinWithin(t, time.Minute, root, tt.stdin, tt.args...)
			if r.code != 0 || r.stdout != tt.out {
				t.Errorf("lade %v = %q exit %d (%s), want %q", tt.args, r.stdout, r.code, r.stderr, tt.out)
			}
		})
	}
}
