// Command tiocsti is what a hostile container process does to the terminal
// of the operator who started it: it tries to push keystrokes into its
// input queue with TIOCSTI through fds 0, 1 and 2 and through /dev/tty,
// and reports each result, its session id and then "tiocsti-done". With an
// argument it writes the report to that file instead of stdout.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

const payload = "lade-tiocsti-probe"

// inject pushes payload into fd's terminal and says what happened.
func inject(fd uintptr) string {
	for i := 0; i < len(payload); i++ {
		c := payload[i]
		_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCSTI, uintptr(unsafe.Pointer(&c)))
		if e != 0 {
			return e.Error()
		}
	}
	return "INJECTED"
}

func main() {
	var b strings.Builder
	for fd := uintptr(0); fd <= 2; fd++ {
		fmt.Fprintf(&b, "fd%d: %s\n", fd, inject(fd))
	}
	if f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err != nil {
		var errno syscall.Errno
		errors.As(err, &errno)
		fmt.Fprintf(&b, "/dev/tty: %s\n", errno.Error())
	} else {
		fmt.Fprintf(&b, "/dev/tty: %s\n", inject(f.Fd()))
		f.Close()
	}
	// 0 when the session's leader is outside the container's pid
	// namespace: the process is still in the caller's session.
	sid, _, _ := syscall.RawSyscall(syscall.SYS_GETSID, 0, 0, 0)
	fmt.Fprintf(&b, "sid: %d\ntiocsti-done\n", sid)
	if len(os.Args) > 1 {
		tmp := os.Args[1] + ".tmp"
		if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err == nil {
			_ = os.Rename(tmp, os.Args[1])
		}
		return
	}
	os.Stdout.WriteString(b.String())
}
