package network

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMakeResolv(t *testing.T) {
	host := resolvConf{servers: []string{"127.0.0.53", "10.0.0.2"}, search: []string{"lan"}, options: []string{"edns0"}}
	stub := resolvConf{servers: []string{"127.0.0.53"}}
	tests := []struct {
		name     string
		host     resolvConf
		o        ResolvOptions
		want     string
		upstream []string
	}{
		{"bridge drops loopback", host, ResolvOptions{}, "nameserver 10.0.0.2\nsearch lan\noptions edns0\n", nil},
		{"bridge, only loopback", stub, ResolvOptions{}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n", nil},
		{"host keeps loopback", host, ResolvOptions{HostNetwork: true}, "nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch lan\noptions edns0\n", nil},
		{"flags replace", host, ResolvOptions{DNS: []string{"10.9.9.9"}, Search: []string{"a.test"}, Options: []string{"ndots:2"}},
			"nameserver 10.9.9.9\nsearch a.test\noptions ndots:2\n", nil},
		{"embedded forwards to the host's", host, ResolvOptions{Embedded: true},
			"nameserver 127.0.0.11\nsearch lan\noptions edns0\n# ExtServers: [127.0.0.53 10.0.0.2]\n", []string{"127.0.0.53", "10.0.0.2"}},
		{"embedded with --dns", host, ResolvOptions{Embedded: true, DNS: []string{"10.9.9.9"}},
			"nameserver 127.0.0.11\nsearch lan\noptions edns0\n# ExtServers: [10.9.9.9]\n", []string{"10.9.9.9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := makeResolv(tc.host, tc.o)
			if diff := cmp.Diff(tc.want, got.Content); diff != "" {
				t.Errorf("content (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.upstream, got.Upstream); diff != "" {
				t.Errorf("upstream (-want +got):\n%s", diff)
			}
		})
	}
}
