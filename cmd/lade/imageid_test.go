package main

import (
	"strings"
	"testing"
)

// docker's habits work: the ID build -q prints runs, inspects and
// removes the image, and images -q prints the same ID.
func TestImageIDEverywhere(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nCMD [\"echo\", \"by-id\"]\n"})
	r := lade(t, root, "", "build", "-q", "-t", "idapp", dir)
	if r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, "sha256:") || len(id) != 71 {
		t.Fatalf("build -q printed %q", id)
	}
	short := strings.TrimPrefix(id, "sha256:")[:12]
	for _, ref := range []string{id, short} {
		if r := lade(t, root, "", "run", "--rm", ref); r.code != 0 || r.stdout != "by-id\n" {
			t.Errorf("run %s: %+v", ref, r)
		}
	}
	if r := lade(t, root, "", "inspect", "--format", "{{.Id}}", short); r.code == 0 && strings.TrimSpace(r.stdout) != id {
		t.Errorf("inspect %s Id = %q, want %s", short, r.stdout, id)
	}
	if r := lade(t, root, "", "inspect", short); r.code != 0 || !strings.Contains(r.stdout, `"Id": "`+id+`"`) {
		t.Errorf("inspect %s: %+v", short, r)
	}
	if r := lade(t, root, "", "images", "-q", "--filter", "reference=idapp"); strings.TrimSpace(r.stdout) != short {
		t.Errorf("images -q = %q, want %s", r.stdout, short)
	}
	if r := lade(t, root, "", "rmi", short); r.code != 0 {
		t.Fatalf("rmi %s: %+v", short, r)
	}
	if r := lade(t, root, "", "inspect", "idapp"); r.code == 0 {
		t.Error("idapp still there after rmi by ID")
	}
}
