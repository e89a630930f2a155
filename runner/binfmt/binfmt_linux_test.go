package binfmt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const (
	aarch64Entry = "interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\noffset 0\n" +
		"magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
	aarch64Package = "package qemu-user-static\ninterpreter INTERP\n" +
		`magic \x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00` + "\noffset 0\n" +
		`mask \xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff` + "\ncredentials no\nfix_binary yes\npreserve yes\n"
)

// Prepare's choices on a fake amd64 host: the binfmt_misc directory, the
// binfmt-support descriptions and the emulators on the path are the
// test's own, and "register" is a plain file catching what Prepare
// would register.
func TestPrepareChoices(t *testing.T) {
	arm64 := v1.Platform{OS: "linux", Architecture: "arm64"}
	for _, tc := range []struct {
		name     string
		p        v1.Platform
		off      bool   // binfmt_misc's status is disabled
		entry    string // the binfmt_misc entry qemu-aarch64, if any
		pkg      bool   // binfmt-support describes qemu-aarch64
		static   bool   // qemu-aarch64-static is on the path
		register string // the line registered; "" none
		problem  string // the error; "" none
	}{
		{name: "native", p: v1.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}},
		{name: "i386 runs natively", p: v1.Platform{OS: "linux", Architecture: "386"}},
		{name: "handler with F", p: arm64, entry: "enabled\nflags: PF\n" + aarch64Entry},
		{name: "handler with F but disabled, qemu on the path", p: arm64, entry: "disabled\nflags: PF\n" + aarch64Entry, static: true,
			register: `:lade-qemu-aarch64:M:0:\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:` +
				`\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:BIN/qemu-aarch64-static:F`},
		{name: "binfmt-support's description", p: arm64, pkg: true, static: true,
			register: `:lade-qemu-aarch64:M:0:\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:` +
				`\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:INTERP:PF`},
		{name: "no emulator", p: arm64,
			problem: "platform linux/arm64 needs emulation on this linux/amd64 host: no qemu-aarch64-static found; install qemu-user-static"},
		{name: "handler without F, no emulator", p: arm64, entry: "enabled\nflags: P\n" + aarch64Entry,
			problem: "binfmt_misc handler qemu-aarch64 lacks the F flag"},
		{name: "no emulator for arm/v7", p: v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
			problem: "platform linux/arm/v7 needs emulation on this linux/amd64 host: no qemu-arm-static found; install qemu-user-static"},
		{name: "binfmt_misc switched off", p: arm64, off: true, entry: "enabled\nflags: PF\n" + aarch64Entry, static: true,
			problem: "binfmt_misc is switched off"},
		{name: "unknown architecture", p: v1.Platform{OS: "linux", Architecture: "sparc64"}, problem: `no emulation known for architecture "sparc64"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h := host{goarch: "amd64", misc: filepath.Join(dir, "misc"), packages: filepath.Join(dir, "binfmts"), path: filepath.Join(dir, "bin")}
			interp := filepath.Join(dir, "aarch64-binfmt-P")
			writeFile(t, filepath.Join(h.misc, "register"), "", 0o200)
			status := "enabled\n"
			if tc.off {
				status = "disabled\n"
			}
			writeFile(t, filepath.Join(h.misc, "status"), status, 0o644)
			writeFile(t, filepath.Join(h.misc, "jar"), "enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n", 0o644)
			if tc.entry != "" {
				writeFile(t, filepath.Join(h.misc, "qemu-aarch64"), tc.entry, 0o644)
			}
			if tc.pkg {
				writeFile(t, filepath.Join(h.packages, "qemu-aarch64"), strings.ReplaceAll(aarch64Package, "INTERP", interp), 0o644)
				writeFile(t, interp, "", 0o755)
			}
			if tc.static {
				writeFile(t, filepath.Join(h.path, "qemu-aarch64-static"), "", 0o755)
			}
			err := h.prepare(tc.p)
			switch {
			case tc.problem == "" && err != nil:
				t.Fatalf("prepare: %v", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem) || strings.Contains(err.Error(), "\n")):
				t.Fatalf("prepare: %v; want one line with %q", err, tc.problem)
			}
			// Write-only like the kernel's; readable again to check it
			// (root reads it anyway, another user could not).
			if err := os.Chmod(filepath.Join(h.misc, "register"), 0o600); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(filepath.Join(h.misc, "register"))
			want := strings.NewReplacer("BIN", h.path, "INTERP", interp).Replace(tc.register)
			if string(got) != want {
				t.Errorf("registered %q, want %q", got, want)
			}
		})
	}
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}
