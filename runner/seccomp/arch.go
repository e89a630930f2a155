package seccomp

import (
	"bufio"
	"embed"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
)

// The syscall tables are data: tables/GOARCH.txt, one "name number" line
// per syscall, written by mktables.go from golang.org/x/sys/unix.
//
//go:generate go run mktables.go
//go:embed tables/*.txt
var tableFiles embed.FS

// abi is one syscall ABI a filter can admit: the name profiles give it,
// the AUDIT_ARCH value the kernel puts in struct seccomp_data for its
// syscalls, and the GOARCH naming its table.
type abi struct {
	scmp   string
	audit  uint32
	goarch string
}

// The ABIs lade's filters know (AUDIT_ARCH_* from linux/audit.h).
var (
	abiX86_64  = abi{"SCMP_ARCH_X86_64", 0xC000003E, "amd64"}
	abiX86     = abi{"SCMP_ARCH_X86", 0x40000003, "386"}
	abiAArch64 = abi{"SCMP_ARCH_AARCH64", 0xC00000B7, "arm64"}
	abiARM     = abi{"SCMP_ARCH_ARM", 0x40000028, "arm"}
)

// families are, for each host GOARCH lade filters on, its native ABI and
// the compat ABI its kernel also runs (docker's archMap: x86_64 with x86
// and x32, aarch64 with arm). x32 shares x86_64's AUDIT_ARCH and is told
// apart by a bit of the number (see compile). A foreign-architecture
// program run by qemu-user is not among them: qemu makes the host's
// syscalls, so the native table filters it.
var families = map[string][]abi{
	"amd64": {abiX86_64, abiX86},
	"arm64": {abiAArch64, abiARM},
}

// family returns the native and compat ABIs of a host of goarch.
func family(goarch string) ([]abi, error) {
	f, ok := families[goarch]
	if !ok {
		return nil, fmt.Errorf("seccomp filters are implemented for amd64 and arm64 hosts, not %s: use --security-opt seccomp=unconfined", goarch)
	}
	return f, nil
}

// syscalls returns a's table, name -> number.
func (a abi) syscalls() map[string]uint32 { return allTables()[a.goarch] }

// allTables parses every embedded table once.
var allTables = sync.OnceValue(func() map[string]map[string]uint32 {
	ents, err := tableFiles.ReadDir("tables")
	if err != nil {
		panic(err)
	}
	all := map[string]map[string]uint32{}
	for _, e := range ents {
		goarch := strings.TrimSuffix(e.Name(), ".txt")
		t, err := parseTable(path.Join("tables", e.Name()))
		if err != nil {
			panic(fmt.Sprintf("seccomp table %s: %v", goarch, err))
		}
		all[goarch] = t
	}
	return all
})

func parseTable(name string) (map[string]uint32, error) {
	f, err := tableFiles.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := map[string]uint32{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, num, ok := strings.Cut(line, " ")
		nr, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("bad line %q", line)
		}
		t[name] = uint32(nr)
	}
	return t, sc.Err()
}
