package dockertime

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "", want: time.Time{}},
		{in: "10m", want: now.Add(-10 * time.Minute)},
		{in: "1700000000", want: time.Unix(1700000000, 0)},
		{in: "1700000000.5", want: time.Unix(1700000000, 500000000)},
		{in: "2026-01-02T03:04:05Z", want: now},
		{in: "yesterday", bad: true},
	} {
		got, err := Parse(tc.in, now)
		if (err != nil) != tc.bad || !tc.bad && !got.Equal(tc.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
