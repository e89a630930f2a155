package prunefilter

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   []string
		want Filter
		err  string
	}{
		{in: nil, want: Filter{}},
		{in: []string{"until=24h"}, want: Filter{Until: now.Add(-24 * time.Hour)}},
		{in: []string{"until=1700000000"}, want: Filter{Until: time.Unix(1700000000, 0)}},
		{in: []string{"until=1700000000.5"}, want: Filter{Until: time.Unix(1700000000, 5e8)}},
		{in: []string{"until=2025-06-01T10:00:00Z"}, want: Filter{Until: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)}},
		{in: []string{"label=stage", "label!=keep=yes"}, want: Filter{Labels: []Label{
			{Key: "stage"}, {Key: "keep", Value: "yes", HasValue: true, Not: true}}}},
		{in: []string{"until=soon"}, err: "invalid until filter"},
		{in: []string{"dangling=true"}, err: "invalid filter 'dangling'"},
		{in: []string{"label"}, err: "bad format of filter"},
	} {
		got, err := Parse(tc.in, now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, want error %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !got.Until.Equal(tc.want.Until) || !cmp.Equal(got.Labels, tc.want.Labels) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old, recent := now.Add(-48*time.Hour), now.Add(-time.Minute)
	labels := map[string]string{"stage": "build", "keep": ""}
	for _, tc := range []struct {
		filters []string
		created time.Time
		labels  map[string]string
		want    bool
	}{
		{nil, recent, nil, true},
		{[]string{"until=24h"}, old, nil, true},
		{[]string{"until=24h"}, recent, nil, false},
		{[]string{"label=stage"}, recent, labels, true},
		{[]string{"label=stage=build"}, recent, labels, true},
		{[]string{"label=stage=test"}, recent, labels, false},
		{[]string{"label=stage"}, recent, nil, false},
		{[]string{"label!=keep"}, recent, labels, false},
		{[]string{"label!=keep"}, recent, nil, true},
		{[]string{"label!=stage=test"}, recent, labels, true},
		{[]string{"until=24h", "label=stage"}, old, labels, true},
		{[]string{"until=24h", "label=stage"}, recent, labels, false},
	} {
		f, err := Parse(tc.filters, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Match(tc.created, tc.labels); got != tc.want {
			t.Errorf("%q Match(%v, %v) = %v, want %v", tc.filters, tc.created, tc.labels, got, tc.want)
		}
	}
}
