package apiserver

import (
	"encoding/json"
	"testing"

	etypes "github.com/moby/moby/api/types/events"
)

// TestLegacyEvent: container and image events carry API 1.21's status,
// id and from (docker-compose 1.29 reads them); others do not.
func TestLegacyEvent(t *testing.T) {
	tests := []struct {
		typ  etypes.Type
		want string
	}{
		{etypes.ContainerEventType, `{"status":"start","id":"c1","from":"busybox","Type":"container","Action":"start",` +
			`"Actor":{"ID":"c1","Attributes":{"image":"busybox"}},"scope":"local","time":1,"timeNano":1000000000}`},
		{etypes.ImageEventType, `{"status":"start","id":"c1","Type":"image","Action":"start",` +
			`"Actor":{"ID":"c1","Attributes":{"image":"busybox"}},"scope":"local","time":1,"timeNano":1000000000}`},
		{etypes.NetworkEventType, `{"Type":"network","Action":"start",` +
			`"Actor":{"ID":"c1","Attributes":{"image":"busybox"}},"scope":"local","time":1,"timeNano":1000000000}`},
	}
	for _, tt := range tests {
		m := &etypes.Message{Type: tt.typ, Action: "start", Actor: etypes.Actor{ID: "c1", Attributes: map[string]string{"image": "busybox"}},
			Scope: "local", Time: 1, TimeNano: 1e9}
		got, err := json.Marshal(withLegacy(m))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s event: %s, want %s", tt.typ, got, tt.want)
		}
	}
}
