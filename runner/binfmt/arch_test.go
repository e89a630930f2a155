package binfmt

import (
	"encoding/hex"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every target's ELF header is matched by the rule Debian's
// qemu-user-static 7.2 registers for it (/usr/share/binfmts; for amd64
// and 386, which Debian leaves out, qemu-binfmt-conf.sh's), and the
// standard rule lade registers without one matches Debian's magic.
func TestTargetsMatchQemuRules(t *testing.T) {
	for _, tc := range []struct{ arch, magic, mask string }{
		{"arm64", "7f454c460201010000000000000000000200b700", "ffffffffffffff00fffffffffffffffffeffffff"},
		{"arm", "7f454c4601010100000000000000000002002800", "ffffffffffffff00fffffffffffffffffeffffff"},
		{"ppc64le", "7f454c4602010100000000000000000002001500", "fffffffffffffffcfffffffffffffffffeffff00"},
		{"s390x", "7f454c4602020100000000000000000000020016", "fffffffffffffffcfffffffffffffffffffeffff"},
		{"riscv64", "7f454c460201010000000000000000000200f300", "ffffffffffffff00fffffffffffffffffeffffff"},
		{"mips64le", "7f454c4602010100000000000000000002000800", "ffffffffffffff00fefffffffffffffffeffffff"},
		{"386", "7f454c4601010100000000000000000002000300", "fffffffffffefefffffffffffffffffffeffffff"},
		{"amd64", "7f454c4602010100000000000000000002003e00", "fffffffffffefefcfffffffffffffffffeffffff"},
	} {
		tg, err := targetOf(v1.Platform{OS: "linux", Architecture: tc.arch})
		if err != nil {
			t.Fatal(err)
		}
		debian := rule{magic: unhex(t, tc.magic), mask: unhex(t, tc.mask)}
		if !debian.matches(tg.header()) {
			t.Errorf("%s: qemu's rule does not match header %x", tc.arch, tg.header())
		}
		if std := standard(tg, "/q"); !std.matches(debian.magic) {
			t.Errorf("%s: standard rule %x/%x does not match qemu's magic", tc.arch, std.magic, std.mask)
		}
		for other, ot := range targets {
			if other != tc.arch && debian.matches(ot.header()) {
				t.Errorf("%s: qemu's rule also matches %s", tc.arch, other)
			}
		}
	}
}

func TestTargetOf(t *testing.T) {
	for _, tc := range []struct {
		p    v1.Platform
		qemu string // "" is an error
	}{
		{v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, "aarch64"},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, "arm"},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "arm"},
		{v1.Platform{Architecture: "mips64le"}, "mips64el"},
		{v1.Platform{OS: "linux", Architecture: "sparc64"}, ""},
		{v1.Platform{OS: "windows", Architecture: "amd64"}, ""},
	} {
		tg, err := targetOf(tc.p)
		if tg.qemu != tc.qemu || (err == nil) != (tc.qemu != "") {
			t.Errorf("targetOf(%s) = %q, %v; want %q", platformString(tc.p), tg.qemu, err, tc.qemu)
		}
	}
}

// An entry as the kernel shows it, and the line lade registers.
func TestEntryAndRegistration(t *testing.T) {
	r := parseEntry("qemu-aarch64", []byte("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n"+
		"flags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"))
	if !r.enabled || r.flags != "PF" || r.interpreter != "/usr/libexec/qemu-binfmt/aarch64-binfmt-P" || len(r.magic) != 20 {
		t.Errorf("parseEntry = %+v", r)
	}
	if !r.matches(targets["arm64"].header()) || r.matches(targets["amd64"].header()) {
		t.Error("the aarch64 entry matches the wrong headers")
	}
	if jar := parseEntry("jar", []byte("enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n")); jar.matches(targets["arm64"].header()) {
		t.Error("an extension rule matches an ELF header")
	}
	line := standard(targets["s390x"], "/usr/bin/qemu-s390x-static").registration("lade-qemu-s390x")
	want := `:lade-qemu-s390x:M:0:\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16:` +
		`\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff:/usr/bin/qemu-s390x-static:F`
	if line != want {
		t.Errorf("registration:\n got %s\nwant %s", line, want)
	}
	if got := unescape(`\x7f\x45LF\x0`); string(got) != "\x7fELF\\x0" {
		t.Errorf("unescape = %q", got)
	}
	if !strings.HasPrefix(platformString(v1.Platform{Architecture: "arm", Variant: "v7"}), "linux/arm/v7") {
		t.Error(platformString(v1.Platform{Architecture: "arm", Variant: "v7"}))
	}
}
