package runner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// DeviceRule is one cgroup device rule, as in devices.allow: a type
// ('a' all, 'c' char, 'b' block), a major and minor (AnyDevice for "*")
// and the access it grants or denies (some of "rwm").
type DeviceRule struct {
	Allow  bool   `json:"allow,omitempty"`
	Type   byte   `json:"type"`
	Major  int64  `json:"major"`
	Minor  int64  `json:"minor"`
	Access string `json:"access"`
}

// AnyDevice is the "*" of a rule's major or minor.
const AnyDevice = -1

// DefaultDeviceRules is docker's default device list (runc's, which
// docker applies to every unprivileged container): everything denied,
// then mknod of any node allowed, and read, write and mknod only for the
// harmless pseudo-devices, terminals and tun/tap (runc 1.2.4 and later).
// A process may thus create /dev/kmsg or a disk's node, never open it.
var DefaultDeviceRules = []DeviceRule{
	{Allow: false, Type: 'a', Major: AnyDevice, Minor: AnyDevice, Access: "rwm"},
	{Allow: true, Type: 'c', Major: AnyDevice, Minor: AnyDevice, Access: "m"},
	{Allow: true, Type: 'b', Major: AnyDevice, Minor: AnyDevice, Access: "m"},
	{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"},           // null
	{Allow: true, Type: 'c', Major: 1, Minor: 5, Access: "rwm"},           // zero
	{Allow: true, Type: 'c', Major: 1, Minor: 7, Access: "rwm"},           // full
	{Allow: true, Type: 'c', Major: 1, Minor: 8, Access: "rwm"},           // random
	{Allow: true, Type: 'c', Major: 1, Minor: 9, Access: "rwm"},           // urandom
	{Allow: true, Type: 'c', Major: 5, Minor: 0, Access: "rwm"},           // tty
	{Allow: true, Type: 'c', Major: 5, Minor: 1, Access: "rwm"},           // console
	{Allow: true, Type: 'c', Major: 5, Minor: 2, Access: "rwm"},           // ptmx
	{Allow: true, Type: 'c', Major: 136, Minor: AnyDevice, Access: "rwm"}, // pts
	{Allow: true, Type: 'c', Major: 10, Minor: 200, Access: "rwm"},        // net/tun
}

// Device is a host device node created in the container (`lade run
// --device`) and allowed with Access.
type Device struct {
	Path   string `json:"path"` // in the container
	Type   byte   `json:"type"` // 'c' or 'b'
	Major  int64  `json:"major"`
	Minor  int64  `json:"minor"`
	Mode   uint32 `json:"mode"` // permission bits of the node
	UID    uint32 `json:"uid"`
	GID    uint32 `json:"gid"`
	Access string `json:"access"`
}

// Rule is the device rule allowing d.
func (d Device) Rule() DeviceRule {
	return DeviceRule{Allow: true, Type: d.Type, Major: d.Major, Minor: d.Minor, Access: d.Access}
}

// ParseDeviceFlag splits docker's --device HOST[:CONTAINER][:PERMS] into
// its parts; CONTAINER defaults to HOST and PERMS to rwm.
func ParseDeviceFlag(s string) (host, ctr, perms string, err error) {
	parts := strings.Split(s, ":")
	host, ctr, perms = parts[0], parts[0], "rwm"
	switch len(parts) {
	case 1:
	case 2:
		if validAccess(parts[1]) {
			perms = parts[1]
		} else {
			ctr = parts[1]
		}
	case 3:
		ctr, perms = parts[1], parts[2]
	default:
		return "", "", "", fmt.Errorf("invalid device %q: want HOST[:CONTAINER[:PERMS]]", s)
	}
	if !filepath.IsAbs(host) || !filepath.IsAbs(ctr) {
		return "", "", "", fmt.Errorf("invalid device %q: paths must be absolute", s)
	}
	if !validAccess(perms) {
		return "", "", "", fmt.Errorf("invalid device %q: permissions %q are not a combination of r, w and m", s, perms)
	}
	return filepath.Clean(host), filepath.Clean(ctr), perms, nil
}

// validAccess reports whether a is a non-empty combination of r, w, m.
func validAccess(a string) bool {
	if a == "" || len(a) > 3 {
		return false
	}
	for _, c := range a {
		if !strings.ContainsRune("rwm", c) || strings.Count(a, string(c)) > 1 {
			return false
		}
	}
	return true
}

// checkRules validates rules before they reach a cgroup.
func checkRules(rules []DeviceRule) error {
	for _, r := range rules {
		if r.Type != 'a' && r.Type != 'c' && r.Type != 'b' {
			return fmt.Errorf("device rule: type %q is not a, c or b", r.Type)
		}
		if !validAccess(r.Access) {
			return fmt.Errorf("device rule: access %q is not a combination of r, w and m", r.Access)
		}
		for _, n := range []int64{r.Major, r.Minor} {
			if n < AnyDevice || n > 1<<31-1 {
				return fmt.Errorf("device rule: number %d out of range", n)
			}
		}
	}
	return nil
}

// v1Line is r as written to devices.allow or devices.deny.
func (r DeviceRule) v1Line() string {
	num := func(n int64) string {
		if n == AnyDevice {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	if r.Type == 'a' {
		return "a"
	}
	return fmt.Sprintf("%c %s:%s %s", r.Type, num(r.Major), num(r.Minor), r.Access)
}

// eBPF instruction encoding (linux/bpf.h), just what the device program
// needs.
const (
	bpfLdxMemW = 0x61 // BPF_LDX|BPF_MEM|BPF_W
	bpfAndK32  = 0x54 // BPF_ALU|BPF_AND|BPF_K
	bpfRshK32  = 0x74 // BPF_ALU|BPF_RSH|BPF_K
	bpfMovK32  = 0xb4 // BPF_ALU|BPF_MOV|BPF_K
	bpfMovX32  = 0xbc // BPF_ALU|BPF_MOV|BPF_X
	bpfJneK    = 0x55 // BPF_JMP|BPF_JNE|BPF_K
	bpfJneX    = 0x5d // BPF_JMP|BPF_JNE|BPF_X
	bpfExit    = 0x95 // BPF_JMP|BPF_EXIT

	// struct bpf_cgroup_dev_ctx: access_type (type | access<<16), major, minor.
	devTypeBlock = 1 // BPF_DEVCG_DEV_BLOCK
	devTypeChar  = 2 // BPF_DEVCG_DEV_CHAR
	devAccMknod  = 1 // BPF_DEVCG_ACC_MKNOD
	devAccRead   = 2 // BPF_DEVCG_ACC_READ
	devAccWrite  = 4 // BPF_DEVCG_ACC_WRITE
)

// bpfInsn is struct bpf_insn.
type bpfInsn struct {
	op       uint8
	dst, src uint8
	off      int16
	imm      int32
}

// Registers the device program keeps its inputs in.
const (
	regCtx    = 1
	regType   = 2
	regAccess = 3
	regMajor  = 4
	regMinor  = 5
	regTmp    = 6
)

// deviceProgram compiles rules into a BPF_PROG_TYPE_CGROUP_DEVICE
// program with devices.allow semantics: a later rule overrides an
// earlier one, and an 'a' rule sets what everything else gets. It
// returns 1 (allow) or 0 (deny, so the syscall fails with EPERM).
func deviceProgram(rules []DeviceRule) ([]bpfInsn, error) {
	if err := checkRules(rules); err != nil {
		return nil, err
	}
	prog := []bpfInsn{
		{op: bpfLdxMemW, dst: regType, src: regCtx, off: 0},
		{op: bpfAndK32, dst: regType, imm: 0xffff},
		{op: bpfLdxMemW, dst: regAccess, src: regCtx, off: 0},
		{op: bpfRshK32, dst: regAccess, imm: 16},
		{op: bpfLdxMemW, dst: regMajor, src: regCtx, off: 4},
		{op: bpfLdxMemW, dst: regMinor, src: regCtx, off: 8},
	}
	// The last 'a' rule decides the default and hides every rule before it.
	def, first := int32(1), 0
	for i, r := range rules {
		if r.Type == 'a' {
			def, first = boolImm(r.Allow), i+1
		}
	}
	// The last matching rule wins: test them from the end.
	for i := len(rules) - 1; i >= first; i-- {
		prog = append(prog, ruleBlock(rules[i])...)
	}
	return append(prog, bpfInsn{op: bpfMovK32, dst: 0, imm: def}, bpfInsn{op: bpfExit}), nil
}

// ruleBlock tests one rule: each test jumps past the block when the
// request does not match; a request that passes them all gets the
// rule's verdict.
func ruleBlock(r DeviceRule) []bpfInsn {
	var tests []bpfInsn
	typ := int32(devTypeChar)
	if r.Type == 'b' {
		typ = devTypeBlock
	}
	tests = append(tests, bpfInsn{op: bpfJneK, dst: regType, imm: typ})
	var acc int32
	for _, c := range r.Access {
		acc |= map[rune]int32{'m': devAccMknod, 'r': devAccRead, 'w': devAccWrite}[c]
	}
	if acc != devAccMknod|devAccRead|devAccWrite {
		// Matches when the request asks for nothing outside acc.
		tests = append(tests,
			bpfInsn{op: bpfMovX32, dst: regTmp, src: regAccess},
			bpfInsn{op: bpfAndK32, dst: regTmp, imm: acc},
			bpfInsn{op: bpfJneX, dst: regTmp, src: regAccess})
	}
	if r.Major != AnyDevice {
		tests = append(tests, bpfInsn{op: bpfJneK, dst: regMajor, imm: int32(r.Major)})
	}
	if r.Minor != AnyDevice {
		tests = append(tests, bpfInsn{op: bpfJneK, dst: regMinor, imm: int32(r.Minor)})
	}
	block := append(tests, bpfInsn{op: bpfMovK32, dst: 0, imm: boolImm(r.Allow)}, bpfInsn{op: bpfExit})
	for i := range block {
		if block[i].op == bpfJneK || block[i].op == bpfJneX {
			block[i].off = int16(len(block) - i - 1)
		}
	}
	return block
}

func boolImm(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// encodeProgram lays prog out as the kernel's struct bpf_insn array in
// the host's byte order (dst_reg is the first bit field of a byte).
func encodeProgram(prog []bpfInsn) ([]byte, error) {
	if len(prog) == 0 || len(prog) > 4096 {
		return nil, errors.New("device program: bad length")
	}
	bigEndian := binary.NativeEndian.Uint16([]byte{0, 1}) == 1
	out := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		regs := in.src<<4 | in.dst&0x0f
		if bigEndian {
			regs = in.dst<<4 | in.src&0x0f
		}
		out = append(out, in.op, regs)
		out = binary.NativeEndian.AppendUint16(out, uint16(in.off))
		out = binary.NativeEndian.AppendUint32(out, uint32(in.imm))
	}
	return out, nil
}

// checkDevice validates a Device of a Spec.
func checkDevice(d Device) error {
	if !filepath.IsAbs(d.Path) || filepath.Clean(d.Path) == "/" {
		return fmt.Errorf("device %q: path must be absolute and not /", d.Path)
	}
	if d.Type != 'c' && d.Type != 'b' {
		return fmt.Errorf("device %s: type %q is not c or b", d.Path, d.Type)
	}
	return checkRules([]DeviceRule{d.Rule()})
}
