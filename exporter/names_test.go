package exporter

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		in      string
		want    imageName
		wantErr bool
	}{
		{in: "app", want: imageName{full: "docker.io/library/app:latest", familiar: "app:latest", repo: "app", tag: "latest"}},
		{in: "app:v1", want: imageName{full: "docker.io/library/app:v1", familiar: "app:v1", repo: "app", tag: "v1"}},
		{in: "docker.io/library/app", want: imageName{full: "docker.io/library/app:latest", familiar: "app:latest", repo: "app", tag: "latest"}},
		{in: "index.docker.io/user/app:2", want: imageName{full: "docker.io/user/app:2", familiar: "user/app:2", repo: "user/app", tag: "2"}},
		{in: "library/foo/bar", want: imageName{full: "docker.io/library/foo/bar:latest", familiar: "library/foo/bar:latest", repo: "library/foo/bar", tag: "latest"}},
		{in: "127.0.0.1:5000/busybox", want: imageName{full: "127.0.0.1:5000/busybox:latest", familiar: "127.0.0.1:5000/busybox:latest", repo: "127.0.0.1:5000/busybox", tag: "latest"}},
		{in: "localhost/a/b:c", want: imageName{full: "localhost/a/b:c", familiar: "localhost/a/b:c", repo: "localhost/a/b", tag: "c"}},
		{in: "app@sha256:" + sixtyFourZeros, wantErr: true},
		{in: "app:v1@sha256:" + sixtyFourZeros, wantErr: true},
		{in: "App", wantErr: true},
		{in: "", wantErr: true},
		{in: "app:", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseName(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseName(%q) = %+v, want error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(imageName{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

const sixtyFourZeros = "0000000000000000000000000000000000000000000000000000000000000000"

func TestParseNamesDedup(t *testing.T) {
	got, err := parseNames([]string{"app", "docker.io/library/app:latest", "b", "app:latest"})
	if err != nil {
		t.Fatal(err)
	}
	var fulls []string
	for _, n := range got {
		fulls = append(fulls, n.full)
	}
	if diff := cmp.Diff([]string{"docker.io/library/app:latest", "docker.io/library/b:latest"}, fulls); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
