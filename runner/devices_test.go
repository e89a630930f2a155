package runner

import (
	"encoding/binary"
	"testing"
)

// evalDeviceProgram interprets the few eBPF instructions deviceProgram
// emits, on the cgroup device context a kernel would pass.
func evalDeviceProgram(t *testing.T, prog []bpfInsn, typ, access, major, minor uint32) bool {
	t.Helper()
	ctx := binary.LittleEndian.AppendUint32(nil, typ|access<<16)
	ctx = binary.LittleEndian.AppendUint32(ctx, major)
	ctx = binary.LittleEndian.AppendUint32(ctx, minor)
	var reg [11]uint64
	for pc, steps := 0, 0; steps < 10000; steps++ {
		if pc < 0 || pc >= len(prog) {
			t.Fatalf("pc %d out of the program", pc)
		}
		in := prog[pc]
		pc++
		switch in.op {
		case bpfLdxMemW:
			if in.src != regCtx {
				t.Fatalf("load from r%d", in.src)
			}
			reg[in.dst] = uint64(binary.LittleEndian.Uint32(ctx[in.off:]))
		case bpfAndK32:
			reg[in.dst] = uint64(uint32(reg[in.dst]) & uint32(in.imm))
		case bpfRshK32:
			reg[in.dst] = uint64(uint32(reg[in.dst]) >> uint32(in.imm))
		case bpfMovK32:
			reg[in.dst] = uint64(uint32(in.imm))
		case bpfMovX32:
			reg[in.dst] = uint64(uint32(reg[in.src]))
		case bpfJneK:
			if reg[in.dst] != uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case bpfJneX:
			if reg[in.dst] != reg[in.src] {
				pc += int(in.off)
			}
		case bpfExit:
			return reg[0] == 1
		default:
			t.Fatalf("unknown opcode %#x", in.op)
		}
	}
	t.Fatal("program does not end")
	return false
}

func TestDeviceProgram(t *testing.T) {
	const c, b = devTypeChar, devTypeBlock
	const m, r, w = devAccMknod, devAccRead, devAccWrite
	withKmsgRead := append(append([]DeviceRule(nil), DefaultDeviceRules...),
		DeviceRule{Allow: true, Type: 'c', Major: 1, Minor: 11, Access: "r"})
	tests := []struct {
		name         string
		rules        []DeviceRule
		typ, access  uint32
		major, minor uint32
		want         bool
	}{
		{"null read write", DefaultDeviceRules, c, r | w, 1, 3, true},
		{"urandom read", DefaultDeviceRules, c, r, 1, 9, true},
		{"kmsg mknod", DefaultDeviceRules, c, m, 1, 11, true},
		{"kmsg write", DefaultDeviceRules, c, w, 1, 11, false},
		{"kmsg read", DefaultDeviceRules, c, r, 1, 11, false},
		{"disk mknod", DefaultDeviceRules, b, m, 8, 0, true},
		{"disk read", DefaultDeviceRules, b, r, 8, 0, false},
		{"block 1:3 is not null", DefaultDeviceRules, b, r, 1, 3, false},
		{"pts any minor", DefaultDeviceRules, c, r | w, 136, 42, true},
		{"ptmx", DefaultDeviceRules, c, r | w, 5, 2, true},
		{"tun", DefaultDeviceRules, c, r | w, 10, 200, true},
		{"mem", DefaultDeviceRules, c, r, 1, 1, false},
		{"added read-only kmsg read", withKmsgRead, c, r, 1, 11, true},
		{"added read-only kmsg write", withKmsgRead, c, w, 1, 11, false},
		{"added read-only kmsg read+write", withKmsgRead, c, r | w, 1, 11, false},
		{"no rules allows all", nil, b, r | w, 8, 0, true},
		{"later deny wins", []DeviceRule{
			{Allow: true, Type: 'a', Access: "rwm"},
			{Allow: false, Type: 'c', Major: 1, Minor: 11, Access: "w"},
		}, c, w, 1, 11, false},
		{"earlier rules before a reset do not count", []DeviceRule{
			{Allow: true, Type: 'c', Major: 1, Minor: 11, Access: "rwm"},
			{Allow: false, Type: 'a', Major: AnyDevice, Minor: AnyDevice, Access: "rwm"},
		}, c, r, 1, 11, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := deviceProgram(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := encodeProgram(prog); err != nil {
				t.Fatal(err)
			}
			if got := evalDeviceProgram(t, prog, tt.typ, tt.access, tt.major, tt.minor); got != tt.want {
				t.Errorf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeviceRuleV1Line(t *testing.T) {
	tests := []struct {
		rule DeviceRule
		want string
	}{
		{DefaultDeviceRules[0], "a"},
		{DefaultDeviceRules[1], "c *:* m"},
		{DefaultDeviceRules[2], "b *:* m"},
		{DeviceRule{Allow: true, Type: 'c', Major: 136, Minor: AnyDevice, Access: "rwm"}, "c 136:* rwm"},
		{DeviceRule{Allow: true, Type: 'b', Major: 8, Minor: 0, Access: "r"}, "b 8:0 r"},
	}
	for _, tt := range tests {
		if got := tt.rule.v1Line(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.rule, got, tt.want)
		}
	}
}

func TestDeviceRulesRejectBadInput(t *testing.T) {
	for _, r := range []DeviceRule{
		{Allow: true, Type: 'x', Access: "r"},
		{Allow: true, Type: 'c', Access: ""},
		{Allow: true, Type: 'c', Access: "rx"},
		{Allow: true, Type: 'c', Access: "rr"},
		{Allow: true, Type: 'c', Major: -2, Access: "r"},
	} {
		if _, err := deviceProgram([]DeviceRule{r}); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
}

func TestParseDeviceFlag(t *testing.T) {
	tests := []struct {
		in              string
		host, ctr, perm string
		err             bool
	}{
		{in: "/dev/fuse", host: "/dev/fuse", ctr: "/dev/fuse", perm: "rwm"},
		{in: "/dev/sda:/dev/xvdc", host: "/dev/sda", ctr: "/dev/xvdc", perm: "rwm"},
		{in: "/dev/sda:r", host: "/dev/sda", ctr: "/dev/sda", perm: "r"},
		{in: "/dev/sda:/dev/xvdc:rw", host: "/dev/sda", ctr: "/dev/xvdc", perm: "rw"},
		{in: "/dev/sda:/dev/xvdc:rx", err: true},
		{in: "dev/sda", err: true},
		{in: "/dev/sda:rel", err: true},
		{in: "/a:/b:r:x", err: true},
	}
	for _, tt := range tests {
		host, ctr, perm, err := ParseDeviceFlag(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("%q: accepted", tt.in)
			}
			continue
		}
		if err != nil || host != tt.host || ctr != tt.ctr || perm != tt.perm {
			t.Errorf("%q: %q %q %q %v, want %q %q %q", tt.in, host, ctr, perm, err, tt.host, tt.ctr, tt.perm)
		}
	}
}
