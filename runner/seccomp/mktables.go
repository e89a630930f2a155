//go:build ignore

// mktables writes tables/GOARCH.txt, the syscall name -> number tables
// the filters use, from golang.org/x/sys/unix's zsysnum_linux_GOARCH.go
// (which x/sys generates from the kernel's headers) at the version go.mod
// pins: each SYS_NAME constant becomes the line "name number", the
// kernel's own name in lower case (SYS__LLSEEK: _llseek). Run it with
// `go generate ./runner/seccomp` after updating golang.org/x/sys.
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// armPrivate are ARM's private syscalls (__ARM_NR_BASE 0x0f0000 + n in
// arch/arm/include/uapi/asm/unistd.h), which x/sys leaves out and docker's
// default profile allows on arm.
var armPrivate = map[string]uint64{"breakpoint": 0x0f0001, "cacheflush": 0x0f0002,
	"usr26": 0x0f0003, "usr32": 0x0f0004, "set_tls": 0x0f0005, "get_tls": 0x0f0006}

func main() {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "golang.org/x/sys").Output()
	if err != nil {
		log.Fatal(err)
	}
	dir, version, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	for _, goarch := range []string{"amd64", "386", "arm64", "arm"} {
		src := filepath.Join(dir, "unix", "zsysnum_linux_"+goarch+".go")
		table, err := sysnums(src)
		if err != nil {
			log.Fatal(err)
		}
		if goarch == "arm" {
			for name, nr := range armPrivate {
				table[name] = nr
			}
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "# linux/%s syscalls: written by mktables.go from golang.org/x/sys %s unix/%s\n",
			goarch, version, filepath.Base(src))
		names := make([]string, 0, len(table))
		for name := range table {
			names = append(names, name)
		}
		sort.Slice(names, func(i, j int) bool { return table[names[i]] < table[names[j]] })
		for _, name := range names {
			fmt.Fprintf(&b, "%s %d\n", name, table[name])
		}
		if err := os.WriteFile(filepath.Join("tables", goarch+".txt"), b.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// sysnums reads the SYS_* constants of a zsysnum file.
func sysnums(path string) (map[string]uint64, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, err
	}
	table := map[string]uint64{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, id := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || !strings.HasPrefix(id.Name, "SYS_") {
					continue
				}
				if id.Name == "SYS_SYSCALL_MASK" { // arm's, not a syscall
					continue
				}
				nr, err := strconv.ParseUint(lit.Value, 0, 32)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", path, id.Name, err)
				}
				table[strings.ToLower(strings.TrimPrefix(id.Name, "SYS_"))] = nr
			}
		}
	}
	return table, nil
}
