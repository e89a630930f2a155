package userns_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// TestRootlessNetwork: as an unprivileged user, a container on the
// default network (slirp4netns's) reaches a server on the host's own
// non-loopback address, a published port is reached from the host, and a
// user-defined network is refused saying why.
func TestRootlessNetwork(t *testing.T) {
	u, bb := rootless(t)
	asUser(t, u, nil, "import", bb, "busybox")
	host, hport := testutil.ServeOnHost(t, "from-host")
	get := fmt.Sprintf(`printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 nc -w 5 %s %s`, host, hport)
	if out := asUser(t, u, nil, "run", "--rm", "busybox", "sh", "-c", get); !strings.HasSuffix(out, "from-host") {
		t.Errorf("rootless GET from the host's %s:%s: %q, want from-host", host, hport, out)
	}
	pl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pl.Addr().(*net.TCPAddr).Port
	pl.Close()
	id := strings.TrimSpace(asUser(t, u, nil, "run", "-d", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), "busybox", "sh", "-c",
		"mkdir /www && echo published > /www/index.html && exec httpd -f -p 8080 -h /www"))
	t.Cleanup(func() { u.Run(t, ladeBin, nil, "rm", "-f", id) })
	var body string
	testutil.Poll(t, "the published port", func() bool {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err == nil && resp.StatusCode == http.StatusOK
	})
	if body != "published\n" {
		t.Errorf("published port: %q, want published", body)
	}
	code, _, errs := u.Run(t, ladeBin, nil, "run", "--rm", "--network", "ladetest-net", "busybox", "true")
	if code != 125 || !strings.Contains(errs, "user-defined networks need root") {
		t.Errorf("rootless run on a user-defined network: exit %d, %q", code, errs)
	}
}
