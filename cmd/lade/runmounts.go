package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lade-build/lade/container"
)

// containerMounts turns -v, --mount, --tmpfs and the image's VOLUMEs into
// c.Mounts, creating and seeding volumes from the image content.
func (a *app) containerMounts(store *container.Store, f *runFlags, c *container.Config, ic *dockerspec.DockerOCIImage, rootfs string) error {
	var mounts []container.Mount
	for _, v := range f.volumes {
		m, err := parseVolumeFlag(v)
		if err != nil {
			return err
		}
		mounts = append(mounts, m)
	}
	for _, s := range f.mounts {
		m, err := parseMountFlag(s)
		if err != nil {
			return err
		}
		mounts = append(mounts, m)
	}
	for _, t := range f.tmpfs {
		path, opts, _ := strings.Cut(t, ":")
		m := container.Mount{Type: "tmpfs", Target: path}
		if opts != "" {
			for _, o := range strings.Split(opts, ",") {
				if o == "ro" {
					m.ReadOnly = true
				} else if o != "rw" {
					m.Options = append(m.Options, o)
				}
			}
		}
		mounts = append(mounts, m)
	}
	// Image VOLUMEs nobody mounts over get anonymous volumes.
	var imgVols []string
	for p := range ic.Config.Volumes {
		imgVols = append(imgVols, p)
	}
	sort.Strings(imgVols)
	for _, p := range imgVols {
		taken := false
		for _, m := range mounts {
			if filepath.Clean(m.Target) == filepath.Clean(p) {
				taken = true
			}
		}
		if !taken {
			mounts = append(mounts, container.Mount{Type: "volume", Target: p})
		}
	}
	seen := map[string]bool{}
	for i := range mounts {
		m := &mounts[i]
		if !filepath.IsAbs(m.Target) || filepath.Clean(m.Target) == "/" {
			return fmt.Errorf("invalid mount target %q: must be an absolute path other than /", m.Target)
		}
		m.Target = filepath.Clean(m.Target)
		if seen[m.Target] {
			return fmt.Errorf("duplicate mount point: %s", m.Target)
		}
		seen[m.Target] = true
		if m.Type != "volume" {
			continue
		}
		v, err := store.CreateVolume(m.Name, nil)
		if err != nil {
			return err
		}
		if m.Name == "" {
			c.AnonVolumes = append(c.AnonVolumes, v.Name)
		}
		m.Name, m.Source = v.Name, v.Mountpoint
		if err := store.SeedVolume(v.Name, rootfs, m.Target); err != nil {
			return err
		}
	}
	c.Mounts = mounts
	return nil
}

// parseVolumeFlag reads -v SRC:DST[:OPTS] or -v DST.
func parseVolumeFlag(s string) (container.Mount, error) {
	parts := strings.Split(s, ":")
	var m container.Mount
	switch len(parts) {
	case 1:
		return container.Mount{Type: "volume", Target: parts[0]}, nil
	case 2, 3:
		m = container.Mount{Source: parts[0], Target: parts[1]}
		if len(parts) == 3 {
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro":
					m.ReadOnly = true
				case "rw", "z", "Z", "rprivate", "private", "rslave", "nocopy", "":
				default:
					return m, fmt.Errorf("invalid volume %q: unknown option %q", s, o)
				}
			}
		}
	default:
		return m, fmt.Errorf("invalid volume specification %q", s)
	}
	if filepath.IsAbs(m.Source) {
		m.Type = "bind"
		// docker -v creates a missing host directory; an existing file
		// (or anything else) is bound as it is.
		if _, err := os.Stat(m.Source); os.IsNotExist(err) {
			if err := os.MkdirAll(m.Source, 0o755); err != nil {
				return m, fmt.Errorf("creating bind source %s: %w", m.Source, err)
			}
		}
	} else {
		m.Type, m.Name, m.Source = "volume", m.Source, ""
	}
	return m, nil
}

// parseMountFlag reads --mount type=..,source=..,target=..[,readonly].
func parseMountFlag(s string) (container.Mount, error) {
	m := container.Mount{Type: "volume"}
	for _, field := range strings.Split(s, ",") {
		k, v, hasV := strings.Cut(field, "=")
		switch strings.ToLower(k) {
		case "type":
			m.Type = v
		case "source", "src":
			m.Source = v
		case "target", "destination", "dst":
			m.Target = v
		case "readonly", "ro":
			m.ReadOnly = !hasV || v == "true" || v == "1"
		case "tmpfs-size":
			m.Options = append(m.Options, "size="+v)
		case "tmpfs-mode":
			m.Options = append(m.Options, "mode="+v)
		case "bind-propagation", "volume-nocopy", "consistency":
		default:
			return m, fmt.Errorf("invalid --mount %q: unknown key %q", s, k)
		}
	}
	if m.Target == "" {
		return m, fmt.Errorf("invalid --mount %q: target is required", s)
	}
	switch m.Type {
	case "bind":
		if !filepath.IsAbs(m.Source) {
			return m, fmt.Errorf("invalid --mount %q: bind source must be an absolute path", s)
		}
		if _, err := os.Stat(m.Source); err != nil {
			return m, fmt.Errorf("invalid --mount %q: bind source path does not exist: %s", s, m.Source)
		}
	case "volume":
		m.Name, m.Source = m.Source, ""
	case "tmpfs":
		if m.Source != "" {
			return m, fmt.Errorf("invalid --mount %q: tmpfs takes no source", s)
		}
	default:
		return m, fmt.Errorf("invalid --mount %q: type must be bind, volume or tmpfs", s)
	}
	return m, nil
}
