package engine

import (
	"strings"
	"testing"
	"time"

	itypes "github.com/moby/moby/api/types/image"
)

func TestFilterSummaries(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	all := []itypes.Summary{
		{ID: "sha256:cccc", RepoTags: []string{"new:1"}, Created: t0 + 200, Labels: map[string]string{"a": "1"}},
		{ID: "sha256:bbbb", RepoTags: []string{"mid:latest"}, Created: t0 + 100, Labels: map[string]string{"a": "2", "b": ""}},
		{ID: "sha256:aaaa", RepoTags: []string{}, Created: t0, Labels: map[string]string{}},
	}
	tests := []struct {
		filters []string
		want    string
		wantErr string
	}{
		{nil, "new:1,mid:latest,<none>", ""},
		{[]string{"before=mid"}, "<none>", ""},
		{[]string{"since=aaaa"}, "new:1,mid:latest", ""},
		{[]string{"since=sha256:aaaa", "before=new:1"}, "mid:latest", ""},
		{[]string{"until=2026-01-01T00:01:00Z"}, "<none>", ""},
		{[]string{"until=" + time.Unix(t0+150, 0).UTC().Format(time.RFC3339)}, "mid:latest,<none>", ""},
		{[]string{"label=a"}, "new:1,mid:latest", ""},
		{[]string{"label=a=2"}, "mid:latest", ""},
		{[]string{"label=a", "label=b"}, "mid:latest", ""},
		{[]string{"before=gone"}, "", "no such image: gone"},
		{[]string{"until=soon"}, "", "invalid filter 'until=soon'"},
	}
	for _, tc := range tests {
		f, err := ParseFilters(tc.filters, "label", "before", "since", "until")
		if err != nil {
			t.Fatal(err)
		}
		got, err := filterSummaries(all, all, f)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("filterSummaries(%q) error = %v, want %q", tc.filters, err, tc.wantErr)
			}
			continue
		}
		var n []string
		for _, s := range got {
			if len(s.RepoTags) == 0 {
				n = append(n, "<none>")
			}
			n = append(n, s.RepoTags...)
		}
		if err != nil || strings.Join(n, ",") != tc.want {
			t.Errorf("filterSummaries(%q) = %q, %v; want %q", tc.filters, strings.Join(n, ","), err, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "1h", want: now.Add(-time.Hour)},
		{in: "1767225600", want: time.Unix(1767225600, 0)},
		{in: "2026-01-02", want: time.Date(2026, 1, 2, 0, 0, 0, 0, time.Local)}, // docker's: local without a zone
		{in: "2026-01-02T03:04:05Z", want: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{in: "yesterday", bad: true},
	}
	for _, tc := range tests {
		got, err := parseTime(tc.in, now)
		if tc.bad != (err != nil) || !tc.bad && !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
