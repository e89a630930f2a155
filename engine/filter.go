package engine

import (
	"fmt"
	"slices"
	"strings"
)

// Filters are docker's --filter KEY=VALUE flags: values of one key match
// if any does, and every key must match.
type Filters map[string][]string

// ParseFilters reads --filter flags, accepting only the keys allowed.
func ParseFilters(args []string, allowed ...string) (Filters, error) {
	f := Filters{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value)")
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// match says whether key is absent or one of its values passes ok.
func (f Filters) match(key string, ok func(v string) bool) bool {
	vals, set := f[key]
	if !set {
		return true
	}
	return slices.ContainsFunc(vals, ok)
}

// matchLabels is docker's label filter: label=KEY or label=KEY=VALUE,
// every one must match (unlike other keys).
func (f Filters) matchLabels(key string, labels map[string]string) bool {
	for _, l := range f[key] {
		k, v, hasV := strings.Cut(l, "=")
		got, ok := labels[k]
		if !ok || hasV && got != v {
			return false
		}
	}
	return true
}

// boolValue reads a filter value docker takes as a boolean.
func boolValue(key, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("invalid filter '%s=%s'", key, v)
}
