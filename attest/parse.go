package attest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/textproto"
	"path"
	"strings"
)

// parseDpkg reads dpkg's status file: RFC 822 paragraphs, one package
// each. Every package not in state not-installed is listed, as
// dpkg-query -W lists them (a removed package's config files remain).
func parseDpkg(data []byte, src string) []Package {
	var out []Package
	for _, para := range bytes.Split(data, []byte("\n\n")) {
		f := parseFields(para)
		if f["Package"] == "" || f["Version"] == "" {
			continue
		}
		st := strings.Fields(f["Status"])
		if len(st) == 3 && st[2] == "not-installed" {
			continue
		}
		out = append(out, Package{Type: "deb", Name: f["Package"], Version: f["Version"], Arch: f["Architecture"], Source: src})
	}
	return out
}

// parseFields reads one "Key: value" paragraph; continuation lines (which
// start with a space) belong to the field before and are dropped.
func parseFields(para []byte) map[string]string {
	f := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(para))
	sc.Buffer(nil, maxMetaSize)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			if _, dup := f[k]; !dup {
				f[k] = strings.TrimSpace(v)
			}
		}
	}
	return f
}

// parseApk reads apk's installed database: paragraphs of one-letter
// fields (P name, V version, A arch, L license).
func parseApk(data []byte, src string) []Package {
	var out []Package
	for _, para := range bytes.Split(data, []byte("\n\n")) {
		var p Package
		for _, line := range strings.Split(string(para), "\n") {
			if len(line) < 2 || line[1] != ':' {
				continue
			}
			v := line[2:]
			switch line[0] {
			case 'P':
				p.Name = v
			case 'V':
				p.Version = v
			case 'A':
				p.Arch = v
			case 'L':
				p.License = v
			}
		}
		if p.Name != "" && p.Version != "" {
			p.Type, p.Source = "apk", src
			out = append(out, p)
		}
	}
	return out
}

// npmManifest is the part of a package.json the SBOM uses; License is a
// string in current packages and an object in old ones.
type npmManifest struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	License json.RawMessage `json:"license"`
}

func (m npmManifest) license() string {
	var s string
	if json.Unmarshal(m.License, &s) == nil {
		return s
	}
	var o struct{ Type string }
	if json.Unmarshal(m.License, &o) == nil {
		return o.Type
	}
	return ""
}

func parseNpmPackage(data []byte, src string) []Package {
	var m npmManifest
	if json.Unmarshal(data, &m) != nil || m.Name == "" || m.Version == "" {
		return nil
	}
	return []Package{{Type: "npm", Name: m.Name, Version: m.Version, License: m.license(), Source: src}}
}

// parseNpmLock reads a package-lock.json: lockfile v2/v3 "packages" (keyed
// by node_modules path) and v1 "dependencies" (keyed by name, nested).
func parseNpmLock(data []byte, src string) []Package {
	var lock struct {
		Packages     map[string]npmManifest `json:"packages"`
		Dependencies map[string]npmLockDep  `json:"dependencies"`
	}
	if json.Unmarshal(data, &lock) != nil {
		return nil
	}
	var out []Package
	for key, m := range lock.Packages {
		i := strings.LastIndex(key, "node_modules/")
		if i < 0 || m.Version == "" {
			continue // "" is the project itself
		}
		name := m.Name
		if name == "" {
			name = key[i+len("node_modules/"):]
		}
		out = append(out, Package{Type: "npm", Name: name, Version: m.Version, License: m.license(), Source: src})
	}
	if len(lock.Packages) == 0 {
		out = appendNpmDeps(out, lock.Dependencies, src, 0)
	}
	return out
}

type npmLockDep struct {
	Version      string                `json:"version"`
	Dependencies map[string]npmLockDep `json:"dependencies"`
}

// appendNpmDeps walks lockfile v1's nested dependencies, at most 64 deep.
func appendNpmDeps(out []Package, deps map[string]npmLockDep, src string, depth int) []Package {
	if depth > 64 {
		return out
	}
	for name, d := range deps {
		if d.Version != "" {
			out = append(out, Package{Type: "npm", Name: name, Version: d.Version, Source: src})
		}
		out = appendNpmDeps(out, d.Dependencies, src, depth+1)
	}
	return out
}

// parsePython reads a wheel's METADATA (or an egg's PKG-INFO): e-mail
// style headers Name, Version and License-Expression or License.
func parsePython(data []byte, src string) []Package {
	head, _, _ := bytes.Cut(data, []byte("\n\n"))
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(head, '\n', '\n')))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return nil
	}
	name, version := h.Get("Name"), h.Get("Version")
	if name == "" || version == "" {
		return nil
	}
	lic := h.Get("License-Expression")
	if lic == "" {
		lic = h.Get("License")
	}
	return []Package{{Type: "pypi", Name: name, Version: version, License: lic, Source: path.Dir(src)}}
}

// parseKeyValues reads os-release: KEY=value lines, values maybe quoted.
func parseKeyValues(data []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		m[k] = strings.Trim(v, `"'`)
	}
	return m
}
