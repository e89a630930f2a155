package images

import (
	"path/filepath"

	"github.com/moby/moby/api/types/events"

	ladeevents "github.com/lade-build/lade/events"
)

// event records action on image id (a name or an image ID) in the lade
// root's event log (the store lives in <root>/images); a failure to
// record is not the action's.
func (s *Store) event(action events.Action, id string, attrs map[string]string) {
	if attrs == nil {
		attrs = map[string]string{"name": id}
	}
	_ = ladeevents.Record(filepath.Dir(s.root), events.ImageEventType, action, id, attrs)
}
