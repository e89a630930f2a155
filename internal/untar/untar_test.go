package untar

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

func tarOf(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hdrs {
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Linkname)) // Linkname carries the content here
			body := h.Linkname
			h.Linkname = ""
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			tw.Write([]byte(body))
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func reg(name, body string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeReg, Linkname: body}
}

// hook claims the names in claim and records what was written.
type hook struct {
	claim map[string]bool
	wrote []string
}

func (h *hook) Claim(name string, _ *tar.Header) (bool, error) { return h.claim[name], nil }
func (h *hook) Wrote(name string)                              { h.wrote = append(h.wrote, name) }

func TestExtract(t *testing.T) {
	testutil.RequireRoot(t)
	errLimit := errors.New("over the limit")
	tests := []struct {
		name    string
		opts    Options
		hdrs    []*tar.Header
		wantErr string
		check   func(t *testing.T, root string)
	}{{
		name:    "escape names the destination",
		opts:    Options{Kind: "tar", Dest: "destination"},
		hdrs:    []*tar.Header{reg("a/../../x", "x")},
		wantErr: `tar entry "a/../../x": path escapes the destination`,
	}, {
		name:    "hardlink escape",
		opts:    Options{Kind: "layer", Dest: "root"},
		hdrs:    []*tar.Header{{Name: "l", Typeflag: tar.TypeLink, Linkname: "../x"}},
		wantErr: `layer entry "l": hardlink target "../x": path escapes the root`,
	}, {
		name: "owner overrides the header",
		opts: Options{Owner: &Owner{UID: 1234, GID: 5678}},
		hdrs: []*tar.Header{reg("d/f", "x"), {Name: "s", Typeflag: tar.TypeSymlink, Linkname: "d/f", Uid: 1}},
		check: func(t *testing.T, root string) {
			for _, n := range []string{"d/f", "s"} {
				var st unix.Stat_t
				if err := unix.Lstat(filepath.Join(root, n), &st); err != nil || st.Uid != 1234 || st.Gid != 5678 {
					t.Errorf("%s: owner %d:%d (%v), want 1234:5678", n, st.Uid, st.Gid, err)
				}
			}
			// Implicit parents stay root's.
			var st unix.Stat_t
			if unix.Lstat(filepath.Join(root, "d"), &st); st.Uid != 0 || st.Mode&0o7777 != 0o755 {
				t.Errorf("implicit parent: uid %d mode %o, want 0 755", st.Uid, st.Mode&0o7777)
			}
		},
	}, {
		name:    "charge stops before writing",
		opts:    Options{Charge: func(h *tar.Header) error { return map[bool]error{true: errLimit}[h.Name == "big"] }},
		hdrs:    []*tar.Header{reg("small", "x"), reg("big", "xx")},
		wantErr: "over the limit",
		check: func(t *testing.T, root string) {
			if _, err := os.Lstat(filepath.Join(root, "big")); !os.IsNotExist(err) {
				t.Errorf("charged-out entry written: %v", err)
			}
		},
	}, {
		name: "root entry applied",
		hdrs: []*tar.Header{{Name: "./", Typeflag: tar.TypeDir, Mode: 0o710}},
		check: func(t *testing.T, root string) {
			if fi, _ := os.Lstat(root); fi.Mode().Perm() != 0o710 {
				t.Errorf("root mode %v, want 0710", fi.Mode().Perm())
			}
		},
	}, {
		name: "root entry skipped",
		opts: Options{SkipRoot: true},
		hdrs: []*tar.Header{{Name: "/", Typeflag: tar.TypeDir, Mode: 0o710}},
		check: func(t *testing.T, root string) {
			if fi, _ := os.Lstat(root); fi.Mode().Perm() == 0o710 {
				t.Errorf("root entry applied with SkipRoot")
			}
		},
	}, {
		name:    "root entry not a directory",
		hdrs:    []*tar.Header{reg(".", "x")},
		wantErr: "root entry is not a directory",
	}, {
		name: "devices without a hook",
		hdrs: []*tar.Header{{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}, {Name: "p", Typeflag: tar.TypeFifo, Mode: 0o640}},
		check: func(t *testing.T, root string) {
			var st unix.Stat_t
			if unix.Lstat(filepath.Join(root, "null"), &st); st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o7777 != 0o666 {
				t.Errorf("null: mode %o rdev %d", st.Mode, st.Rdev)
			}
			if unix.Lstat(filepath.Join(root, "p"), &st); st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Mode&0o7777 != 0o640 {
				t.Errorf("p: mode %o", st.Mode)
			}
		},
	}, {
		name:    "unsupported type",
		hdrs:    []*tar.Header{{Name: "v", Typeflag: 'V'}},
		wantErr: "unsupported tar entry type",
	}, {
		name: "hardlink to a symlink links the symlink",
		hdrs: []*tar.Header{reg("f", "x"), {Name: "s", Typeflag: tar.TypeSymlink, Linkname: "/f"}, {Name: "h", Typeflag: tar.TypeLink, Linkname: "s"}},
		check: func(t *testing.T, root string) {
			var s, h unix.Stat_t
			unix.Lstat(filepath.Join(root, "s"), &s)
			unix.Lstat(filepath.Join(root, "h"), &h)
			if h.Ino != s.Ino || h.Mode&unix.S_IFMT != unix.S_IFLNK {
				t.Errorf("h is not the symlink s")
			}
		},
	}, {
		name: "hook claims and sees",
		opts: Options{Hook: &hook{claim: map[string]bool{"skip": true}}},
		hdrs: []*tar.Header{reg("skip", "x"), reg("a/b", "x"), {Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}},
		check: func(t *testing.T, root string) {
			if _, err := os.Lstat(filepath.Join(root, "skip")); !os.IsNotExist(err) {
				t.Errorf("claimed entry extracted: %v", err)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.opts.Kind == "" {
				tt.opts.Kind, tt.opts.Dest = "tar", "destination"
			}
			err := Extract(context.Background(), bytes.NewReader(tarOf(t, tt.hdrs...)), root, tt.opts)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Extract = %v, want error %q", err, tt.wantErr)
			}
			if h, ok := tt.opts.Hook.(*hook); ok && strings.Join(h.wrote, ",") != "a/b" {
				t.Errorf("Wrote saw %q, want a/b", h.wrote)
			}
			if tt.check != nil {
				tt.check(t, root)
			}
		})
	}
}

func TestXattrs(t *testing.T) {
	testutil.RequireRoot(t)
	probe := filepath.Join(t.TempDir(), "probe")
	os.WriteFile(probe, nil, 0o644)
	if err := unix.Lsetxattr(probe, "trusted.lade", []byte("x"), 0); err != nil {
		t.Skipf("no trusted xattrs here: %v", err)
	}
	hdr := func() *tar.Header {
		h := reg("f", "x")
		h.PAXRecords = map[string]string{PAXXattr + "user.a": "1", PAXXattr + "trusted.overlay.opaque": "y"}
		return h
	}
	for _, all := range []bool{false, true} {
		root := t.TempDir()
		if err := Extract(context.Background(), bytes.NewReader(tarOf(t, hdr())), root, Options{Kind: "tar", AllXattrs: all}); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 8)
		_, uerr := unix.Lgetxattr(filepath.Join(root, "f"), "user.a", buf)
		_, terr := unix.Lgetxattr(filepath.Join(root, "f"), "trusted.overlay.opaque", buf)
		if uerr != nil || (terr == nil) != all {
			t.Errorf("AllXattrs=%v: user.a %v, trusted.overlay.opaque %v", all, uerr, terr)
		}
	}
}
