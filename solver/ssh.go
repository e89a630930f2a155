package solver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// SSHSource is what one `--ssh ID=...` forwards: an existing agent socket,
// or private keys lade serves through its own in-memory agent.
type SSHSource struct {
	Socket string
	Keys   []any // parsed private keys (ssh.ParseRawPrivateKey)
}

// ParseSSHFlag reads one `--ssh` value: `default` or `ID` alone forwards
// $SSH_AUTH_SOCK; `ID=PATH[,PATH...]` forwards PATH if it is a socket and
// otherwise loads each PATH as an unencrypted private key. Keys are read now
// so a bad path fails before anything is built.
func ParseSSHFlag(s string, lookupEnv func(string) (string, bool)) (id string, src SSHSource, err error) {
	id, paths, ok := strings.Cut(s, "=")
	if id == "" {
		return "", src, fmt.Errorf("invalid ssh %q: empty id", s)
	}
	if !ok || paths == "" {
		sock, _ := lookupEnv("SSH_AUTH_SOCK")
		if sock == "" {
			return "", src, fmt.Errorf("ssh %s: SSH_AUTH_SOCK is not set: start an ssh-agent or pass --ssh %s=KEYFILE", id, id)
		}
		paths = sock
	}
	for _, p := range strings.Split(paths, ",") {
		fi, err := os.Stat(p)
		if err != nil {
			return "", src, fmt.Errorf("ssh %s: %w", id, err)
		}
		if fi.Mode()&os.ModeSocket != 0 {
			if src.Socket != "" || strings.Contains(paths, ",") {
				return "", src, fmt.Errorf("ssh %s: an agent socket cannot be combined with other paths", id)
			}
			src.Socket = p
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return "", src, fmt.Errorf("ssh %s: %w", id, err)
		}
		key, err := ssh.ParseRawPrivateKey(data)
		if err != nil {
			return "", src, fmt.Errorf("ssh %s: parsing private key %s: %w", id, p, err)
		}
		src.Keys = append(src.Keys, key)
	}
	return id, src, nil
}

// keyring returns the agent that serves src's keys, one per id per build.
func (bd *build) keyring(id string, src SSHSource) (agent.Agent, error) {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if bd.ms == nil {
		bd.ms = &mountState{}
	}
	if kr, ok := bd.ms.agents[id]; ok {
		return kr, nil
	}
	kr := agent.NewKeyring()
	for _, k := range src.Keys {
		if err := kr.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			return nil, fmt.Errorf("ssh %s: adding key to agent: %w", id, err)
		}
	}
	if bd.ms.agents == nil {
		bd.ms.agents = map[string]agent.Agent{}
	}
	bd.ms.agents[id] = kr
	return kr, nil
}

// agentProxy is a unix socket for one RUN step's ssh mount. Each connection
// is served by lade's keyring or spliced to the forwarded agent, so the
// socket can carry the mount's own owner and mode without touching the
// user's agent socket.
type agentProxy struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

func startAgentProxy(ctx context.Context, sock string, uid, gid int, mode os.FileMode, src SSHSource, kr agent.Agent) (*agentProxy, error) {
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("listening on agent socket: %w", err)
	}
	if err := os.Chown(sock, uid, gid); err == nil {
		err = os.Chmod(sock, mode)
	} else {
		ln.Close()
		return nil, fmt.Errorf("agent socket: %w", err)
	}
	p := &agentProxy{ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.track(c) {
				c.Close()
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer p.untrack(c)
				if kr != nil {
					_ = agent.ServeAgent(kr, c)
					return
				}
				p.splice(ctx, c, src.Socket)
			}()
		}
	}()
	return p, nil
}

func (p *agentProxy) splice(ctx context.Context, c net.Conn, upstream string) {
	var d net.Dialer
	u, err := d.DialContext(ctx, "unix", upstream)
	if err != nil {
		return
	}
	if !p.track(u) {
		u.Close()
		return
	}
	defer p.untrack(u)
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(u, c)
	go cp(c, u)
	<-done
	<-done
}

func (p *agentProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *agentProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// close stops accepting, drops live connections and waits for the
// goroutines, so nothing outlives the step.
func (p *agentProxy) close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.done = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
