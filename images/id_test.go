package images

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// An image is found by its ID (config digest), whole or as a prefix, as
// build -q, --iidfile, import and inspect print it; List reports it.
func TestGetByImageID(t *testing.T) {
	ctx := context.Background()
	s, img := storeWith(t, "app", 1)
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	md, _ := img.Digest()
	for _, ref := range []string{id.String(), id.Hex, id.Hex[:12], "sha256:" + id.Hex[:12], md.Hex[:12]} {
		got, err := s.Get(ctx, ref)
		if err != nil {
			t.Fatalf("Get(%q): %v", ref, err)
		}
		if d, _ := got.Digest(); d != md {
			t.Errorf("Get(%q) = %s, want %s", ref, d, md)
		}
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != id || list[0].Digest != md {
		t.Fatalf("List = %+v, %v; want ID %s, digest %s", list, err, id, md)
	}

	// A second manifest of the same config (as force-compression makes:
	// here an OCI manifest of the same layers) is the same image ID: one of
	// the two is taken, never an ambiguity error.
	twin := mutate.MediaType(img, types.OCIManifestSchema1)
	td, err := twin.Digest()
	if err != nil || td == md {
		t.Fatalf("twin digest %s (%v) should differ from %s", td, err, md)
	}
	if tid, _ := twin.ConfigName(); tid != id {
		t.Fatalf("twin has config %s, want %s", tid, id)
	}
	if err := s.Tag(ctx, "app:oci", twin); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, id.Hex[:12])
	if err != nil {
		t.Fatalf("Get by a shared image ID: %v", err)
	}
	if d, _ := got.Digest(); d != md && d != td {
		t.Errorf("Get by shared ID = %s, want %s or %s", d, md, td)
	}
}

// Index files written before records kept the config digest still find
// images by ID.
func TestGetByImageIDOldIndex(t *testing.T) {
	ctx := context.Background()
	s, img := storeWith(t, "app", 1)
	b, err := os.ReadFile(s.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Refs   map[string]string         `json:"refs"`
		Images map[string]map[string]any `json:"images"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, rec := range raw.Images {
		delete(rec, "config")
	}
	b, _ = json.Marshal(raw)
	if strings.Contains(string(b), `"config"`) {
		t.Fatal("config still in the index")
	}
	if err := os.WriteFile(s.indexPath(), b, 0o644); err != nil {
		t.Fatal(err)
	}
	id, _ := img.ConfigName()
	if _, err := s.Get(ctx, id.Hex[:12]); err != nil {
		t.Fatalf("Get by ID with an old index: %v", err)
	}
}
