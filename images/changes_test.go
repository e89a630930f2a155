package images

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestApplyChanges(t *testing.T) {
	base := func() v1.Config {
		return v1.Config{Env: []string{"PATH=/bin", "A=old"}, Cmd: []string{"sh"}, Labels: map[string]string{"k": "v"}}
	}
	for _, tc := range []struct {
		changes []string
		want    func(*v1.Config)
		err     string
	}{
		{[]string{`CMD ["x", "y"]`}, func(c *v1.Config) { c.Cmd = []string{"x", "y"} }, ""},
		{[]string{"CMD echo hi"}, func(c *v1.Config) { c.Cmd = []string{"/bin/sh", "-c", "echo hi"} }, ""},
		{[]string{`ENTRYPOINT ["/e"]`}, func(c *v1.Config) { c.Entrypoint = []string{"/e"} }, ""},
		{[]string{"ENV A=new B=2"}, func(c *v1.Config) { c.Env = []string{"PATH=/bin", "A=new", "B=2"} }, ""},
		{[]string{"EXPOSE 80 53/udp"}, func(c *v1.Config) { c.ExposedPorts = map[string]struct{}{"80/tcp": {}, "53/udp": {}} }, ""},
		{[]string{"LABEL a=b"}, func(c *v1.Config) { c.Labels["a"] = "b" }, ""},
		{[]string{"WORKDIR /w", "USER nobody"}, func(c *v1.Config) { c.WorkingDir, c.User = "/w", "nobody" }, ""},
		{[]string{"VOLUME /data"}, func(c *v1.Config) { c.Volumes = map[string]struct{}{"/data": {}} }, ""},
		{[]string{"STOPSIGNAL SIGINT"}, func(c *v1.Config) { c.StopSignal = "SIGINT" }, ""},
		{[]string{"RUN true"}, nil, "RUN is not a valid change command"},
		{[]string{"COPY a b"}, nil, "COPY is not a valid change command"},
	} {
		t.Run(strings.Join(tc.changes, ";"), func(t *testing.T) {
			got := base()
			err := ApplyChanges(&got, tc.changes)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("ApplyChanges = %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := base()
			tc.want(&want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("ApplyChanges (-want +got):\n%s", d)
			}
		})
	}
}
