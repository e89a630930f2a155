package network

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"

	"github.com/vishvananda/netns"

	"github.com/lade-build/lade/internal/osthread"
)

// AttachOptions say which container joins which network.
type AttachOptions struct {
	Network         string // name or ID; "" is the default network
	Container, Name string // the container's ID and name
	Aliases         []string
	MAC             string    // empty: derived from the address
	Ports           []PortMap // published by DNAT (Attach only)
	// Alive says whether a container is still supervised: the endpoints
	// of the others are stale (their supervisor was killed) and swept.
	Alive func(id string) bool
}

// Attachment is a container's place on a network for one run of its
// process: the network namespace it runs in and its endpoint.
type Attachment struct {
	Network  *Network
	Endpoint *Endpoint
	store    *Store
	ns       netns.NsHandle
	dns      *dnsServer
	// slirp runs for a rootless attachment (AttachSlirp); closing
	// slirpExit ends it.
	slirp     *exec.Cmd
	slirpExit *os.File
}

// Attach records the container's endpoint on the network, makes sure the
// bridge and the root's rules are in place, and makes a network namespace
// wired to the bridge; the caller runs the container in NSPath and calls
// Detach when it ended.
func (s *Store) Attach(ctx context.Context, o AttachOptions) (*Attachment, error) {
	if o.Network == "" {
		o.Network = DefaultName
	}
	// The kernel makes the namespace while the store is updated.
	type made struct {
		ns  netns.NsHandle
		err error
	}
	nsc := make(chan made, 1)
	go func() {
		ns, err := newNS()
		nsc <- made{ns, err}
	}()
	a := &Attachment{store: s, ns: -1}
	err := s.update(ctx, func(st *state) error {
		st.sweep(func(id string) bool { return id != o.Container && o.Alive(id) })
		var err error
		a.Network, a.Endpoint, err = s.addEndpoint(st, o)
		return err
	})
	m := <-nsc
	if m.err == nil {
		a.ns = m.ns
	}
	if err != nil {
		if a.ns >= 0 {
			a.ns.Close()
		}
		return nil, err
	}
	if m.err != nil {
		err = fmt.Errorf("new network namespace: %w", m.err)
	} else {
		err = plumb(a.ns, a.Network, a.Endpoint, "eth0", true)
	}
	if err != nil {
		_ = a.Detach(context.WithoutCancel(ctx))
		return nil, err
	}
	return a, nil
}

// addEndpoint records o's endpoint with a free address of its network and
// makes sure the bridge and the root's rules are in place.
func (s *Store) addEndpoint(st *state, o AttachOptions) (*Network, *Endpoint, error) {
	n := st.find(o.Network)
	if n == nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, o.Network)
	}
	ip, err := allocate(st, n)
	if err != nil {
		return nil, nil, err
	}
	e := &Endpoint{Container: o.Container, Name: o.Name, Aliases: o.Aliases, Network: n.ID, IP: ip, MAC: o.MAC, Ports: o.Ports}
	if e.MAC == "" {
		e.MAC = macFor(ip)
	}
	st.Endpoints = append(st.Endpoints, e)
	if err := ensureBridge(n); err != nil {
		return nil, nil, err
	}
	return n, e, ensureRules(s.table, st)
}

// newNS makes a network namespace and returns a handle that keeps it, on
// a thread of its own that ends with it.
func newNS() (ns netns.NsHandle, err error) {
	osthread.Run(func() { ns, err = netns.New() })
	return ns, err
}

// NSPath is the namespace as a path another process (the container's
// init) can open while this one holds it.
func (a *Attachment) NSPath() string {
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(a.ns))
}

// Detach stops the DNS server, lets go of the namespace (the kernel then
// deletes the veth pairs) and releases the container's addresses, on
// its network and those it was connected to while it ran.
func (a *Attachment) Detach(ctx context.Context) error {
	if a.dns != nil {
		a.dns.stop()
	}
	a.stopSlirp()
	if a.ns >= 0 {
		a.ns.Close()
		a.ns = -1
	}
	if a.store == nil {
		return nil // slirp's: not in the store
	}
	return a.store.update(ctx, func(st *state) error {
		return a.store.dropEndpoints(st, a.Endpoint.Container)
	})
}

// dropEndpoints removes container's endpoints, and the DNAT rules of
// their ports.
func (s *Store) dropEndpoints(st *state, container string) error {
	ported := false
	st.Endpoints = slices.DeleteFunc(st.Endpoints, func(e *Endpoint) bool {
		ported = ported || e.Container == container && len(e.Ports) > 0
		return e.Container == container
	})
	if !ported {
		return nil
	}
	return ensureRules(s.table, st)
}

// Release drops the container's endpoints on every network, for a removed
// container whose supervisor could not detach.
func (s *Store) Release(ctx context.Context, container string) error {
	// Mostly the supervisor detached: then a look without the lock will do.
	if st, err := s.read(); err == nil && len(st.containerEndpoints(container)) == 0 {
		return nil
	}
	return s.update(ctx, func(st *state) error { return s.dropEndpoints(st, container) })
}
