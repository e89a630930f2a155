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
	setNetworkIDs(r.NetworkSettings.Networks, s.networkIDs(ctx))
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

// networkIDs are the root's networks' IDs by name; none when it has no
// network store or cannot read it.
func (s Stores) networkIDs(ctx context.Context) map[string]string {
	ids := map[string]string{}
	if s.Networks == nil {
		return ids
	}
	nets, _, err := s.Networks.List(ctx)
	if err != nil {
		return ids
	}
	for _, n := range nets {
		ids[n.Name] = n.ID
	}
	return ids
}

// setNetworkIDs fills each endpoint's NetworkID, as docker's: compose
// matches a container's networks to its project's by ID.
func setNetworkIDs(eps map[string]*ntypes.EndpointSettings, ids map[string]string) {
	for name, ep := range eps {
		ep.NetworkID = ids[name]
	}
}
