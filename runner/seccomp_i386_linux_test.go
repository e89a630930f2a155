package runner

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/runner/seccomp"
)

// i386Hello is a static 32-bit ELF program that writes "hi\n" to stdout
// through int 0x80 and exits with the negated result: 253 when the write
// returned 3, 1 when it failed with EPERM.
func i386Hello() []byte {
	const base, hdr = 0x08048000, 52 + 32
	code := []byte{
		0xb8, 4, 0, 0, 0, // mov eax, 4 (write)
		0xbb, 1, 0, 0, 0, // mov ebx, 1
		0xb9, 0, 0, 0, 0, // mov ecx, msg (set below)
		0xba, 3, 0, 0, 0, // mov edx, 3
		0xcd, 0x80, // int 0x80
		0x89, 0xc3, // mov ebx, eax
		0xf7, 0xdb, // neg ebx
		0xb8, 1, 0, 0, 0, // mov eax, 1 (exit)
		0xcd, 0x80, // int 0x80
	}
	msg := []byte("hi\n")
	le := binary.LittleEndian
	le.PutUint32(code[11:], base+hdr+uint32(len(code)))
	size := uint32(hdr + len(code) + len(msg))
	b := make([]byte, hdr)
	copy(b, "\x7fELF\x01\x01\x01") // 32-bit, little endian, version 1
	le.PutUint16(b[16:], 2)        // ET_EXEC
	le.PutUint16(b[18:], 3)        // EM_386
	le.PutUint32(b[20:], 1)
	le.PutUint32(b[24:], base+hdr) // entry
	le.PutUint32(b[28:], 52)       // program headers
	le.PutUint16(b[40:], 52)
	le.PutUint16(b[42:], 32)
	le.PutUint16(b[44:], 1)
	ph := b[52:]
	le.PutUint32(ph[0:], 1) // PT_LOAD of the whole file
	le.PutUint32(ph[8:], base)
	le.PutUint32(ph[12:], base)
	le.PutUint32(ph[16:], size)
	le.PutUint32(ph[20:], size)
	le.PutUint32(ph[24:], 5) // r-x
	le.PutUint32(ph[28:], 0x1000)
	return append(append(b, code...), msg...)
}

// 32-bit programs run under docker's default filter, whose archMap adds
// the i386 ABI; a profile that does not list it kills them.
func TestSeccompI386(t *testing.T) {
	testutil.RequireRoot(t)
	host := filepath.Join(t.TempDir(), "hi32")
	if err := os.WriteFile(host, i386Hello(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(host).Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 253 {
			t.Skipf("this kernel does not run i386 programs (IA32 emulation): %v", err)
		}
	}
	rootfs := newRootfs(t)
	copyFile(t, host, filepath.Join(rootfs, "hi32"), 0o755)
	denyWrite := `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
		"syscalls": [{"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}`
	for _, tc := range []struct {
		name    string
		profile *seccomp.Profile
		code    int
		out     string
	}{
		{"docker's default", seccomp.Default(), 253, "hi\n"},
		{"i386 listed, write denied", mustProfile(t, denyWrite), 1, ""},
		{"i386 not listed", mustProfile(t, denyMkdir), 128 + int(syscall.SIGSYS), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := baseSpec(rootfs, "/hi32")
			spec.Capabilities = DefaultCapabilities
			spec.Seccomp = tc.profile
			r := run(t, spec)
			if r.err != nil || r.code != tc.code || r.stdout != tc.out {
				t.Errorf("exit %d, stdout %q, err %v; want exit %d, stdout %q", r.code, r.stdout, r.err, tc.code, tc.out)
			}
		})
	}
}
