package container

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// containerMounts turns the -v, --mount and --tmpfs values and the
// image's VOLUMEs into c.Mounts, creating and seeding volumes from the
// image content.
func (s *Store) containerMounts(c *Config, ic *dockerspec.DockerOCIImage, o *CreateOptions, rootfs string) error {
	mounts, err := parseMounts(o)
	if err != nil {
		return err
	}
	from, err := s.volumesFrom(o.VolumesFrom, mounts)
	if err != nil {
		return err
	}
	mounts = append(mounts, from...)
	mounts = append(mounts, imageVolumes(ic.Config.Volumes, mounts)...)
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
		if err := s.provideVolume(c, m, rootfs); err != nil {
			return err
		}
	}
	c.Mounts = mounts
	return nil
}

// volumesFrom is --volumes-from CONTAINER[:ro|rw]: the bind and volume
// mounts of those containers that the container's own do not cover.
func (s *Store) volumesFrom(refs []string, own []Mount) ([]Mount, error) {
	taken := map[string]bool{}
	for _, m := range own {
		taken[filepath.Clean(m.Target)] = true
	}
	var out []Mount
	for _, ref := range refs {
		name, mode, _ := strings.Cut(ref, ":")
		if mode != "" && mode != "ro" && mode != "rw" {
			return nil, fmt.Errorf("--volumes-from %s: mode must be ro or rw", ref)
		}
		other, err := s.Get(name)
		if err != nil {
			return nil, fmt.Errorf("--volumes-from: %w", err)
		}
		for _, m := range other.Mounts {
			if m.Type == "tmpfs" || taken[m.Target] {
				continue
			}
			taken[m.Target] = true
			if mode != "" {
				m.ReadOnly = mode == "ro"
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// parseMounts reads the -v, --mount and --tmpfs values, in that order.
func parseMounts(o *CreateOptions) ([]Mount, error) {
	volumes, err := parseEach(o.Volumes, ParseVolumeFlag)
	if err != nil {
		return nil, err
	}
	mounts, err := parseEach(o.Mounts, ParseMountFlag)
	if err != nil {
		return nil, err
	}
	tmpfs, err := parseEach(o.Tmpfs, parseTmpfsFlag)
	if err != nil {
		return nil, err
	}
	return slices.Concat(volumes, mounts, tmpfs), nil
}

// parseEach parses every value, stopping at the first error.
func parseEach(vals []string, parse func(string) (Mount, error)) ([]Mount, error) {
	var out []Mount
	for _, v := range vals {
		m, err := parse(v)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// parseTmpfsFlag reads --tmpfs PATH[:OPTIONS].
func parseTmpfsFlag(t string) (Mount, error) {
	path, opts, _ := strings.Cut(t, ":")
	m := Mount{Type: "tmpfs", Target: path}
	if opts == "" {
		return m, nil
	}
	for _, o := range strings.Split(opts, ",") {
		switch v, isSize := strings.CutPrefix(o, "size="); {
		case o == "ro":
			m.ReadOnly = true
		case o == "rw":
		case isSize:
			opt, err := tmpfsSize(v)
			if err != nil {
				return m, fmt.Errorf("invalid --tmpfs %q: %w", t, err)
			}
			m.Options = append(m.Options, opt)
		default:
			m.Options = append(m.Options, o)
		}
	}
	return m, nil
}

// tmpfsSize is the kernel's size= option for a docker size (1g, 64MiB),
// in bytes; a percentage of RAM (50%) passes as the kernel reads it.
func tmpfsSize(v string) (string, error) {
	if strings.HasSuffix(v, "%") {
		return "size=" + v, nil
	}
	n, err := ParseBytes(v)
	if err != nil {
		return "", err
	}
	return "size=" + strconv.FormatInt(n, 10), nil
}

// imageVolumes are anonymous volumes for the image's VOLUMEs nobody
// mounts over, in path order.
func imageVolumes(vols map[string]struct{}, mounts []Mount) []Mount {
	var paths []string
	for p := range vols {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []Mount
	for _, p := range paths {
		taken := false
		for _, m := range mounts {
			if filepath.Clean(m.Target) == filepath.Clean(p) {
				taken = true
			}
		}
		if !taken {
			out = append(out, Mount{Type: "volume", Target: p})
		}
	}
	return out
}

// provideVolume creates m's volume (an anonymous one when it has no
// name, kept in c.AnonVolumes) and seeds it from the image content.
func (s *Store) provideVolume(c *Config, m *Mount, rootfs string) error {
	v, err := s.CreateVolume(m.Name, nil)
	if err != nil {
		return err
	}
	if m.Name == "" {
		c.AnonVolumes = append(c.AnonVolumes, v.Name)
	}
	m.Name, m.Source = v.Name, v.Mountpoint
	return s.SeedVolume(v.Name, rootfs, m.Target)
}

// ParseVolumeFlag reads -v SRC:DST[:OPTS] or -v DST.
func ParseVolumeFlag(s string) (Mount, error) {
	parts := strings.Split(s, ":")
	var m Mount
	switch len(parts) {
	case 1:
		return Mount{Type: "volume", Target: parts[0]}, nil
	case 2, 3:
		m = Mount{Source: parts[0], Target: parts[1]}
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

// ParseMountFlag reads --mount type=..,source=..,target=..[,readonly].
func ParseMountFlag(s string) (Mount, error) {
	m := Mount{Type: "volume"}
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
			opt, err := tmpfsSize(v)
			if err != nil {
				return m, fmt.Errorf("invalid --mount %q: %w", s, err)
			}
			m.Options = append(m.Options, opt)
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
