package images

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestApplyChanges(t *testing.T) {
	tests := []struct {
		changes []string
		want    v1.Config
		wantErr string
	}{
		{changes: []string{`CMD ["/bin/app", "-v"]`}, want: v1.Config{Cmd: []string{"/bin/app", "-v"}}},
		{changes: []string{`ENTRYPOINT echo hi`}, want: v1.Config{Entrypoint: []string{"/bin/sh", "-c", "echo hi"}}},
		{changes: []string{`ENV A=1 B=2`, `ENV A=3`}, want: v1.Config{Env: []string{"A=3", "B=2"}}},
		{changes: []string{`EXPOSE 80 53/udp`}, want: v1.Config{ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}}}},
		{changes: []string{`LABEL a=b "c d"=e`}, want: v1.Config{Labels: map[string]string{"a": "b", "c d": "e"}}},
		{changes: []string{`ENV D=/srv`, `WORKDIR $D`, `WORKDIR app`}, want: v1.Config{Env: []string{"D=/srv"}, WorkingDir: "/srv/app"}},
		{changes: []string{`USER 1000:1000`, `STOPSIGNAL SIGRTMIN+3`, `VOLUME /data`, `ONBUILD RUN make`},
			want: v1.Config{User: "1000:1000", StopSignal: "SIGRTMIN+3", Volumes: map[string]struct{}{"/data": {}}, OnBuild: []string{"RUN make"}}},
		{changes: []string{`HEALTHCHECK --interval=5s CMD true`},
			want: v1.Config{Healthcheck: &v1.HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: 5 * time.Second}}},
		{changes: []string{`RUN rm -rf /`}, wantErr: "RUN is not a valid change command"},
		{changes: []string{`FROM busybox`}, wantErr: "FROM is not a valid change command"},
		{changes: []string{"CMD a\nCMD b"}, wantErr: "want one instruction"},
	}
	for _, tt := range tests {
		var got v1.Config
		err := ApplyChanges(&got, tt.changes)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ApplyChanges(%q) = %v, want error %q", tt.changes, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ApplyChanges(%q): %v", tt.changes, err)
		} else if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("ApplyChanges(%q) (-want +got):\n%s", tt.changes, d)
		}
	}
}
