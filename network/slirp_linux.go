package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// The addresses slirp4netns gives a namespace (its defaults): the
// container is 10.0.2.100, the gateway 10.0.2.2.
var (
	slirpSubnet  = netip.MustParsePrefix("10.0.2.0/24")
	slirpGateway = netip.MustParseAddr("10.0.2.2")
	slirpIP      = netip.MustParseAddr("10.0.2.100")
)

// ErrNoSlirp is AttachSlirp's error where slirp4netns is not installed.
var ErrNoSlirp = errors.New("slirp4netns not found (apt-get install slirp4netns)")

// AttachSlirp gives a rootless container a network namespace of its own
// with outbound access through slirp4netns, as rootless podman and docker
// do: a tap device eth0 with 10.0.2.100/24 and a default route via
// 10.0.2.2, its traffic sent on by slirp4netns from sockets in the
// caller's (the host's) namespace. The host's loopback is not reachable
// through the gateway. The records stay out of the store: no other
// container shares the namespace's network. slirp4netns ends when Detach
// closes its exit pipe, or when the caller dies.
func AttachSlirp(ctx context.Context) (*Attachment, error) {
	bin, err := exec.LookPath("slirp4netns")
	if err != nil {
		return nil, ErrNoSlirp
	}
	ns, err := newNS()
	if err != nil {
		return nil, fmt.Errorf("new network namespace: %w", err)
	}
	a := &Attachment{
		Network:  &Network{Name: DefaultName, Driver: "slirp4netns", Subnet: slirpSubnet, Gateway: slirpGateway},
		Endpoint: &Endpoint{IP: slirpIP, MAC: macFor(slirpIP)},
		ns:       ns,
	}
	if err := a.startSlirp(bin); err != nil {
		_ = a.Detach(ctx)
		return nil, err
	}
	return a, nil
}

// startSlirp runs slirp4netns on a's namespace and waits until it has
// configured it (its ready pipe).
func (a *Attachment) startSlirp(bin string) error {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return err
	}
	defer exitR.Close()
	// The child gets a duplicate: an os.File of a.ns itself would close
	// it when collected.
	nsfd, err := unix.Dup(int(a.ns))
	if err != nil {
		readyW.Close()
		exitW.Close()
		return err
	}
	nsFile := os.NewFile(uintptr(nsfd), "netns")
	defer nsFile.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--configure", "--mtu=65520", "--disable-host-loopback",
		"--macaddress", a.Endpoint.MAC, "--ready-fd=3", "--exit-fd=4", "--netns-type=path", "/proc/self/fd/5", "eth0")
	cmd.ExtraFiles = []*os.File{readyW, exitR, nsFile}
	cmd.Stderr = &stderr
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		exitW.Close()
		return fmt.Errorf("slirp4netns: %w", err)
	}
	a.slirp, a.slirpExit = cmd, exitW
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 1)
		_, err := readyR.Read(buf)
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		err = errors.New("not ready after 30 s")
	}
	if err == nil {
		return nil
	}
	msg := bytes.TrimSpace(stderr.Bytes())
	if bytes.Contains(msg, []byte("/dev/net/tun")) {
		msg = append(msg, " (rootless networking needs /dev/net/tun open to every user, mode 0666 as Debian's udev makes it)"...)
	}
	return fmt.Errorf("slirp4netns: %v: %s", err, msg)
}

// stopSlirp ends slirp4netns: closing its exit pipe asks it to.
func (a *Attachment) stopSlirp() {
	if a.slirp == nil {
		return
	}
	a.slirpExit.Close()
	done := make(chan struct{})
	go func() { _ = a.slirp.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = a.slirp.Process.Kill()
		<-done
	}
	a.slirp = nil
}
