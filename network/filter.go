package network

import (
	"fmt"
	"strings"
)

// Filter keeps the networks matching every --filter: name=SUBSTRING,
// id=PREFIX, label=KEY or label=KEY=VALUE, driver=NAME,
// type=builtin|custom (docker's set, less scope and dangling).
func Filter(nets []*Network, filters []string) ([]*Network, error) {
	var out []*Network
	for _, n := range nets {
		ok := true
		for _, f := range filters {
			m, err := matches(n, f)
			if err != nil {
				return nil, err
			}
			ok = ok && m
		}
		if ok {
			out = append(out, n)
		}
	}
	return out, nil
}

func matches(n *Network, filter string) (bool, error) {
	key, val, ok := strings.Cut(filter, "=")
	if !ok {
		return false, fmt.Errorf("bad format of filter %q (expected name=value)", filter)
	}
	switch key {
	case "name":
		return strings.Contains(n.Name, val), nil
	case "id":
		return strings.HasPrefix(n.ID, val), nil
	case "driver":
		return n.Driver == val, nil
	case "type":
		return (val == "builtin") == n.Default(), nil
	case "label":
		k, v, withValue := strings.Cut(val, "=")
		got, has := n.Labels[k]
		return has && (!withValue || got == v), nil
	}
	return false, fmt.Errorf("invalid filter %q", key)
}
