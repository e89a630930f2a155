package container

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePS(t *testing.T) {
	ef := `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         200       1  0 10:01 ?        00:00:00 sh -c sleep 300 & wait
root         201     200  0 10:01 ?        00:00:00 sleep 300
`
	for _, tc := range []struct {
		name, out string
		pids      []int
		want      [][]string
		err       bool
	}{
		{"ef", ef, []int{200, 201}, [][]string{
			{"root", "200", "1", "0", "10:01", "?", "00:00:00", "sh -c sleep 300 & wait"},
			{"root", "201", "200", "0", "10:01", "?", "00:00:00", "sleep 300"},
		}, false},
		{"none of ours", ef, []int{999}, [][]string{}, false},
		{"custom columns", "  PID ARGS\n  201 sleep 300\n", []int{201}, [][]string{{"201", "sleep 300"}}, false},
		{"no PID column", "USER COMMAND\nroot sh\n", []int{1}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePS(tc.out, tc.pids)
			if (err != nil) != tc.err {
				t.Fatalf("parsePS error %v, want error %v", err, tc.err)
			}
			if tc.err {
				return
			}
			if d := cmp.Diff(tc.want, got.Processes); d != "" {
				t.Errorf("parsePS processes (-want +got):\n%s", d)
			}
		})
	}
}
