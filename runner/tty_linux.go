package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// SetWindowSize resizes the terminal whose master (or slave) is f; the
// kernel then sends SIGWINCH to its foreground process group.
func SetWindowSize(f *os.File, ws WindowSize) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	// Control holds a reference, so a concurrent Close cannot hand the
	// fd number to another file under us.
	if err := rc.Control(func(fd uintptr) {
		ioErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Rows, Col: ws.Cols})
	}); err != nil {
		return err
	}
	return ioErr
}

// openPty opens a new terminal pair from the devpts instance /dev/ptmx
// names for the calling thread (the container's after pivot_root or setns)
// and gives the slave to uid, as login does. Both fds are close-on-exec.
func openPty(uid int, ws WindowSize) (master, slave int, err error) {
	master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	fail := func(what string, err error) (int, int, error) {
		unix.Close(master)
		if slave >= 0 {
			unix.Close(slave)
		}
		return -1, -1, fmt.Errorf("pty: %s: %w", what, err)
	}
	slave = -1
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fail("unlock", err)
	}
	// TIOCGPTPEER opens the slave without a path lookup, so it cannot be
	// another devpts instance's /dev/pts/N.
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
		if err != nil {
			return fail("get number", err)
		}
		s, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fail("open slave", err)
		}
		fd = uintptr(s)
	}
	slave = int(fd)
	if err := unix.Fchown(slave, uid, -1); err != nil {
		return fail("chown slave", err)
	}
	if ws.Rows != 0 || ws.Cols != 0 {
		if err := unix.IoctlSetWinsize(slave, unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Rows, Col: ws.Cols}); err != nil {
			return fail("set window size", err)
		}
	}
	return master, slave, nil
}

// makeControlling makes slave the controlling terminal of a new session
// and the calling process's stdin, stdout and stderr.
func makeControlling(slave int) error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("terminal onto fd %d: %w", fd, err)
		}
	}
	if slave > 2 {
		unix.Close(slave)
	}
	return nil
}

// sendFd passes fd over the unix socket sock.
func sendFd(sock, fd int) error {
	if err := unix.Sendmsg(sock, []byte{'t'}, unix.UnixRights(fd), nil, 0); err != nil {
		return fmt.Errorf("send terminal: %w", err)
	}
	return nil
}

// recvFd receives one fd over the blocking socket sock; it returns nil
// when the peer closed the socket without sending one (the init failed).
func recvFd(sock int) (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("receive terminal: %w", err)
	}
	if n == 0 && oobn == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive terminal: bad control message (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive terminal: bad rights (%v)", err)
	}
	return masterFile(fds[0]), nil
}

// masterFile wraps a master fd for Go's poller, so reads can time out.
func masterFile(fd int) *os.File {
	_ = unix.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), "pty-master")
}

// console copies between a terminal master and the caller's stdio.
type console struct {
	master *os.File
	done   chan struct{} // closed once the output copy ends
}

// startConsole copies in to the master (when set) and the master to out.
func startConsole(master *os.File, in io.Reader, out io.Writer) *console {
	c := &console{master: master, done: make(chan struct{})}
	if out == nil {
		out = io.Discard
	}
	go func() {
		defer close(c.done)
		// EIO once every slave fd is closed: the normal end.
		_, _ = io.Copy(out, master)
	}()
	if in != nil {
		// This may stay blocked reading in after the container ended; its
		// next write then fails on the closed master.
		go func() { _, _ = io.Copy(master, in) }()
	}
	return c
}

// finish waits for the remaining output, at most grace when something
// else (a background process of an exec) still holds the slave, and
// closes the master.
func (c *console) finish(grace time.Duration) {
	if grace > 0 {
		_ = c.master.SetReadDeadline(time.Now().Add(grace))
	}
	<-c.done
	c.master.Close()
}
