package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/lade-build/lade/runner/seccomp"
)

// seccompOption reads --security-opt seccomp=unconfined|builtin|PROFILE
// (docker's older "seccomp:..." too) into what a container config keeps:
// "" for the default filter, "unconfined", or the profile's JSON text,
// checked here so that a bad profile fails before anything runs. ok is
// false for options about something else.
func seccompOption(opt string) (value string, ok bool, err error) {
	v, found := strings.CutPrefix(opt, "seccomp=")
	if !found {
		if v, found = strings.CutPrefix(opt, "seccomp:"); !found {
			return "", false, nil
		}
	}
	switch v {
	case "unconfined":
		return v, true, nil
	case "builtin":
		return "", true, nil
	case "":
		return "", true, fmt.Errorf("--security-opt %s: name a profile file or unconfined", opt)
	}
	data, err := os.ReadFile(v)
	if err != nil {
		return "", true, fmt.Errorf("--security-opt seccomp: %w", err)
	}
	if _, err := seccomp.Parse(data); err != nil {
		return "", true, fmt.Errorf("--security-opt seccomp=%s: %w", v, err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return "", true, fmt.Errorf("--security-opt seccomp=%s: %w", v, err)
	}
	return buf.String(), true, nil
}
