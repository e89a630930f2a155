package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The addresses slirp4netns gives a namespace (its defaults): the
// container is 10.0.2.100, the gateway 10.0.2.2.
var (
	slirpSubnet  = netip.MustParsePrefix("10.0.2.0/24")
	slirpGateway = netip.MustParseAddr("10.0.2.2")
	slirpIP      = netip.MustParseAddr("10.0.2.100")
)

// RootlessTools are the programs AttachRootless can give a namespace
// outbound access with, in the order it looks for them.
var RootlessTools = []string{"slirp4netns", "pasta"}

// ErrNoRootlessTool is AttachRootless's error where none is installed.
var ErrNoRootlessTool = errors.New("neither slirp4netns nor pasta is installed (apt-get install slirp4netns, or passt)")

// AttachRootless gives a rootless container a network namespace of its
// own with outbound access through slirp4netns or pasta (tool, or the
// first of RootlessTools installed), as rootless podman and docker do: eth0
// with 10.0.2.100/24 and a default route via 10.0.2.2, its traffic sent
// on by the tool from sockets in the caller's (the host's) namespace. The
// host's loopback is not reachable through the gateway. The records stay
// out of the store: no other container shares the namespace's network.
// The tool ends with Detach, or when the caller dies.
func AttachRootless(ctx context.Context, tool string) (*Attachment, error) {
	tools := RootlessTools
	if tool != "" {
		if !slices.Contains(RootlessTools, tool) {
			return nil, fmt.Errorf("rootless network tool %q: want slirp4netns or pasta", tool)
		}
		tools = []string{tool}
	}
	bin := ""
	for _, t := range tools {
		if p, err := exec.LookPath(t); err == nil {
			bin, tool = p, t
			break
		}
	}
	if bin == "" {
		return nil, ErrNoRootlessTool
	}
	ns, err := newNS()
	if err != nil {
		return nil, fmt.Errorf("new network namespace: %w", err)
	}
	a := &Attachment{
		Network:  &Network{Name: DefaultName, Driver: tool, Subnet: slirpSubnet, Gateway: slirpGateway},
		Endpoint: &Endpoint{IP: slirpIP, MAC: macFor(slirpIP)},
		ns:       ns,
	}
	start := a.startSlirp
	if tool == "pasta" {
		start = a.startPasta
	}
	if err := start(bin); err != nil {
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
	a.helper, a.helperExit = cmd, exitW
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

// startPasta runs pasta on a's namespace in the foreground, as a child
// that dies with the caller, and waits until eth0 has its address and
// default route. No port is forwarded by pasta: -p is the proxy's.
func (a *Attachment) startPasta(bin string) error {
	path, unbind, err := a.bindNS()
	if err != nil {
		return err
	}
	// Once set up pasta holds the namespace itself: the file can go.
	defer unbind()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--config-net", "-f", "-q", "-a", slirpIP.String(), "-n", "24", "-g", slirpGateway.String(),
		"--no-map-gw", "-I", "eth0", "-M", a.Endpoint.MAC, "-t", "none", "-u", "none", "-T", "none", "-U", "none",
		"--no-netns-quit", "--netns", path)
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pasta: %w", err)
	}
	a.helper = cmd
	exited := make(chan struct{})
	go func() { _, _ = cmd.Process.Wait(); close(exited) }()
	a.helperDone = exited
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-exited:
			return fmt.Errorf("pasta exited: %s", bytes.TrimSpace(stderr.Bytes()))
		default:
		}
		if hasDefaultRoute(a.ns) {
			return nil
		}
	}
	return errors.New("pasta: eth0 not configured after 30 s")
}

// bindNS bind-mounts a's namespace on a file of its own, which pasta
// opens (it drops to nobody first, which may not open another process's
// /proc/PID/fd); unbind unmounts and removes it.
func (a *Attachment) bindNS() (path string, unbind func(), err error) {
	f, err := os.CreateTemp("", "lade-netns-")
	if err != nil {
		return "", nil, err
	}
	path = f.Name()
	f.Close()
	if err := unix.Mount(a.NSPath(), path, "", unix.MS_BIND, ""); err != nil {
		os.Remove(path)
		return "", nil, fmt.Errorf("bind-mounting the network namespace for pasta: %w", err)
	}
	return path, func() {
		_ = unix.Unmount(path, unix.MNT_DETACH)
		_ = os.Remove(path)
	}, nil
}

// hasDefaultRoute says whether ns has a default route (eth0 is up and
// addressed).
func hasDefaultRoute(ns netns.NsHandle) bool {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return false
	}
	defer h.Close()
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	return err == nil && slices.ContainsFunc(routes, func(r netlink.Route) bool { return r.Gw != nil })
}

// stopHelper ends slirp4netns or pasta: closing slirp4netns's exit pipe
// asks it to, pasta gets SIGTERM.
func (a *Attachment) stopHelper() {
	if a.helper == nil {
		return
	}
	done := a.helperDone
	if a.helperExit != nil {
		a.helperExit.Close()
		ch := make(chan struct{})
		go func() { _ = a.helper.Wait(); close(ch) }()
		done = ch
	} else {
		_ = a.helper.Process.Signal(unix.SIGTERM)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = a.helper.Process.Kill()
		<-done
	}
	a.helper = nil
}
