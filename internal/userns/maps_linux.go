package userns

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
)

// idMaps is how the namespace's ids map to the user's: 0 is the user
// and, with subordinate ranges, 1..N are the ranges.
type idMaps struct {
	uid, gid   int
	subU, subG Range
	sub        bool // both ranges exist
}

// userMaps finds the user's subordinate ranges. Without them it maps the
// user alone and returns the warning to print once the namespace exists.
func userMaps() (m idMaps, warning string, err error) {
	m = idMaps{uid: os.Getuid(), gid: os.Getgid()}
	name := strconv.Itoa(m.uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	var okU, okG bool
	m.subU, okU = subRange("/etc/subuid", name, m.uid)
	m.subG, okG = subRange("/etc/subgid", name, m.uid)
	m.sub = okU && okG
	if !m.sub {
		return m, fmt.Sprintf("WARNING: rootless: %s has no subordinate ids in /etc/subuid and /etc/subgid: only root exists in lade's user namespace, so layers or RUN steps with files of other owners fail (add %s:100000:65536 to both)\n", name, name), nil
	}
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			return m, "", fmt.Errorf("%s not found: install uidmap (apt-get install uidmap)", tool)
		}
	}
	return m, "", nil
}

// write sets the id maps of process pid, which is in a new user namespace.
func (m idMaps) write(pid int) error {
	p := strconv.Itoa(pid)
	if !m.sub {
		// A user may map itself alone, once setgroups is denied.
		files := [][2]string{
			{"uid_map", fmt.Sprintf("0 %d 1\n", m.uid)},
			{"setgroups", "deny"},
			{"gid_map", fmt.Sprintf("0 %d 1\n", m.gid)},
		}
		for _, f := range files {
			if err := os.WriteFile("/proc/"+p+"/"+f[0], []byte(f[1]), 0); err != nil {
				return fmt.Errorf("writing %s: %w", f[0], err)
			}
		}
		return nil
	}
	if err := newIDMap("newuidmap", p, m.uid, m.subU); err != nil {
		return err
	}
	return newIDMap("newgidmap", p, m.gid, m.subG)
}

// newIDMap runs newuidmap or newgidmap: id is 0, r is 1..r.Count.
func newIDMap(tool, pid string, id int, r Range) error {
	var out bytes.Buffer
	cmd := exec.Command(tool, pid, "0", strconv.Itoa(id), "1", "1", fmt.Sprint(r.Start), fmt.Sprint(r.Count))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s failed: %s", tool, msg)
	}
	return nil
}
