package engine

import (
	vtypes "github.com/moby/moby/api/types/volume"

	"github.com/lade-build/lade/container"
)

// Volume fills docker's record of v; usage, when not nil, is its
// reference count and size (volume ls's and system df's).
func Volume(v *container.Volume, usage *vtypes.UsageData) vtypes.Volume {
	out := vtypes.Volume{
		Name:       v.Name,
		Driver:     v.Driver,
		Mountpoint: v.Mountpoint,
		Labels:     nonNilMap(v.Labels),
		Scope:      "local",
		Options:    map[string]string{},
		UsageData:  usage,
	}
	if !v.CreatedAt.IsZero() {
		out.CreatedAt = v.CreatedAt.Format("2006-01-02T15:04:05Z07:00")
	}
	return out
}
