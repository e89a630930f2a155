package engine

import (
	"strings"

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

// ListVolumes fills the records of the volumes in s that docker volume
// ls shows with filters (name=SUBSTRING, label=KEY[=VALUE], driver=NAME,
// dangling=true|false: used by no container).
func ListVolumes(s *container.Store, filters []string) ([]vtypes.Volume, error) {
	f, err := ParseFilters(filters, "name", "label", "driver", "dangling")
	if err != nil {
		return nil, err
	}
	vols, err := s.ListVolumes()
	if err != nil {
		return nil, err
	}
	out := []vtypes.Volume{}
	for _, v := range vols {
		var derr error
		ok := f.match("name", func(x string) bool { return strings.Contains(v.Name, x) }) &&
			f.matchLabels("label", v.Labels) &&
			f.match("driver", func(x string) bool { return v.Driver == x }) &&
			f.match("dangling", func(x string) bool {
				want, err := boolValue("dangling", x)
				if err != nil {
					derr = err
					return false
				}
				users, _ := s.VolumeUsers(v.Name)
				return want == (len(users) == 0)
			})
		if derr != nil {
			return nil, derr
		}
		if ok {
			out = append(out, Volume(v, nil))
		}
	}
	return out, nil
}
