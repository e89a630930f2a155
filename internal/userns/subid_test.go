package userns

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSubRange(t *testing.T) {
	file := filepath.Join(t.TempDir(), "subuid")
	data := "other:200000:65536\n# comment\nbad line\n1234:300000:10\nalice:x:1\nalice:100000:0\nalice:100000:65536\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   int
		want Range
		ok   bool
	}{
		{"alice", 1000, Range{100000, 65536}, true}, // malformed and empty ranges skipped
		{"bob", 1234, Range{300000, 10}, true},      // by numeric id
		{"other", 5, Range{200000, 65536}, true},
		{"nobody", 99, Range{}, false},
	}
	for _, tt := range tests {
		got, ok := subRange(file, tt.name, tt.id)
		if got != tt.want || ok != tt.ok {
			t.Errorf("subRange(%q, %d) = %v, %v, want %v, %v", tt.name, tt.id, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := subRange(filepath.Join(t.TempDir(), "missing"), "alice", 1); ok {
		t.Error("subRange of a missing file found a range")
	}
}

func TestWithStage(t *testing.T) {
	got := withStage([]string{"A=1", envStage + "=hold", "B=2"}, stageInside)
	want := []string{"A=1", "B=2", envStage + "=" + stageInside}
	if len(got) != len(want) {
		t.Fatalf("withStage = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("withStage = %q, want %q", got, want)
		}
	}
}
