package container

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// Prestart launches an init only for options whose container it fits,
// naming the container and making its cgroup; Close takes both back.
func TestPrestart(t *testing.T) {
	testutil.RequireRoot(t)
	u := unifiedDir()
	if u == "" {
		t.Skip("no cgroup v2 hierarchy")
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    CreateOptions
		want bool
	}{
		{"plain", CreateOptions{}, true},
		{"tty", CreateOptions{Tty: true}, false},
		{"stdin", CreateOptions{OpenStdin: true}, false},
		{"memory", CreateOptions{Memory: "64m"}, false},
		{"cpus", CreateOptions{CPUs: 0.5}, false},
		{"host pid", CreateOptions{PidMode: "host"}, false},
		{"privileged", CreateOptions{Privileged: true}, false},
		{"device", CreateOptions{Devices: []string{"/dev/null"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.MemorySwappiness = -1 // the flag's default: the host's
			p := s.Prestart(&o)
			if got := p != nil; got != tc.want {
				t.Fatalf("prestarted: %v, want %v", got, tc.want)
			}
			if p == nil {
				if o.ID != "" {
					t.Errorf("ID set without a prestart: %s", o.ID)
				}
				return
			}
			<-p.launched
			dir := filepath.Join(u, "lade", o.ID)
			if _, err := os.Stat(dir); err != nil || !p.ok || !p.fits(&Config{ID: o.ID}) {
				t.Errorf("prestart for %s: cgroup %v, launched %v, fits %v", o.ID, err, p.ok, p.fits(&Config{ID: o.ID}))
			}
			p.Close()
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("cgroup %s after Close: %v", dir, err)
			}
		})
	}
}
