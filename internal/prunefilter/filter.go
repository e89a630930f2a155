// Package prunefilter reads and applies docker's prune filters, until=
// and label= / label!=, which container and image prune share.
package prunefilter

import (
	"fmt"
	"strings"
	"time"

	"github.com/lade-build/lade/internal/dockertime"
)

// Filter selects what a prune may remove; the zero Filter selects all.
type Filter struct {
	// Until, if set, spares objects created at or after it.
	Until  time.Time
	Labels []Label
}

// Label is one label=KEY[=VALUE] filter, or with Not a label!= one.
type Label struct {
	Key, Value string
	HasValue   bool
	Not        bool
}

// Parse reads docker's --filter values; durations count back from now.
func Parse(filters []string, now time.Time) (Filter, error) {
	var f Filter
	for _, s := range filters {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return f, fmt.Errorf("bad format of filter (expected name=value): %s", s)
		}
		switch k {
		case "until":
			t, err := until(v, now)
			if err != nil {
				return f, err
			}
			f.Until = t
		case "label", "label!":
			key, val, has := strings.Cut(v, "=")
			f.Labels = append(f.Labels, Label{Key: key, Value: val, HasValue: has, Not: k == "label!"})
		default:
			return f, fmt.Errorf("invalid filter '%s'", k)
		}
	}
	return f, nil
}

// Match reports whether an object created then with labels may go.
func (f Filter) Match(created time.Time, labels map[string]string) bool {
	if !f.Until.IsZero() && !created.Before(f.Until) {
		return false
	}
	for _, l := range f.Labels {
		v, ok := labels[l.Key]
		if match := ok && (!l.HasValue || v == l.Value); match == l.Not {
			return false
		}
	}
	return true
}

// until reads a duration (before now), an RFC 3339 time, a date or a
// Unix timestamp, as docker's until filters do.
func until(v string, now time.Time) (time.Time, error) {
	t, err := dockertime.Parse(v, now)
	if err != nil || v == "" {
		return time.Time{}, fmt.Errorf("invalid until filter %q: want a duration, a timestamp or a date", v)
	}
	return t, nil
}
