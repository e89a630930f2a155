package network

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/moby/moby/api/types/events"
	"github.com/vishvananda/netns"
)

// Connect puts the running container whose init is pid on one more
// network (docker's network connect): an address, and a veth pair to the
// network's bridge as the namespace's next ethN, without a default
// route. It lasts until the container's process ends.
func (s *Store) Connect(ctx context.Context, o AttachOptions, pid int) (*Endpoint, error) {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return nil, fmt.Errorf("container's network namespace: %w", err)
	}
	defer ns.Close()
	return s.connect(ctx, o, ns)
}

// Connect puts the attached container on one more network, as Store's
// Connect, before it starts.
func (a *Attachment) Connect(ctx context.Context, o AttachOptions) error {
	_, err := a.store.connect(ctx, o, a.ns)
	return err
}

func (s *Store) connect(ctx context.Context, o AttachOptions, ns netns.NsHandle) (*Endpoint, error) {
	var n *Network
	var err error
	var e *Endpoint
	err = s.update(ctx, func(st *state) error {
		if st.find(o.Network) == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, o.Network)
		}
		if st.endpoint(o.Container, st.find(o.Network).ID) != nil {
			return fmt.Errorf("container %s is already on network %s", o.Name, o.Network)
		}
		if len(st.containerEndpoints(o.Container)) == 0 {
			return errors.New("only a container on a bridge network can be connected to another")
		}
		if n, e, err = s.addEndpoint(st, o); err != nil {
			return err
		}
		ifname, err := freeIfname(ns)
		if err != nil {
			return err
		}
		return plumb(ns, n, e, ifname, false)
	})
	if err == nil {
		s.event(events.ActionConnect, n, map[string]string{"container": o.Container})
	}
	return e, err
}

// ErrNotConnected is Disconnect's error for a container not on the
// network.
var ErrNotConnected = errors.New("container is not connected to the network")

// Disconnect takes a container off a network it was connected to.
func (s *Store) Disconnect(ctx context.Context, network, container string) error {
	var from Network
	err := s.update(ctx, func(st *state) error {
		n := st.find(network)
		if n == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, network)
		}
		e := st.endpoint(container, n.ID)
		if e == nil {
			return fmt.Errorf("%w: container %s, network %s", ErrNotConnected, container[:12], n.Name)
		}
		if err := deleteVeth(e); err != nil {
			return fmt.Errorf("deleting %s's veth: %w", n.Name, err)
		}
		st.Endpoints = slices.DeleteFunc(st.Endpoints, func(x *Endpoint) bool { return x == e })
		from = *n
		return nil
	})
	if err == nil {
		s.event(events.ActionDisconnect, &from, map[string]string{"container": container})
	}
	return err
}

// endpoint is container's endpoint on network id, or nil.
func (st *state) endpoint(container, id string) *Endpoint {
	for _, e := range st.Endpoints {
		if e.Container == container && e.Network == id {
			return e
		}
	}
	return nil
}
