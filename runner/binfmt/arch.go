package binfmt

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// target is what emulating one architecture needs: qemu's name for it
// (qemu-NAME-static, /usr/share/binfmts/qemu-NAME) and the ELF header
// fields that mark its executables.
type target struct {
	qemu    string
	class   byte   // EI_CLASS: 1 is 32-bit, 2 is 64-bit
	data    byte   // EI_DATA: 1 is little endian, 2 big endian
	machine uint16 // e_machine (linux/elf-em.h)
}

// targets maps OCI architecture names (GOARCH) to their targets; every
// arm variant (v5, v6, v7) is qemu-arm's.
var targets = map[string]target{
	"amd64":    {"x86_64", 2, 1, 62},
	"386":      {"i386", 1, 1, 3},
	"arm64":    {"aarch64", 2, 1, 183},
	"arm":      {"arm", 1, 1, 40},
	"ppc64le":  {"ppc64le", 2, 1, 21},
	"s390x":    {"s390x", 2, 2, 22},
	"riscv64":  {"riscv64", 2, 1, 243},
	"mips64le": {"mips64el", 2, 1, 8},
}

func targetOf(p v1.Platform) (target, error) {
	if p.OS != "" && p.OS != "linux" {
		return target{}, fmt.Errorf("platform %s: only linux programs can run here", platformString(p))
	}
	t, ok := targets[p.Architecture]
	if !ok {
		return target{}, fmt.Errorf("platform %s: no emulation known for architecture %q", platformString(p), p.Architecture)
	}
	return t, nil
}

// platformString is p as os/arch[/variant].
func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.OS == "" {
		s = "linux/" + p.Architecture
	}
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// header is the first 20 bytes of an executable (ET_EXEC) of t: what a
// binfmt_misc handler for t must match.
func (t target) header() []byte {
	h := make([]byte, 20)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = t.class, t.data, 1 // EV_CURRENT
	put := func(off int, v uint16) {
		if t.data == 2 {
			h[off], h[off+1] = byte(v>>8), byte(v)
		} else {
			h[off], h[off+1] = byte(v), byte(v>>8)
		}
	}
	put(16, 2) // ET_EXEC
	put(18, t.machine)
	return h
}

// rule is a binfmt_misc magic rule: a file whose bytes at offset, masked,
// equal magic (masked) is run by interpreter.
type rule struct {
	name        string
	enabled     bool
	interpreter string
	flags       string
	offset      int
	magic, mask []byte
}

// matches reports whether r picks an executable starting with hdr.
func (r rule) matches(hdr []byte) bool {
	if len(r.magic) == 0 || r.offset+len(r.magic) > len(hdr) {
		return false
	}
	for i, m := range r.magic {
		mask := byte(0xff)
		if i < len(r.mask) {
			mask = r.mask[i]
		}
		if (hdr[r.offset+i]^m)&mask != 0 {
			return false
		}
	}
	return true
}

// parseEntry reads a binfmt_misc entry file (/proc/sys/fs/binfmt_misc/
// NAME): "enabled", "interpreter PATH", "flags: PF", "offset N", "magic
// HEX", "mask HEX". Extension rules come back with no magic.
func parseEntry(name string, b []byte) rule {
	f := keyed(b)
	_, enabled := f["enabled"]
	offset, _ := strconv.Atoi(f["offset"])
	magic, _ := hex.DecodeString(f["magic"])
	mask, _ := hex.DecodeString(f["mask"])
	return rule{name: name, enabled: enabled, interpreter: f["interpreter"], flags: f["flags:"],
		offset: offset, magic: magic, mask: mask}
}

// packaged reads binfmt-support's description of qemu's handler for t
// (/usr/share/binfmts/qemu-NAME, which Debian's qemu-user-static ships):
// its interpreter, magic and mask (as \xNN escapes) and whether it
// preserves argv[0]. lade registers it with the F flag.
func packaged(dir string, t target) (rule, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "qemu-"+t.qemu))
	if err != nil {
		return rule{}, false
	}
	f := keyed(b)
	offset, _ := strconv.Atoi(f["offset"])
	r := rule{name: "qemu-" + t.qemu, interpreter: f["interpreter"], flags: "F",
		offset: offset, magic: unescape(f["magic"]), mask: unescape(f["mask"])}
	if f["preserve"] == "yes" {
		r.flags = "PF"
	}
	return r, r.interpreter != "" && r.matches(t.header())
}

// keyed reads the lines "key value" (or a bare "key") of both formats.
func keyed(b []byte) map[string]string {
	f := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		f[k] = v
	}
	return f
}

// unescape decodes binfmt-support's \xNN escapes.
func unescape(s string) []byte {
	var b []byte
	for len(s) > 0 {
		if len(s) >= 4 && s[0] == '\\' && s[1] == 'x' {
			if v, err := strconv.ParseUint(s[2:4], 16, 8); err == nil {
				b, s = append(b, byte(v)), s[4:]
				continue
			}
		}
		b, s = append(b, s[0]), s[1:]
	}
	return b
}

// standard is the rule qemu-binfmt-conf.sh writes for t when no package
// describes one: the ELF header up to e_machine, any OS ABI, ET_EXEC or
// ET_DYN.
func standard(t target, interpreter string) rule {
	mask := bytes.Repeat([]byte{0xff}, 20)
	mask[7] = 0 // EI_OSABI
	if t.data == 2 {
		mask[17] = 0xfe
	} else {
		mask[16] = 0xfe
	}
	return rule{interpreter: interpreter, flags: "F", magic: t.header(), mask: mask}
}

// registration is r as a line for binfmt_misc's register file, named name.
func (r rule) registration(name string) string {
	esc := func(b []byte) string {
		var s strings.Builder
		for _, c := range b {
			fmt.Fprintf(&s, "\\x%02x", c)
		}
		return s.String()
	}
	return fmt.Sprintf(":%s:M:%d:%s:%s:%s:%s", name, r.offset, esc(r.magic), esc(r.mask), r.interpreter, r.flags)
}
