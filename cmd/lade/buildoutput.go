package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/images"
)

type output struct {
	typ         string
	dest        string
	names       []string
	compression cache.Compression
	push        bool // type=registry, or type=image,push=true
	force       bool // force-compression: recompress base layers too
	level       int  // compression-level
}

func parseOutput(s string) (output, error) {
	o := output{typ: "image"}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			if !strings.Contains(s, "=") {
				// buildx's shorthand: -o DIR is a local export, -o - a tar
				// of the files on stdout.
				o.typ, o.dest = "local", k
				if k == "-" {
					o.typ = "tar"
				}
				continue
			}
			return o, fmt.Errorf("invalid output %q: expected key=value", kv)
		}
		switch k {
		case "type":
			o.typ = v
		case "dest":
			o.dest = v
		case "name":
			o.names = append(o.names, strings.Split(v, ",")...)
		case "compression":
			o.compression = cache.Compression(v)
		case "push", "force-compression":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, fmt.Errorf("invalid output %q: %s=%q is not a boolean", s, k, v)
			}
			if k == "push" {
				o.push = b
			} else {
				o.force = b
			}
		case "compression-level":
			n, err := strconv.Atoi(v)
			if err != nil {
				return o, fmt.Errorf("invalid output %q: compression-level=%q is not a number", s, v)
			}
			o.level = n
		case "oci-mediatypes":
			// lade always writes OCI media types for new images.
		default:
			return o, fmt.Errorf("invalid output %q: unknown key %q", s, k)
		}
	}
	switch o.typ {
	case "oci", "docker", "tar":
		if o.dest == "" {
			return o, fmt.Errorf("output type=%s needs dest=FILE (or dest=-)", o.typ)
		}
	case "local":
		if o.dest == "" || o.dest == "-" {
			return o, fmt.Errorf("output type=local needs dest=DIR")
		}
	case "image":
	case "registry":
		o.typ, o.push = "image", true
	default:
		return o, fmt.Errorf("output type %q not supported: use image, registry, oci, docker, local or tar", o.typ)
	}
	return o, nil
}

// parseOutputs reads the -o values, applies --push and checks -t and the
// outputs' names before the build runs, as docker build does.
func parseOutputs(f *buildFlags) ([]output, error) {
	var outs []output
	for _, s := range f.outputs {
		o, err := parseOutput(s)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o)
	}
	for _, n := range f.tags {
		if _, err := images.ParseTag(n); err != nil {
			return nil, statusError{125, fmt.Errorf("--tag: %w", err)}
		}
	}
	for _, o := range outs {
		for _, n := range o.names {
			if _, err := images.ParseTag(n); err != nil {
				return nil, statusError{125, fmt.Errorf("--output: %w", err)}
			}
		}
	}
	if len(outs) == 0 || (f.load && !slices.ContainsFunc(outs, func(o output) bool { return o.typ == "image" })) {
		// --load is buildx's way to say "into the store", lade's default.
		outs = append(outs, output{typ: "image"})
	}
	if f.push {
		for i := range outs {
			outs[i].push = outs[i].push || outs[i].typ == "image"
		}
	}
	return outs, nil
}
