package container

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/lade-build/lade/internal/userns"
	"github.com/lade-build/lade/network"
)

// Connection is a further network a container is on (docker's network
// connect), with its aliases there.
type Connection struct {
	Network string   `json:"network"`
	Aliases []string `json:"aliases,omitempty"`
}

// ConnectNetwork puts container c on one more network, with aliases: at
// once if it runs, and at each of its starts, as docker does.
func (s *Store) ConnectNetwork(ctx context.Context, c *Container, net string, aliases []string) error {
	if userns.Rootless() {
		return errors.New("network connect: user-defined networks need root")
	}
	if c.Config.Network == "none" && !s.live(c) {
		return s.joinPrimary(ctx, c, net, aliases)
	}
	if !bridged(&c.Config) {
		return fmt.Errorf("container %s is on network %s: only a container on a bridge network can be connected to another", c.Name, c.Config.Network)
	}
	ns, n, err := s.network(ctx, net)
	if err != nil {
		return err
	}
	if n.Name == c.Config.Network || slices.ContainsFunc(c.Net.Connections, func(x Connection) bool { return x.Network == n.Name }) {
		return fmt.Errorf("container %s is already on network %s", c.Name, n.Name)
	}
	if s.live(c) {
		o := network.AttachOptions{Network: n.Name, Container: c.ID, Name: c.Name, Aliases: aliases}
		if _, err := ns.Connect(ctx, o, c.State.Pid); err != nil {
			return err
		}
	}
	return s.updateConfig(c.ID, func(cfg *Config) {
		cfg.Net.Connections = append(cfg.Net.Connections, Connection{Network: n.Name, Aliases: aliases})
	})
}

// DisconnectNetwork takes container c off network net, now if it runs
// and for its later starts.
func (s *Store) DisconnectNetwork(ctx context.Context, c *Container, net string) error {
	ns, n, err := s.network(ctx, net)
	if err != nil {
		return err
	}
	if n.Name == c.Config.Network && !s.live(c) {
		return s.updateConfig(c.ID, leavePrimary)
	}
	stored := slices.ContainsFunc(c.Net.Connections, func(x Connection) bool { return x.Network == n.Name })
	if stored {
		err := s.updateConfig(c.ID, func(cfg *Config) {
			cfg.Net.Connections = slices.DeleteFunc(cfg.Net.Connections, func(x Connection) bool { return x.Network == n.Name })
		})
		if err != nil {
			return err
		}
	}
	err = ns.Disconnect(ctx, n.Name, c.ID)
	if stored && errors.Is(err, network.ErrNotConnected) {
		return nil // stopped: only its config had it
	}
	return err
}

// live says whether c runs now, under its shim.
func (s *Store) live(c *Container) bool {
	return c.State.Status == StatusRunning && c.State.Pid != 0 && s.supervised(c.ID)
}

// leavePrimary takes a stopped container off its own network, as docker
// network disconnect does: a further network it was connected to takes
// the place, or it is left on none (loopback only) until a connect.
func leavePrimary(cfg *Config) {
	if len(cfg.Net.Connections) == 0 {
		cfg.Network, cfg.Net.Aliases = "none", nil
		return
	}
	x := cfg.Net.Connections[0]
	cfg.Network, cfg.Net.Aliases, cfg.Net.Connections = x.Network, x.Aliases, cfg.Net.Connections[1:]
}

// joinPrimary makes net the network of stopped container c, which is on
// none: docker's connect of a container that a disconnect took off all
// its networks (compose disconnects a created container and connects it
// again with its aliases).
func (s *Store) joinPrimary(ctx context.Context, c *Container, net string, aliases []string) error {
	_, n, err := s.network(ctx, net)
	if err != nil {
		return err
	}
	if n.Name == network.DefaultName && len(aliases) > 0 {
		return errors.New("network-scoped aliases are only supported for user-defined networks")
	}
	return s.updateConfig(c.ID, func(cfg *Config) {
		cfg.Network, cfg.Net.Aliases = n.Name, aliases
	})
}

// connectAll puts a just-attached container on its further networks, as
// its config has them now (a connect may have come during a restart's
// back-off); a network removed since fails the start, as with docker.
func (s *Store) connectAll(ctx context.Context, c *Config, att *network.Attachment) error {
	var now Config
	if err := readJSON(filepath.Join(s.Dir(c.ID), "config.json"), &now); err != nil {
		return err
	}
	for _, x := range now.Net.Connections {
		o := network.AttachOptions{Network: x.Network, Container: c.ID, Name: c.Name, Aliases: x.Aliases}
		if err := att.Connect(ctx, o); err != nil {
			return fmt.Errorf("network %s: %w", x.Network, err)
		}
	}
	return nil
}

// updateConfig applies fn to c's recorded config under the container
// lock.
func (s *Store) updateConfig(id string, fn func(*Config)) error {
	return updateLocked(s, id, "config.json", fn)
}

// network is the network store and the network named net.
func (s *Store) network(ctx context.Context, net string) (*network.Store, *network.Network, error) {
	ns, err := s.networks()
	if err != nil {
		return nil, nil, err
	}
	n, err := ns.Get(ctx, net)
	return ns, n, err
}
