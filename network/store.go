package network

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/moby/moby/api/types/events"

	"github.com/lade-build/lade/internal/atomicfile"
	"github.com/lade-build/lade/internal/flock"
)

// DefaultName is the default network, docker's name for it.
const DefaultName = "bridge"

// DefaultDir is where the default root keeps its networks: that root's
// default bridge is lade0 and its nftables table lade.
const DefaultDir = "/var/lib/lade/networks"

// ErrNotFound is returned for a network that does not exist.
var ErrNotFound = errors.New("network not found")

// Network is a bridge network.
type Network struct {
	Name     string            `json:"name"`
	ID       string            `json:"id"`
	Driver   string            `json:"driver"`
	Subnet   netip.Prefix      `json:"subnet"`
	Gateway  netip.Addr        `json:"gateway"`
	Internal bool              `json:"internal,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Bridge   string            `json:"bridge"` // the Linux bridge's name
	Created  time.Time         `json:"created"`
}

// Default says whether n is the default network (no names, docker's rule).
func (n *Network) Default() bool { return n.Name == DefaultName }

// Endpoint is a running container's address on a network.
type Endpoint struct {
	Container string     `json:"container"` // full ID
	Name      string     `json:"name"`      // container name
	Aliases   []string   `json:"aliases,omitempty"`
	Network   string     `json:"network"` // network ID
	IP        netip.Addr `json:"ip"`
	MAC       string     `json:"mac"`
	Ports     []PortMap  `json:"ports,omitempty"` // published by DNAT to IP
}

// PortMap is a port published on the host: HostIP:HostPort (HostIP empty:
// every address) leads to the endpoint's Port.
type PortMap struct {
	Proto    string `json:"proto"` // tcp or udp
	HostIP   string `json:"hostIP,omitempty"`
	HostPort int    `json:"hostPort"`
	Port     int    `json:"port"`
}

// state is the file under the lock: every network and endpoint.
type state struct {
	Networks  []*Network  `json:"networks"`
	Endpoints []*Endpoint `json:"endpoints,omitempty"`
	// Next is, by network ID, where the search for a free address
	// starts: after the last one given out (see allocate).
	Next map[string]netip.Addr `json:"next,omitempty"`
}

// Store is the networks of one lade root.
type Store struct {
	dir   string
	table string // the nftables table holding this root's rules
	// defaultBridge names the default network's bridge: lade0 for the
	// default root, else one named after the network's ID.
	defaultBridge string
}

// Open opens (creating) the network store in dir, <root>/networks.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	s := &Store{dir: dir, table: "lade", defaultBridge: "lade0"}
	if dir != DefaultDir {
		sum := sha256.Sum256([]byte(dir))
		s.table, s.defaultBridge = "lade-"+hex.EncodeToString(sum[:4]), ""
	}
	return s, nil
}

// Table is the name of the root's nftables table (family ip).
func (s *Store) Table() string { return s.table }

func (s *Store) path() string { return filepath.Join(s.dir, "networks.json") }

// read is the state as last written; no lock (writes are atomic renames).
func (s *Store) read() (*state, error) {
	st := &state{}
	b, err := os.ReadFile(s.path())
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.path(), err)
	}
	return st, nil
}

// update runs fn on the state under the store's lock, with the default
// network present, and saves it when fn succeeds.
func (s *Store) update(ctx context.Context, fn func(*state) error) error {
	return flock.With(ctx, filepath.Join(s.dir, "lock"), unix.LOCK_EX, func() error {
		st, err := s.read()
		if err != nil {
			return err
		}
		if st.find(DefaultName) == nil {
			if _, err := s.add(st, CreateOptions{Name: DefaultName}); err != nil {
				return fmt.Errorf("default network: %w", err)
			}
		}
		if err := fn(st); err != nil {
			return err
		}
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		return atomicfile.WriteFile(s.path(), b, atomicfile.Options{Perm: 0o600})
	})
}

// find is the network named ref, or with ref as a prefix of its ID.
func (st *state) find(ref string) *Network {
	for _, n := range st.Networks {
		if n.Name == ref || n.ID == ref {
			return n
		}
	}
	if len(ref) < 3 {
		return nil
	}
	var found *Network
	for _, n := range st.Networks {
		if strings.HasPrefix(n.ID, ref) {
			if found != nil {
				return nil // ambiguous
			}
			found = n
		}
	}
	return found
}

// endpoints are the endpoints on network id.
func (st *state) endpoints(id string) []*Endpoint {
	return st.endpointsWhere(func(e *Endpoint) bool { return e.Network == id })
}

// containerEndpoints are container's endpoints on every network.
func (st *state) containerEndpoints(container string) []*Endpoint {
	return st.endpointsWhere(func(e *Endpoint) bool { return e.Container == container })
}

func (st *state) endpointsWhere(keep func(*Endpoint) bool) []*Endpoint {
	var out []*Endpoint
	for _, e := range st.Endpoints {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// CreateOptions are `network create`'s.
type CreateOptions struct {
	Name     string
	Subnet   string // CIDR; empty picks a free one
	Gateway  string // empty: the subnet's first address
	Internal bool
	Labels   map[string]string
}

// Create records a new network; its bridge is made when a container
// first joins it.
func (s *Store) Create(ctx context.Context, o CreateOptions) (*Network, error) {
	var n *Network
	err := s.update(ctx, func(st *state) error {
		var err error
		n, err = s.add(st, o)
		return err
	})
	if err == nil {
		s.event(events.ActionCreate, n, nil)
	}
	return n, err
}

func (s *Store) add(st *state, o CreateOptions) (*Network, error) {
	if err := checkName(o.Name); err != nil {
		return nil, err
	}
	if st.find(o.Name) != nil {
		return nil, fmt.Errorf("network with name %s already exists", o.Name)
	}
	subnet, gw, err := addressing(st, o)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	n := &Network{
		Name: o.Name, ID: hex.EncodeToString(id), Driver: "bridge", Subnet: subnet, Gateway: gw,
		Internal: o.Internal, Labels: o.Labels, Created: time.Now().UTC(),
	}
	n.Bridge = "br-" + n.ID[:12]
	if n.Default() && s.defaultBridge != "" {
		n.Bridge = s.defaultBridge
	}
	st.Networks = append(st.Networks, n)
	return n, nil
}

// checkName refuses the names docker reserves and ones a bridge record
// or DNS name could not carry.
func checkName(name string) error {
	switch name {
	case "":
		return errors.New("a network needs a name")
	case "host", "none", "private", "default":
		return fmt.Errorf("%s is a pre-defined network and cannot be created", name)
	}
	if strings.HasPrefix(name, "container:") || strings.ContainsAny(name, "/ \t\n") {
		return fmt.Errorf("invalid network name %q", name)
	}
	return nil
}

// Get is the network named (or with the ID prefix) ref.
func (s *Store) Get(ctx context.Context, ref string) (*Network, error) {
	var n *Network
	err := s.update(ctx, func(st *state) error {
		if n = st.find(ref); n == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, ref)
		}
		return nil
	})
	return n, err
}

// List is every network, the default one first, then by name.
func (s *Store) List(ctx context.Context) ([]*Network, []*Endpoint, error) {
	var st *state
	err := s.update(ctx, func(cur *state) error {
		st = cur
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sort.SliceStable(st.Networks, func(i, j int) bool {
		a, b := st.Networks[i], st.Networks[j]
		if a.Default() != b.Default() {
			return a.Default()
		}
		return a.Name < b.Name
	})
	return st.Networks, st.Endpoints, nil
}

// Remove deletes network ref, its bridge and its rules; alive says which
// containers still run (their endpoints keep the network).
func (s *Store) Remove(ctx context.Context, ref string, alive func(id string) bool) error {
	var gone Network
	err := s.update(ctx, func(st *state) error {
		n := st.find(ref)
		if n == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, ref)
		}
		if n.Default() {
			return fmt.Errorf("%s is a pre-defined network and cannot be removed", n.Name)
		}
		st.sweep(alive)
		if eps := st.endpoints(n.ID); len(eps) > 0 {
			return fmt.Errorf("network %s has active endpoints (%s)", n.Name, eps[0].Name)
		}
		gone = *n
		return s.drop(st, n)
	})
	if err == nil {
		s.event(events.ActionDestroy, &gone, nil)
	}
	return err
}

// drop removes n from st and tears down its bridge and rules.
func (s *Store) drop(st *state, n *Network) error {
	for i, m := range st.Networks {
		if m == n {
			st.Networks = append(st.Networks[:i], st.Networks[i+1:]...)
			break
		}
	}
	if err := deleteBridge(n.Bridge); err != nil {
		return err
	}
	return syncRules(s.table, st)
}

// Prune removes the user-defined networks that no running container is
// on and no container names (used, by network name), and returns their
// names.
func (s *Store) Prune(ctx context.Context, alive func(id string) bool, used map[string]bool) ([]string, error) {
	var removed []string
	err := s.update(ctx, func(st *state) error {
		st.sweep(alive)
		for _, n := range slices.Clone(st.Networks) {
			if n.Default() || used[n.Name] || len(st.endpoints(n.ID)) > 0 {
				continue
			}
			if err := s.drop(st, n); err != nil {
				return err
			}
			removed = append(removed, n.Name)
		}
		return nil
	})
	return removed, err
}

// Teardown deletes every bridge and the nftables table of the root's
// networks, leaving the records: tests clean up with it.
func (s *Store) Teardown() error {
	st, err := s.read()
	if err != nil {
		return err
	}
	for _, n := range st.Networks {
		if err := deleteBridge(n.Bridge); err != nil {
			return err
		}
	}
	return deleteTable(s.table)
}

// sweep drops the endpoints of containers no supervisor runs any more.
func (st *state) sweep(alive func(id string) bool) {
	kept := st.Endpoints[:0]
	for _, e := range st.Endpoints {
		if alive(e.Container) {
			kept = append(kept, e)
		}
	}
	st.Endpoints = kept
}
