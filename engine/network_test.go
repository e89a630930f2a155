package engine

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/lade-build/lade/container"
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

// TestContainerNetworks: docker ps's record of a container lists its
// further networks beside its own, each with its network's ID, which
// compose compares with its project's networks.
func TestContainerNetworks(t *testing.T) {
	ctx := context.Background()
	ns, err := network.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	front, err := ns.Create(ctx, network.CreateOptions{Name: "p_front"})
	if err != nil {
		t.Fatal(err)
	}
	side, err := ns.Create(ctx, network.CreateOptions{Name: "p_side"})
	if err != nil {
		t.Fatal(err)
	}
	c := fixture()[0]
	c.Network, c.Net.Aliases = "p_front", []string{"web"}
	c.Net.Connections = []container.Connection{{Network: "p_side", Aliases: []string{"w"}}}
	sums := Stores{Networks: ns}.ContainerSummaries(ctx, []*container.Container{c}, false)
	got := map[string]string{}
	for name, ep := range sums[0].NetworkSettings.Networks {
		got[name] = ep.NetworkID + " " + strings.Join(ep.Aliases, ",")
	}
	want := map[string]string{"p_front": front.ID + " web", "p_side": side.ID + " w"}
	if !maps.Equal(got, want) {
		t.Errorf("NetworkSettings.Networks = %v, want %v", got, want)
	}
}
