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
	if c.State.Status == StatusRunning && c.State.Pid != 0 && s.supervised(c.ID) {
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
