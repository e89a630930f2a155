package network

import (
	"path/filepath"

	"github.com/moby/moby/api/types/events"

	ladeevents "github.com/lade-build/lade/events"
)

// event records action on network n in the lade root's event log (the
// store lives in <root>/networks), with docker's name and type
// attributes and extra; a failure to record is not the action's.
func (s *Store) event(action events.Action, n *Network, extra map[string]string) {
	attrs := map[string]string{"name": n.Name, "type": "bridge"}
	for k, v := range extra {
		attrs[k] = v
	}
	_ = ladeevents.Record(filepath.Dir(s.dir), events.NetworkEventType, action, n.ID, attrs)
}
