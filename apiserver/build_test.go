package apiserver

import (
	"net/http/httptest"
	"reflect"
	"testing"
)

// TestBuildSandboxParams: the classic builder's extrahosts, shmsize and
// ulimits reach the build's sandbox, checked by --add-host's one parser.
func TestBuildSandboxParams(t *testing.T) {
	for _, c := range []struct {
		query   string
		hosts   []string
		shm     int64
		ulimits int
		bad     bool
	}{
		{query: "extrahosts=db:10.0.0.2,gw:host-gateway", hosts: []string{"db:10.0.0.2", "gw:host-gateway"}},
		{query: "extrahosts=db=10.0.0.2&extrahosts=v6:::1", hosts: []string{"db:10.0.0.2", "v6:::1"}},
		{query: "shmsize=1048576", shm: 1 << 20},
		{query: `ulimits=[{"Name":"nofile","Soft":100,"Hard":200}]`, ulimits: 1},
		{query: "extrahosts=db:nope", bad: true},
		{query: "shmsize=-1", bad: true},
		{query: "ulimits=[", bad: true},
	} {
		r := httptest.NewRequest("POST", "/build?"+c.query, nil)
		p, err := readBuildParams(r)
		if c.bad {
			if err == nil {
				t.Errorf("%s: no error", c.query)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		s := p.o.Sandbox
		if !reflect.DeepEqual(s.ExtraHosts, c.hosts) || s.ShmSize != c.shm || len(s.Ulimits) != c.ulimits {
			t.Errorf("%s: sandbox %+v", c.query, s)
		}
	}
}
