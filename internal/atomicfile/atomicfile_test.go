package atomicfile

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

func TestWrite(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name     string
		existing string // "" for none
		perm     os.FileMode
		sync     bool
		err      error
		want     string
		wantMode os.FileMode
	}{
		{name: "new", perm: 0o640, want: "new", wantMode: 0o640},
		{name: "replace", existing: "old", perm: 0o600, sync: true, want: "new", wantMode: 0o600},
		{name: "failed new", err: boom},
		{name: "failed replace", existing: "old", err: boom, want: "old", wantMode: 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "out.tar")
			if tc.existing != "" {
				if err := os.WriteFile(p, []byte(tc.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(p, Options{Perm: tc.perm, Sync: tc.sync}, func(w io.Writer) error {
				if _, err := io.WriteString(w, "new"); err != nil {
					return err
				}
				return tc.err
			})
			if !errors.Is(err, tc.err) {
				t.Fatalf("Write = %v, want %v", err, tc.err)
			}
			names := dirNames(t, dir)
			if tc.want == "" {
				if len(names) != 0 {
					t.Fatalf("dir holds %v, want nothing", names)
				}
				return
			}
			if !slices.Equal(names, []string{"out.tar"}) {
				t.Errorf("dir holds %v, want only out.tar", names)
			}
			got, err := os.ReadFile(p)
			if err != nil || string(got) != tc.want {
				t.Fatalf("content %q, %v; want %q", got, err, tc.want)
			}
			if fi, _ := os.Stat(p); fi.Mode().Perm() != tc.wantMode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.wantMode)
			}
		})
	}
}

// A temporary name of a writer that is gone is removed by the next Write
// into its directory; one of a live writer, and other files, stay.
func TestWriteSweepsDeadWriters(t *testing.T) {
	dir := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("no true(1): %v", err)
	}
	deadName := "." + "a.tar" + tmpInfix + strconv.Itoa(dead.Process.Pid) + "-0123456789ab"
	liveName := "." + "b.tar" + tmpInfix + strconv.Itoa(os.Getppid()) + "-0123456789ab"
	for _, n := range []string{deadName, liveName, ".c.tar.tmp-123", "keep"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Write(filepath.Join(dir, "a.tar"), Options{}, func(w io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{liveName, ".c.tar.tmp-123", "a.tar", "keep"}
	slices.Sort(want)
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("dir holds %v, want %v", got, want)
	}
}

func TestOwnerPid(t *testing.T) {
	for name, want := range map[string]int{
		tmpName("x.tar"):                  os.Getpid(),
		".x.tar.tmp-42-0123456789ab":      42,
		".x.tmp-1.tar.tmp-7-abcdefabcdef": 7,
		".x.tar.tmp-123456":               0, // os.CreateTemp's, no pid
		"x.tar.tmp-42-0123456789ab":       0,
		".x.tar.tmp-42-0123456789zz":      0,
		".x.tar.tmp--1-0123456789ab":      0,
	} {
		if got := ownerPid(name); got != want {
			t.Errorf("ownerPid(%q) = %d, want %d", name, got, want)
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
