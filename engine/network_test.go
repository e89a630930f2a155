package engine

import (
	"maps"
	"testing"

	"github.com/lade-build/lade/network"
)

// TestNetworkOptions: a user network shows only the driver options given
// at its creation (none, in lade), so compose 1.29 does not take it for a
// changed one; the default network shows its bridge, as docker0.
func TestNetworkOptions(t *testing.T) {
	tests := []struct {
		n    network.Network
		want map[string]string
	}{
		{network.Network{Name: "proj_default", Bridge: "br-0123456789ab"}, map[string]string{}},
		{network.Network{Name: network.DefaultName, Bridge: "lade0"}, map[string]string{"com.docker.network.bridge.name": "lade0"}},
	}
	for _, tt := range tests {
		if got := NetworkSummary(&tt.n).Options; !maps.Equal(got, tt.want) || got == nil {
			t.Errorf("NetworkSummary(%s).Options = %v, want %v", tt.n.Name, got, tt.want)
		}
	}
}
