package fileop

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// User is the result of resolving a Dockerfile USER value.
type User struct {
	UID, GID       uint32
	AdditionalGIDs []uint32
	Home           string
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// readDB reads an /etc file of the rootfs in-root and keeps the entries
// parse accepts from its lines' colon-separated fields; a missing file is
// an empty list.
func readDB[T any](root, name string, parse func(f []string) (T, bool)) ([]T, error) {
	p, err := securejoin.SecureJoin(root, name)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", name, err)
	}
	f, err := os.Open(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if e, ok := parse(strings.Split(line, ":")); ok {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

func parseID(s string) (uint32, bool) {
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err == nil
}

func readPasswd(root string) ([]passwdEntry, error) {
	return readDB(root, "/etc/passwd", parsePasswd)
}

// parsePasswd takes name:x:uid:gid[:gecos:home...]; bad ids skip the line.
func parsePasswd(f []string) (passwdEntry, bool) {
	if len(f) < 4 {
		return passwdEntry{}, false
	}
	uid, ok1 := parseID(f[2])
	gid, ok2 := parseID(f[3])
	if !ok1 || !ok2 {
		return passwdEntry{}, false
	}
	e := passwdEntry{name: f[0], uid: uid, gid: gid}
	if len(f) > 5 {
		e.home = f[5]
	}
	return e, true
}

func readGroup(root string) ([]groupEntry, error) {
	return readDB(root, "/etc/group", parseGroup)
}

// parseGroup takes name:x:gid[:member,...]; a bad gid skips the line.
func parseGroup(f []string) (groupEntry, bool) {
	if len(f) < 3 {
		return groupEntry{}, false
	}
	gid, ok := parseID(f[2])
	if !ok {
		return groupEntry{}, false
	}
	e := groupEntry{name: f[0], gid: gid}
	if len(f) > 3 && f[3] != "" {
		for _, m := range strings.Split(f[3], ",") {
			e.members = append(e.members, strings.TrimSpace(m))
		}
	}
	return e, true
}

// findUser looks a user up by name, or by uid when spec is numeric. A
// numeric uid that is not listed is returned as a bare entry.
func findUser(root, spec string) (passwdEntry, error) {
	users, err := readPasswd(root)
	if err != nil {
		return passwdEntry{}, err
	}
	uid, numeric := parseID(spec)
	for _, u := range users {
		if (numeric && u.uid == uid) || (!numeric && u.name == spec) {
			return u, nil
		}
	}
	if numeric {
		return passwdEntry{uid: uid, gid: 0, home: "/"}, nil
	}
	return passwdEntry{}, fmt.Errorf("unable to find user %s: no matching entries in passwd file", spec)
}

func findGroup(groups []groupEntry, spec string) (uint32, error) {
	gid, numeric := parseID(spec)
	for _, g := range groups {
		if (numeric && g.gid == gid) || (!numeric && g.name == spec) {
			return g.gid, nil
		}
	}
	if numeric {
		return gid, nil
	}
	return 0, fmt.Errorf("unable to find group %s: no matching entries in group file", spec)
}

// LookupUser resolves a Dockerfile USER value ("name", "uid", "name:group",
// "uid:gid", ...) against root's /etc/passwd and /etc/group like runc.
func LookupUser(root, spec string) (User, error) {
	userSpec, groupSpec, hasGroup := strings.Cut(spec, ":")
	if userSpec == "" {
		userSpec = "0"
	}
	pw, err := findUser(root, userSpec)
	if err != nil {
		return User{}, err
	}
	u := User{UID: pw.uid, GID: pw.gid, Home: pw.home}
	if u.Home == "" {
		u.Home = "/"
	}
	groups, err := readGroup(root)
	if err != nil {
		return User{}, err
	}
	if hasGroup && groupSpec != "" {
		if u.GID, err = findGroup(groups, groupSpec); err != nil {
			return User{}, err
		}
		return u, nil
	}
	// Supplementary groups come from membership lists, matched by name.
	name := pw.name
	if name == "" {
		name = userSpec
	}
	seen := map[uint32]bool{}
	for _, g := range groups {
		for _, m := range g.members {
			if m == name && !seen[g.gid] {
				seen[g.gid] = true
				u.AdditionalGIDs = append(u.AdditionalGIDs, g.gid)
			}
		}
	}
	return u, nil
}

// WithPrimaryGroup lists the primary group among the supplementary ones,
// first unless it is there already, as docker and containerd (for
// BuildKit's RUN) set them up: `id` prints groups=1000(app),....
func (u User) WithPrimaryGroup() User {
	if slices.Contains(u.AdditionalGIDs, u.GID) {
		return u
	}
	u.AdditionalGIDs = append([]uint32{u.GID}, u.AdditionalGIDs...)
	return u
}

// ContainerUser resolves spec as docker does for a container's process:
// LookupUser, the primary group listed among the supplementary ones, then
// the --group-add groups (LookupGroups), each group once.
func ContainerUser(root, spec string, groupAdd []string) (User, error) {
	u, err := LookupUser(root, spec)
	if err != nil {
		return User{}, err
	}
	extra, err := LookupGroups(root, groupAdd)
	if err != nil {
		return User{}, err
	}
	u = u.WithPrimaryGroup()
	for _, g := range extra {
		if !slices.Contains(u.AdditionalGIDs, g) {
			u.AdditionalGIDs = append(u.AdditionalGIDs, g)
		}
	}
	return u, nil
}

// LookupGroups resolves docker's --group-add values against root's
// /etc/group: a name must be listed there, a number is taken as it is.
func LookupGroups(root string, specs []string) ([]uint32, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	groups, err := readGroup(root)
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, spec := range specs {
		gid, err := findGroup(groups, spec)
		if err != nil {
			return nil, err
		}
		out = append(out, gid)
	}
	return out, nil
}

// LookupChown resolves a COPY/ADD --chown value. With only a user, BuildKit's
// rule applies: a numeric uid gets the same number as gid, a user name gets
// that user's primary group from passwd. Unknown names are an error.
func LookupChown(root, spec string) (Owner, error) {
	userSpec, groupSpec, hasGroup := strings.Cut(spec, ":")
	if userSpec == "" {
		return Owner{}, fmt.Errorf("invalid --chown value %q", spec)
	}
	var uid, gid uint32
	if v, ok := parseID(userSpec); ok {
		uid, gid = v, v
	} else {
		pw, err := findUser(root, userSpec)
		if err != nil {
			return Owner{}, err
		}
		uid, gid = pw.uid, pw.gid
	}
	if hasGroup && groupSpec != "" {
		if v, ok := parseID(groupSpec); ok {
			gid = v
		} else {
			groups, err := readGroup(root)
			if err != nil {
				return Owner{}, err
			}
			if gid, err = findGroup(groups, groupSpec); err != nil {
				return Owner{}, err
			}
		}
	}
	return Owner{UID: int(uid), GID: int(gid)}, nil
}
