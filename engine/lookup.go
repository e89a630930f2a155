package engine

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ntypes "github.com/moby/moby/api/types/network"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/network"
)

// Kinds of object, as docker inspect's --type names them, in the order
// inspect without --type searches them.
var Kinds = []string{"container", "image", "network", "volume"}

// Stores are the stores of one lade root that objects are looked up in.
type Stores struct {
	Containers *container.Store
	Images     *images.Store
	Networks   *network.Store
	// Alive says whether a container runs (its network endpoints count).
	Alive func(id string) bool
}

// InspectOptions are docker inspect's options.
type InspectOptions struct {
	Platform *v1.Platform // an image's platform (nil: the host's)
	Size     bool         // a container's SizeRw and SizeRootFs
}

// ErrNotFound is returned by Inspect for a ref no object of the kinds
// searched has.
var ErrNotFound = errors.New("no such object")

// Inspect returns docker's inspect record of what ref names: an object
// of kind, or, with kind "", the first of Kinds that has one.
func (s Stores) Inspect(ctx context.Context, ref, kind string, o InspectOptions) (any, error) {
	kinds := Kinds
	if kind != "" {
		kinds = []string{kind}
	}
	for _, k := range kinds {
		v, err := s.inspect(ctx, ref, k, o)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return v, err
		}
	}
	return nil, noSuchObject{kind, ref}
}

// noSuchObject is docker's "No such KIND: REF"; it is ErrNotFound.
type noSuchObject struct{ kind, ref string }

func (e noSuchObject) Error() string {
	if e.kind == "" {
		return "No such object: " + e.ref
	}
	return "No such " + e.kind + ": " + e.ref
}

func (e noSuchObject) Unwrap() error { return ErrNotFound }

// inspect looks ref up in the store of kind; ErrNotFound when absent.
func (s Stores) inspect(ctx context.Context, ref, kind string, o InspectOptions) (any, error) {
	notFound := func(err error, sentinel error) error {
		if errors.Is(err, sentinel) {
			return ErrNotFound
		}
		return err
	}
	switch kind {
	case "container":
		c, err := s.Containers.Get(ref)
		if err != nil {
			return nil, notFound(err, container.ErrNotFound)
		}
		return s.InspectContainer(ctx, c, o.Size), nil
	case "image":
		ii, err := ImageInspect(ctx, s.Images, ref, o.Platform)
		return ii, notFound(err, images.ErrNotFound)
	case "volume":
		v, err := s.Containers.GetVolume(ref)
		if err != nil {
			return nil, notFound(err, container.ErrVolumeNotFound)
		}
		return Volume(v, nil), nil
	case "network":
		n, err := s.Networks.Get(ctx, ref)
		if err != nil {
			return nil, notFound(err, network.ErrNotFound)
		}
		_, eps, err := s.Networks.List(ctx)
		if err != nil {
			return nil, err
		}
		return NetworkInspect(n, eps, s.Alive), nil
	}
	return nil, fmt.Errorf("%q is not a valid value for --type", kind)
}

// InspectContainer is ContainerInspect of c with its image's config
// read from the image store; size measures its disk (inspect -s).
func (s Stores) InspectContainer(ctx context.Context, c *container.Container, size bool) ContainerJSON {
	var cfg *v1.ConfigFile
	var imgSize int64
	if img, err := s.Images.Get(ctx, c.ImageID); err == nil {
		cfg, _ = img.ConfigFile()
		imgSize = imageSize(img)
	}
	r := ContainerInspect(s.Containers, c, cfg)
	s.networkView(ctx).fill(c, r.NetworkSettings.Networks)
	if size {
		rw := s.Containers.SizeRw(c.ID)
		rootfs := rw + imgSize
		r.SizeRw, r.SizeRootFs = &rw, &rootfs
	}
	return r
}

// imageSize is the stored size of img's layers.
func imageSize(img v1.Image) int64 {
	m, err := img.Manifest()
	if err != nil {
		return 0
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// netView is what the root's network store says of every container's
// networks: the networks by name, and the endpoints of running ones.
type netView struct {
	byName    map[string]*network.Network
	endpoints []*network.Endpoint
}

// networkView reads the network store; empty when the root has none or
// it cannot be read.
func (s Stores) networkView(ctx context.Context) netView {
	v := netView{byName: map[string]*network.Network{}}
	if s.Networks == nil {
		return v
	}
	nets, eps, err := s.Networks.List(ctx)
	if err != nil {
		return v
	}
	for _, n := range nets {
		v.byName[n.Name] = n
	}
	v.endpoints = eps
	return v
}

// fill completes c's endpoint settings as docker's: each one's NetworkID
// (compose matches a container's networks to its project's by ID) and,
// while c runs, the address of those its state does not record (the
// further networks of network connect) from the network store's
// endpoint.
func (v netView) fill(c *container.Container, eps map[string]*ntypes.EndpointSettings) {
	for name, ep := range eps {
		n := v.byName[name]
		if n == nil {
			continue
		}
		ep.NetworkID = n.ID
		if !running(c) || ep.IPAddress.IsValid() {
			continue
		}
		for _, e := range v.endpoints {
			if e.Container == c.ID && e.Network == n.ID {
				setAddress(ep, e.IP, n.Gateway, n.Subnet.Bits(), e.MAC)
			}
		}
	}
}
