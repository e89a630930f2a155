package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// containerMode prefixes --network container:NAME, kept as container:ID.
const containerMode = "container:"

// sharedWith is the ID (or, before create resolved it, the name) of the
// container whose network namespace c joins, or "".
func sharedWith(c *Config) string {
	ref, _ := strings.CutPrefix(c.Network, containerMode)
	if ref == c.Network {
		return ""
	}
	return ref
}

// checkShared refuses what docker refuses with --network container:
// options about a network the container does not own.
func checkShared(c *Config, o *CreateOptions) error {
	n := c.Net
	switch {
	case len(n.DNS)+len(n.DNSSearch)+len(n.DNSOptions)+len(n.ExtraHosts) > 0:
		return errors.New("conflicting options: dns and the network mode")
	case n.MAC != "" || len(n.Aliases) > 0:
		return errors.New("conflicting options: mac-address and network aliases and the network mode")
	case len(o.Publish) > 0 || o.PublishAll:
		return errors.New("conflicting options: port publishing and the container type network mode")
	case o.Hostname != "":
		return errors.New("conflicting options: hostname and the network mode")
	}
	return nil
}

// resolveShared keeps the ID of the container c shares the network of,
// and takes its host name, as docker does.
func (s *Store) resolveShared(c *Config, o *CreateOptions) error {
	if err := checkShared(c, o); err != nil {
		return err
	}
	target, err := s.Get(sharedWith(c))
	if err != nil {
		return err
	}
	c.Network = containerMode + target.ID
	c.Hostname, o.Hostname = target.Hostname, target.Hostname
	return nil
}

// sharedNS is the network namespace of the running container c joins.
func (s *Store) sharedNS(c *Config) (string, error) {
	id := sharedWith(c)
	target, err := s.load(id)
	if err != nil {
		return "", fmt.Errorf("joining the network of container %s: %w", id[:12], err)
	}
	if target.State.Status != StatusRunning || target.State.Pid == 0 || !s.supervised(id) {
		return "", fmt.Errorf("cannot join network of a non running container: %s", id[:12])
	}
	return fmt.Sprintf("/proc/%d/ns/net", target.State.Pid), nil
}

// sharedEtc is the hosts or resolv.conf file of the container c joins,
// which its names are set up for.
func (s *Store) sharedEtc(c *Config, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir(sharedWith(c)), "etc", name))
	if err != nil {
		return "", fmt.Errorf("joining the network of container %s: %w", sharedWith(c)[:12], err)
	}
	return string(b), nil
}
