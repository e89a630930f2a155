package apiserver

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// boolQuery reads a boolean query parameter as dockerd does: "", "0",
// "no", "false" and "none" are false, anything else true.
func boolQuery(r *http.Request, key string) bool {
	switch strings.ToLower(strings.TrimSpace(r.URL.Query().Get(key))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

// intQuery reads an integer query parameter; def when absent.
func intQuery(r *http.Request, key string, def int) (int, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "invalid value for %s: %q", key, v)
	}
	return n, nil
}

// filterArgs reads the filters parameter, {"key":{"value":true}} (or the
// older {"key":["value"]}), as the KEY=VALUE strings of the CLI's
// --filter, which the engine's list functions take.
func filterArgs(r *http.Request) ([]string, error) {
	raw := r.URL.Query().Get("filters")
	if raw == "" {
		return nil, nil
	}
	var byMap map[string]map[string]bool
	var out []string
	if err := json.Unmarshal([]byte(raw), &byMap); err == nil {
		for k, vs := range byMap {
			for v, on := range vs {
				if on {
					out = append(out, k+"="+v)
				}
			}
		}
	} else {
		var byList map[string][]string
		if err := json.Unmarshal([]byte(raw), &byList); err != nil {
			return nil, errorf(http.StatusBadRequest, "invalid filter: %v", err)
		}
		for k, vs := range byList {
			for _, v := range vs {
				out = append(out, k+"="+v)
			}
		}
	}
	sort.Strings(out) // one order, whatever the map's
	return out, nil
}
