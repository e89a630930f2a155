package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/docker/go-units"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/runner/seccomp"
)

// ParseRestart reads docker's --restart: no, on-failure[:N], always,
// unless-stopped.
func ParseRestart(s string) (RestartPolicy, error) {
	name, n, hasN := strings.Cut(s, ":")
	p := RestartPolicy{Name: name}
	switch name {
	case "", "no":
		p.Name = "no"
	case "always", "unless-stopped":
	case "on-failure":
		if hasN {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return p, fmt.Errorf("invalid restart policy %q: bad retry count", s)
			}
			p.MaxRetries = v
		}
		return p, nil
	default:
		return p, fmt.Errorf("invalid restart policy %q", s)
	}
	if hasN {
		return p, fmt.Errorf("invalid restart policy %q: only on-failure takes a retry count", s)
	}
	return p, nil
}

func (o *CreateOptions) resources() (Resources, error) {
	r := Resources{CPUs: o.CPUs, PidsLimit: o.PidsLimit, CPUShares: o.CPUShares}
	if o.PidsLimit == -1 {
		r.PidsLimit = 0 // docker's unlimited
	}
	if o.CPUs < 0 || r.PidsLimit < 0 || o.CPUShares < 0 {
		return r, errors.New("--cpus, --cpu-shares and --pids-limit must not be negative")
	}
	var err error
	if r.Memory, err = memoryFlag("--memory", o.Memory); err != nil {
		return r, err
	}
	if r.MemorySwap, err = memoryFlag("--memory-swap", o.MemorySwap); err != nil {
		return r, err
	}
	if err := o.LimitOptions.apply(&r); err != nil {
		return r, err
	}
	if err := checkLimits(r); err != nil {
		return r, err
	}
	return r, checkSwap(r)
}

// memoryFlag reads a --memory or --memory-swap size ("" is 0, and -1
// unlimited); docker's minimum is 6MB.
func memoryFlag(flag, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	if v == "-1" {
		return -1, nil
	}
	m, err := ParseBytes(v)
	if err != nil {
		return 0, fmt.Errorf("invalid %s: %w", flag, err)
	}
	if m < 6<<20 {
		return 0, errors.New("minimum memory limit allowed is 6MB")
	}
	return m, nil
}

// checkSwap applies docker's rules to --memory-swap.
func checkSwap(r Resources) error {
	if r.MemorySwap != 0 && r.Memory <= 0 {
		return errors.New("you should always set the memory limit when using the memory swap limit")
	}
	if r.MemorySwap > 0 && r.MemorySwap < r.Memory {
		return errors.New("minimum memoryswap limit should be larger than memory limit, see usage")
	}
	return nil
}

// ParseBytes reads a size as docker does, with go-units: 1024, 512k,
// 32m, 1g, 1GiB, 1.5GB (binary units, case-insensitive, b optional). It
// is lade's one size parser: memory, shm, tmpfs and cache limits.
func ParseBytes(s string) (int64, error) {
	n, err := units.RAMInBytes(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	return n, nil
}

// capabilities is docker's default set with CapAdd/CapDrop applied; nil
// (all) when privileged.
func (o *CreateOptions) capabilities() ([]string, error) {
	if o.Privileged {
		return nil, nil
	}
	set := map[string]bool{}
	for _, c := range runner.DefaultCapabilities {
		set[c] = true
	}
	for _, name := range o.CapDrop {
		n, err := runner.NormalizeCapability(name)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			clear(set)
		}
		delete(set, n)
	}
	for _, name := range o.CapAdd {
		n, err := runner.NormalizeCapability(name)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			for _, c := range runner.AllCapabilities() {
				set[c] = true
			}
		}
		set[n] = n != "ALL"
	}
	out := []string{}
	for _, c := range runner.AllCapabilities() {
		if set[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// merge lays the options over the image's HEALTHCHECK; nil when there is
// none or it is disabled.
func (h HealthOptions) merge(img *dockerspec.HealthcheckConfig) *Healthcheck {
	if h.Disable {
		return nil
	}
	hc := &Healthcheck{}
	if img != nil {
		hc.Test, hc.Interval, hc.Timeout, hc.StartPeriod, hc.Retries = img.Test, img.Interval, img.Timeout, img.StartPeriod, img.Retries
		hc.StartInterval = img.StartInterval
	}
	if h.Cmd != "" {
		hc.Test = []string{"CMD-SHELL", h.Cmd}
	}
	if len(h.Test) > 0 {
		hc.Test = h.Test
	}
	if h.Interval > 0 {
		hc.Interval = h.Interval
	}
	if h.Timeout > 0 {
		hc.Timeout = h.Timeout
	}
	if h.StartPeriod > 0 {
		hc.StartPeriod = h.StartPeriod
	}
	if h.StartInterval > 0 {
		hc.StartInterval = h.StartInterval
	}
	if h.Retries > 0 {
		hc.Retries = h.Retries
	}
	if len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return nil
	}
	return hc
}

// ParseEnv reads the env files, then the KEY=VALUE list, in order, as
// KEY=VALUE; a bare KEY takes lade's own value, or is skipped (docker).
func ParseEnv(files, env []string) ([]string, error) {
	var list []string
	for _, file := range files {
		lines, err := readEnvFile(file)
		if err != nil {
			return nil, err
		}
		list = append(list, lines...)
	}
	list = append(list, env...)
	var out []string
	for _, kv := range list {
		k, _, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid environment variable %q", kv)
		}
		if !ok {
			v, found := os.LookupEnv(k)
			if !found {
				continue
			}
			kv = k + "=" + v
		}
		out = append(out, kv)
	}
	return out, nil
}

// readEnvFile is an --env-file's lines but blank ones and comments.
func readEnvFile(file string) ([]string, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	defer fh.Close()
	var list []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		list = append(list, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", file, err)
	}
	return list, nil
}

// SeccompOption reads --security-opt seccomp=unconfined|builtin|PROFILE
// (docker's older "seccomp:..." too) into what a container config keeps:
// "" for the default filter, "unconfined", or the profile's JSON text,
// checked here so that a bad profile fails before anything runs. ok is
// false for options about something else.
func SeccompOption(opt string) (value string, ok bool, err error) {
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
