package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// cgiAddr serves, on 8080, a CGI script that prints the client's address
// as the container sees it.
const cgiAddr = `mkdir -p /www/cgi-bin && printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho $REMOTE_ADDR\n' >/www/cgi-bin/a && chmod +x /www/cgi-bin/a && exec httpd -f -p 8080 -h /www`

// TestPublishDNATAndProxy: a port published on every address reaches the
// container by kernel DNAT from the host's own address (the container sees
// that address), and through the userspace proxy from loopback, IPv4 and
// IPv6 (the container sees its own loopback); a [::1] bind is the proxy's.
// port lists the IPv6 address too, as docker's.
func TestPublishDNATAndProxy(t *testing.T) {
	root := newRoot(t)
	host := testutil.HostAddr(t)
	any, v6 := freePort(t), freePort(t)
	id := runDetached(t, root, "-p", fmt.Sprintf("%d:8080", any), "-p", fmt.Sprintf("[::1]:%d:8080", v6), "busybox", "sh", "-c", cgiAddr)
	tests := []struct {
		host string
		port int
		want string
	}{
		{host, any, host},
		{"127.0.0.1", any, "127.0.0.1"},
		{"::1", any, "127.0.0.1"},
		{"::1", v6, "127.0.0.1"},
	}
	for _, tt := range tests {
		url := "http://" + net.JoinHostPort(tt.host, strconv.Itoa(tt.port)) + "/cgi-bin/a"
		var body string
		testutil.Poll(t, "GET "+url, func() bool {
			var ok bool
			body, ok = httpGet(url)
			return ok
		})
		got := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(body), "[::ffff:"), "]")
		if got != tt.want {
			t.Errorf("GET %s: the container saw %q, want %q", url, got, tt.want)
		}
	}
	want := fmt.Sprintf("8080/tcp -> 0.0.0.0:%d\n8080/tcp -> [::]:%d\n8080/tcp -> [::1]:%d\n", any, any, v6)
	if r := lade(t, root, "", "port", id); r.stdout != want {
		t.Errorf("port: %q, want %q", r.stdout, want)
	}
}
