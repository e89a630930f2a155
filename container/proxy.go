package container

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// startProxies listens on the host for each published port and relays
// connections into the network namespace of the current container process
// (pid() returns 0 while none runs). stop closes the listeners. bound is
// ports with each host port of 0 replaced by the one the kernel chose.
func startProxies(ports []Port, pid func() int, warn io.Writer) (stop func(), bound []Port, err error) {
	var closers []io.Closer
	stop = func() {
		for _, c := range closers {
			c.Close()
		}
	}
	for _, p := range ports {
		target := net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port))
		c, err := listenPort(p)
		if err != nil {
			stop()
			return nil, nil, err
		}
		closers = append(closers, c)
		switch l := c.(type) {
		case net.PacketConn:
			p.HostPort = l.LocalAddr().(*net.UDPAddr).Port
			go relayUDP(l, target, pid)
		case net.Listener:
			p.HostPort = l.Addr().(*net.TCPAddr).Port
			go acceptTCP(l, target, pid, warn)
		}
		p.HostPortEnd = 0
		bound = append(bound, p)
	}
	return stop, bound, nil
}

// listenPort listens on p's host address: its port, or with a range the
// first port of it that is free.
func listenPort(p Port) (io.Closer, error) {
	last := max(p.HostPort, p.HostPortEnd)
	for hp := p.HostPort; ; hp++ {
		addr := net.JoinHostPort(p.HostIP, strconv.Itoa(hp))
		var c io.Closer
		var err error
		if p.Proto == "udp" {
			c, err = net.ListenPacket("udp", addr)
		} else {
			c, err = net.Listen("tcp", addr)
		}
		if err == nil {
			return c, nil
		}
		if hp >= last || !errors.Is(err, unix.EADDRINUSE) {
			if hp > p.HostPort {
				return nil, fmt.Errorf("publishing %s: no port of the range is free: %w", p, err)
			}
			return nil, fmt.Errorf("publishing %s: %w", p, err)
		}
	}
}

func acceptTCP(ln net.Listener, target string, pid func() int, warn io.Writer) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return // closed
		}
		go func() {
			defer conn.Close()
			p := pid()
			if p == 0 {
				return
			}
			up, err := dialIn(p, "tcp", target)
			if err != nil {
				return // like docker-proxy: the client sees a reset
			}
			defer up.Close()
			pipe(conn, up)
		}()
	}
}

// pipe copies both ways and half-closes so request/response protocols end.
func pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}

// dialIn connects to addr from inside the network namespace of pid. The
// socket is created on a thread moved into that namespace; a socket keeps
// its namespace, so it works from any thread afterwards. The thread is
// never unlocked and thus discarded.
func dialIn(pid int, network, addr string) (net.Conn, error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- res{nil, err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- res{nil, fmt.Errorf("joining network namespace: %w", err)}
			return
		}
		c, err := net.DialTimeout(network, addr, 10*time.Second)
		ch <- res{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// relayUDP keeps one inside socket per client address.
func relayUDP(pc net.PacketConn, target string, pid func() int) {
	var mu sync.Mutex
	sessions := map[string]net.Conn{}
	buf := make([]byte, 64<<10)
	for {
		n, client, err := pc.ReadFrom(buf)
		if err != nil {
			mu.Lock()
			for _, c := range sessions {
				c.Close()
			}
			mu.Unlock()
			return
		}
		mu.Lock()
		up, ok := sessions[client.String()]
		mu.Unlock()
		if !ok {
			p := pid()
			if p == 0 {
				continue
			}
			if up, err = dialIn(p, "udp", target); err != nil {
				continue
			}
			mu.Lock()
			sessions[client.String()] = up
			mu.Unlock()
			go func(client net.Addr, up net.Conn) {
				defer func() {
					mu.Lock()
					delete(sessions, client.String())
					mu.Unlock()
					up.Close()
				}()
				rb := make([]byte, 64<<10)
				for {
					_ = up.SetReadDeadline(time.Now().Add(90 * time.Second))
					n, err := up.Read(rb)
					if err != nil {
						return
					}
					if _, err := pc.WriteTo(rb[:n], client); err != nil {
						return
					}
				}
			}(client, up)
		}
		_, _ = up.Write(buf[:n])
	}
}
