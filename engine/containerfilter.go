package engine

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lade-build/lade/container"
)

// ListOptions are docker ps's selection flags.
type ListOptions struct {
	All     bool     // -a
	Last    int      // -n: the last N created, any state
	Latest  bool     // -l: -n 1
	Filters []string // --filter KEY=VALUE
}

var containerFilterKeys = []string{"id", "name", "label", "status", "exited", "ancestor", "before", "since",
	"volume", "network", "health", "publish", "expose"}

// ListContainers picks, newest first, the containers of list docker ps
// shows with o.
func ListContainers(list []*container.Container, o ListOptions) ([]*container.Container, error) {
	f, err := ParseFilters(o.Filters, containerFilterKeys...)
	if err != nil {
		return nil, err
	}
	list = slices.Clone(list)
	slices.SortStableFunc(list, func(a, b *container.Container) int { return b.Created.Compare(a.Created) })
	if o.Latest {
		o.Last = 1
	}
	before, since, err := boundTimes(list, f)
	if err != nil {
		return nil, err
	}
	all := o.All || o.Last > 0 || len(f["status"]) > 0 || len(f["exited"]) > 0
	var out []*container.Container
	for _, c := range list {
		if !all && !running(c) || !before.IsZero() && !c.Created.Before(before) || !since.IsZero() && !c.Created.After(since) {
			continue
		}
		ok, err := matchContainer(c, f)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	if o.Last > 0 && len(out) > o.Last {
		out = out[:o.Last]
	}
	return out, nil
}

// boundTimes are the creation times of the before= and since= containers.
func boundTimes(list []*container.Container, f Filters) (before, since time.Time, err error) {
	find := func(key string) (time.Time, error) {
		for _, ref := range f[key] {
			for _, c := range list {
				if c.Name == ref || strings.HasPrefix(c.ID, ref) {
					return c.Created, nil
				}
			}
			return time.Time{}, fmt.Errorf("no such container: %s", ref)
		}
		return time.Time{}, nil
	}
	if before, err = find("before"); err != nil {
		return
	}
	since, err = find("since")
	return
}

// matchContainer applies the filters other than before and since.
func matchContainer(c *container.Container, f Filters) (bool, error) {
	for _, v := range f["exited"] {
		if _, err := strconv.Atoi(v); err != nil {
			return false, fmt.Errorf("invalid filter 'exited=%s'", v)
		}
	}
	for _, v := range f["name"] {
		if _, err := regexp.Compile(v); err != nil {
			return false, fmt.Errorf("invalid filter 'name=%s': %w", v, err)
		}
	}
	st := string(Status(&c.State))
	ok := f.match("id", func(v string) bool { return strings.HasPrefix(c.ID, v) }) &&
		f.match("name", func(v string) bool { return regexp.MustCompile(v).MatchString("/" + c.Name) }) &&
		f.matchLabels("label", c.Labels) &&
		f.match("status", func(v string) bool { return v == st }) &&
		f.match("exited", func(v string) bool { return st == "exited" && v == strconv.Itoa(c.State.ExitCode) }) &&
		f.match("ancestor", func(v string) bool { return isAncestor(c, v) }) &&
		f.match("volume", func(v string) bool { return mountsVolume(c, v) }) &&
		f.match("network", func(v string) bool { return c.Network == v }) &&
		f.match("health", func(v string) bool { return healthOf(c) == v }) &&
		f.match("publish", func(v string) bool { return hasPort(c.Bindings(), v) }) &&
		f.match("expose", func(v string) bool { return hasPort(c.Ports, v) })
	return ok, nil
}

// isAncestor says whether c runs the image ref names: its name as given
// (":latest" implied) or a prefix of its ID.
func isAncestor(c *container.Container, ref string) bool {
	withTag := func(n string) string {
		if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") || strings.Contains(n, "@") {
			return n
		}
		return n + ":latest"
	}
	id := strings.TrimPrefix(c.ImageID, "sha256:")
	return withTag(c.Image) == withTag(ref) ||
		len(strings.TrimPrefix(ref, "sha256:")) >= 4 && strings.HasPrefix(id, strings.TrimPrefix(ref, "sha256:"))
}

func mountsVolume(c *container.Container, v string) bool {
	return slices.ContainsFunc(c.Mounts, func(m container.Mount) bool {
		return m.Type == "volume" && m.Name == v || m.Target == v
	})
}

// healthOf is docker's health filter value: none without a healthcheck.
func healthOf(c *container.Container) string {
	if c.Healthcheck == nil || c.State.Health == nil {
		return "none"
	}
	return c.State.Health.Status
}

// hasPort matches PORT[/PROTO] (tcp by default) against the container
// side of ports.
func hasPort(ports []container.Port, v string) bool {
	num, proto, _ := strings.Cut(v, "/")
	if proto == "" {
		proto = "tcp"
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(ports, func(p container.Port) bool {
		return p.Port == n && p.Proto == proto
	})
}
