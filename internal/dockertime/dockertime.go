// Package dockertime reads the times docker's CLI takes: --since and
// --until of events and logs, and the until, since and before filters.
package dockertime

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parse reads a docker time: an RFC 3339 time or date (local time when
// it has no zone), Unix seconds (with fractions), or a duration back
// from now ("10m", "1h30m"); "" is the zero time.
func Parse(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "-:") {
		whole, frac := math.Modf(secs)
		return time.Unix(int64(whole), int64(frac*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want RFC 3339, Unix seconds or a duration", v)
}
