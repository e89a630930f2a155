package container

import (
	"strings"
	"testing"
)

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want string // the ports, space-separated
		bad  bool
	}{
		{in: "8080:80", want: "0.0.0.0:8080->80/tcp"},
		{in: "127.0.0.1:8080:80/udp", want: "127.0.0.1:8080->80/udp"},
		{in: "80", want: "0.0.0.0:0->80/tcp"},
		{in: "53/udp", want: "0.0.0.0:0->53/udp"},
		{in: ":80", want: "0.0.0.0:0->80/tcp"},
		{in: "127.0.0.1::80", want: "127.0.0.1:0->80/tcp"},
		{in: "[::1]:9000:80", want: "::1:9000->80/tcp"},
		// Ranges, as docker takes them.
		{in: "8000-8002:80-82", want: "0.0.0.0:8000->80/tcp 0.0.0.0:8001->81/tcp 0.0.0.0:8002->82/tcp"},
		{in: "127.0.0.1:9000-9001:90-91/udp", want: "127.0.0.1:9000->90/udp 127.0.0.1:9001->91/udp"},
		{in: "80-81", want: "0.0.0.0:0->80/tcp 0.0.0.0:0->81/tcp"},
		{in: "127.0.0.1::80-81", want: "127.0.0.1:0->80/tcp 127.0.0.1:0->81/tcp"},
		{in: "8000-8010:80", want: "0.0.0.0:8000-8010->80/tcp"},
		{in: "8000-8010:80-85", bad: true}, // lengths differ
		{in: "8000:80-81", bad: true},
		{in: "82-80", bad: true},
		{in: "0-5:80", bad: true},
		{in: "a:80", bad: true},
		{in: "8080:80/sctp", bad: true},
		{in: "0", bad: true},
		{in: "70000:80", bad: true},
		{in: "80-70000", bad: true},
	}
	for _, tc := range tests {
		ps, err := ParsePorts(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if !tc.bad && strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %s, want %s", tc.in, strings.Join(got, " "), tc.want)
		}
	}
	if _, err := ParsePort("80-81"); err == nil {
		t.Error("ParsePort took a range")
	}
	if _, err := ParseRestart("on-failure:x"); err == nil {
		t.Error("bad restart count accepted")
	}
	if p, err := ParseRestart("on-failure:2"); err != nil || p.MaxRetries != 2 {
		t.Errorf("on-failure:2: %+v %v", p, err)
	}
	if n, err := ParseBytes("32m"); err != nil || n != 32<<20 {
		t.Errorf("32m = %d %v", n, err)
	}
}
