package remotecache

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Spec is one --cache-to or --cache-from value, buildx style:
// type=registry,ref=REF[,mode=min|max] or type=local,dest=DIR / src=DIR.
type Spec struct {
	Type string // "registry" or "local"
	Ref  string // registry reference
	Dir  string // local OCI layout
	Mode string // "min": the final image's records; "max": every stage's
	// Mounts (cache-mounts=true) also carries RUN --mount=type=cache dirs.
	Mounts bool
}

// Direction says which flag a spec is for: a local cache is written to
// dest= and read from src=.
type Direction bool

// The two directions of ParseSpec.
const (
	To   Direction = true
	From Direction = false
)

// ParseSpecs parses every value of one flag.
func ParseSpecs(vals []string, dir Direction) ([]Spec, error) {
	out := make([]Spec, len(vals))
	for i, v := range vals {
		var err error
		if out[i], err = ParseSpec(v, dir); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ParseSpec parses one value; a value without "=" is a registry ref, as
// in buildx.
func ParseSpec(s string, dir Direction) (Spec, error) {
	c := Spec{Mode: "min"}
	if !strings.Contains(s, "=") {
		c.Type, c.Ref = "registry", s
		return c, c.check(dir)
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return c, fmt.Errorf("invalid cache option %q: expected key=value", kv)
		}
		if err := c.set(k, v); err != nil {
			return c, err
		}
	}
	return c, c.check(dir)
}

func (c *Spec) set(k, v string) error {
	switch k {
	case "type":
		c.Type = v
	case "ref":
		c.Ref = v
	case "dest", "src":
		c.Dir = v
	case "mode":
		if v != "min" && v != "max" {
			return fmt.Errorf("invalid cache mode %q: use min or max", v)
		}
		c.Mode = v
	case "cache-mounts":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid cache-mounts value %q", v)
		}
		c.Mounts = b
	case "ignore-error", "compression", "oci-mediatypes", "image-manifest":
		// accepted for buildx compatibility; lade always writes OCI
	default:
		return fmt.Errorf("unknown cache option %q", k)
	}
	return nil
}

func (c Spec) check(dir Direction) error {
	switch c.Type {
	case "registry":
		if c.Ref == "" {
			return errors.New("cache type=registry needs ref=REF")
		}
	case "local":
		if c.Dir == "" && dir == To {
			return errors.New("cache type=local needs dest=DIR")
		}
		if c.Dir == "" {
			return errors.New("cache type=local needs src=DIR")
		}
	default:
		return fmt.Errorf("cache type %q not supported: use registry or local", c.Type)
	}
	return nil
}

// Where names the spec's destination or source in messages.
func (c Spec) Where() string {
	if c.Type == "registry" {
		return c.Ref
	}
	return c.Dir
}
