package userns

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Range is a subordinate id range: Count ids from Start.
type Range struct{ Start, Count uint32 }

// subRange returns the first range of file (/etc/subuid or /etc/subgid
// format, "name-or-id:start:count") that belongs to the user name or id,
// as newuidmap reads it. ok is false when there is none.
func subRange(file, name string, id int) (Range, bool) {
	f, err := os.Open(file)
	if err != nil {
		return Range{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(parts) != 3 || (parts[0] != name && parts[0] != strconv.Itoa(id)) {
			continue
		}
		start, err1 := strconv.ParseUint(parts[1], 10, 32)
		count, err2 := strconv.ParseUint(parts[2], 10, 32)
		if err1 == nil && err2 == nil && count > 0 {
			return Range{uint32(start), uint32(count)}, true
		}
	}
	return Range{}, false
}
