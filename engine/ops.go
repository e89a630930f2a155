package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/network"
	"github.com/lade-build/lade/snapshot"
)

// Pulled is what Pull did: the manifest digest now under the name, and
// whether the name pointed at it already (docker's "up to date").
type Pulled struct {
	Digest   v1.Hash
	UpToDate bool
}

// Pull is docker pull of one ref: the image fetched, its layers unpacked
// into snaps while they download (any Pull could not unpack is unpacked
// after: the first run starts at once, and a layer that cannot be
// unpacked fails the pull before the name is set), then kept under ref.
func Pull(ctx context.Context, s *images.Store, snaps *snapshot.Snapshotter, ref string, o images.PullOptions) (Pulled, error) {
	if _, err := images.ParseReference(ref); err != nil {
		return Pulled{}, err
	}
	var before v1.Hash
	if img, err := s.Get(ctx, ref); err == nil {
		before, _ = img.Digest()
	}
	o.Snapshots = snaps
	img, err := s.Pull(ctx, ref, o)
	if err != nil {
		return Pulled{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return Pulled{}, err
	}
	if _, err := snaps.UnpackImage(ctx, img); err != nil {
		return Pulled{}, err
	}
	if err := s.Keep(ctx, ref, img); err != nil {
		return Pulled{}, err
	}
	return Pulled{Digest: d, UpToDate: before == d}, nil
}

// Tag is docker tag: the target is checked first (a digest is no tag),
// then the source, an image or a multi-platform index, must exist.
func Tag(ctx context.Context, s *images.Store, source, target string) error {
	t, err := images.ParseReference(target)
	if err != nil {
		return err
	}
	if _, ok := t.(name.Digest); ok {
		return errors.New("refusing to create a tag with a digest reference")
	}
	idx, err := s.GetIndex(ctx, source)
	if err == nil {
		return s.TagIndex(ctx, target, idx)
	}
	if !errors.Is(err, images.ErrNotIndex) {
		return notFoundImage(source, err)
	}
	img, err := s.Get(ctx, source)
	if err != nil {
		return notFoundImage(source, err)
	}
	return s.Tag(ctx, target, img)
}

// noSuchImage is docker's "No such image: REF"; it is images.ErrNotFound.
type noSuchImage string

func (e noSuchImage) Error() string { return "No such image: " + string(e) }
func (e noSuchImage) Unwrap() error { return images.ErrNotFound }

// notFoundImage says "No such image" as docker for a missing image.
func notFoundImage(ref string, err error) error {
	if errors.Is(err, images.ErrNotFound) {
		return noSuchImage(ref)
	}
	return err
}

// RemoveImage is docker rmi of ref: the containers of cs using an image
// keep it unless force says otherwise (images.Store.Delete's rules).
func RemoveImage(ctx context.Context, s *images.Store, cs *container.Store, ref string, force bool) (images.Removed, error) {
	users := func(id v1.Hash) []images.User {
		var out []images.User
		ctrs, _ := cs.ImageUsers(id.String())
		for _, c := range ctrs {
			out = append(out, images.User{ID: c.ID, Running: cs.Running(c.ID)})
		}
		return out
	}
	removed, err := s.Delete(ctx, ref, force, users)
	return removed, notFoundImage(ref, err)
}

// ContainerImage is what a container is created from: img, stored under
// ref, with its layers unpacked into snaps.
func ContainerImage(ctx context.Context, snaps *snapshot.Snapshotter, ref string, img v1.Image) (container.Image, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return container.Image{}, err
	}
	var ic dockerspec.DockerOCIImage
	if err := json.Unmarshal(raw, &ic); err != nil {
		return container.Image{}, fmt.Errorf("decoding image config: %w", err)
	}
	imgID, _ := img.ConfigName()
	diffIDs, err := snaps.UnpackImage(ctx, img)
	if err != nil {
		return container.Image{}, err
	}
	lowers, err := snaps.Lowers(diffIDs)
	if err != nil {
		return container.Image{}, err
	}
	return container.Image{Ref: ref, ID: imgID.String(), Config: &ic, Lowers: lowers}, nil
}

// PruneNetworks removes the user-defined networks of ns that no
// container of cs, running or not, is on or connected to (docker's
// "unused").
func PruneNetworks(ctx context.Context, cs *container.Store, ns *network.Store) ([]string, error) {
	all, err := cs.List()
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range all {
		used[c.Network] = true
		for _, x := range c.Net.Connections {
			used[x.Network] = true
		}
	}
	return ns.Prune(ctx, cs.Running, used)
}
