package fileop

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lade-build/lade/internal/testutil"
)

func TestLookupUser(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root,
		file("etc/passwd", testPasswd+"web:x:1001:50:web:/srv/web:/bin/sh\nnohome:x:1002:1002::"),
		file("etc/group", testGroup+"staff:x:50:\nwheel:x:10:web,app\naudio:x:63:web\n"))
	empty := t.TempDir()
	tests := []struct {
		name    string
		root    string
		spec    string
		want    User
		wantErr string
	}{
		{"name", root, "app", User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{10}, Home: "/home/app"}, ""},
		{"uid", root, "1001", User{UID: 1001, GID: 50, AdditionalGIDs: []uint32{10, 63}, Home: "/srv/web"}, ""},
		{"root", root, "root", User{UID: 0, GID: 0, Home: "/root"}, ""},
		{"name:group", root, "web:staff", User{UID: 1001, GID: 50, Home: "/srv/web"}, ""},
		{"name:gid", root, "app:63", User{UID: 1000, GID: 63, Home: "/home/app"}, ""},
		{"uid:gid", root, "1000:1000", User{UID: 1000, GID: 1000, Home: "/home/app"}, ""},
		{"unknown uid", root, "4242", User{UID: 4242, GID: 0, Home: "/"}, ""},
		{"unknown uid:gid", root, "4242:4243", User{UID: 4242, GID: 4243, Home: "/"}, ""},
		{"empty home", root, "nohome", User{UID: 1002, GID: 1002, Home: "/"}, ""},
		{"numeric without files", empty, "1000:1000", User{UID: 1000, GID: 1000, Home: "/"}, ""},
		{"unknown name", root, "nobody", User{}, "unable to find user nobody: no matching entries in passwd file"},
		{"unknown group", root, "app:nogroup", User{}, "unable to find group nogroup: no matching entries in group file"},
		{"name without files", empty, "app", User{}, "unable to find user app: no matching entries in passwd file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LookupUser(tt.root, tt.spec)
			if testutil.ErrCase(t, err, tt.wantErr) {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLookupChown(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, file("etc/passwd", testPasswd+"web:x:1001:50:web:/srv/web:/bin/sh\n"), file("etc/group", testGroup+"staff:x:50:\n"))
	tests := []struct {
		spec    string
		want    Owner
		wantErr string
	}{
		{"app", Owner{1000, 1000}, ""},
		{"1000", Owner{1000, 1000}, ""},
		{"1000:1000", Owner{1000, 1000}, ""},
		{"app:app", Owner{1000, 1000}, ""},
		{"app:staff", Owner{1000, 50}, ""},
		{"web", Owner{1001, 50}, ""}, // a name takes the primary group, as BuildKit
		{"4242", Owner{4242, 4242}, ""},
		{"4242:7", Owner{4242, 7}, ""},
		{"nobody", Owner{}, "unable to find user nobody"},
		{"app:nogroup", Owner{}, "unable to find group nogroup"},
		{":1", Owner{}, "invalid --chown"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := LookupChown(root, tt.spec)
			if testutil.ErrCase(t, err, tt.wantErr) {
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLookupUserInRoot(t *testing.T) {
	// /etc inside the rootfs is a symlink to an absolute path: it must be
	// resolved inside the rootfs, never on the host.
	root := t.TempDir()
	mkTree(t, root, file("real/passwd", "app:x:77:77::/h:/bin/sh\n"), symlink("etc", "/real"))
	u, err := LookupUser(root, "app")
	if err != nil {
		t.Fatal(err)
	}
	if u.UID != 77 {
		t.Errorf("uid %d", u.UID)
	}
}

func TestContainerUser(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root,
		file("etc/passwd", testPasswd+"web:x:1001:50:web:/srv/web:/bin/sh\n"),
		file("etc/group", testGroup+"staff:x:50:\nwheel:x:10:web,app\naudio:x:63:web\n"))
	tests := []struct {
		name     string
		spec     string
		groupAdd []string
		want     []uint32
		wantErr  string
	}{
		{"primary first", "app", nil, []uint32{1000, 10}, ""},
		{"primary once", "web", nil, []uint32{50, 10, 63}, ""},
		{"explicit group", "web:audio", nil, []uint32{63}, ""},
		{"group-add", "app", []string{"staff", "4242", "10"}, []uint32{1000, 10, 50, 4242}, ""},
		{"group-add unknown", "app", []string{"nosuch"}, nil, "unable to find group nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ContainerUser(root, tt.spec, tt.groupAdd)
			if testutil.ErrCase(t, err, tt.wantErr) {
				return
			}
			if diff := cmp.Diff(tt.want, got.AdditionalGIDs); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
