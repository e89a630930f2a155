package apiserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/moby/term"

	"github.com/lade-build/lade/container"
)

func (s *Server) attachRoutes() {
	s.handle("POST /containers/{id}/attach", s.containerAttach)
	s.handle("POST /containers/{id}/resize", func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.container(r)
		if err != nil {
			return err
		}
		h, wd, err := sizeQuery(r)
		if err != nil {
			return err
		}
		if err := s.stores.Containers.Resize(c.ID, h, wd); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

// containerAttach is docker's hijacked attach: the response's status line
// upgrades the connection, which then carries the container's output
// (framed per stream unless it has a terminal) and the client's stdin.
// A created container is attached to before it starts, as docker run
// does; the stream ends when the container stops.
func (s *Server) containerAttach(w http.ResponseWriter, r *http.Request) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	keys := r.URL.Query().Get("detachKeys")
	if keys == "" {
		keys = "ctrl-p,ctrl-q"
	}
	o := container.AttachOptions{Pending: true}
	if o.DetachKeys, err = term.ToBytes(keys); err != nil {
		return badParameter(err)
	}
	conn, in, err := hijack(w, r, c.Tty)
	if err != nil {
		return err
	}
	defer conn.Close()
	o.Stdout, o.Stderr = streams(conn, c.Tty, boolQuery(r, "stdout"), boolQuery(r, "stderr"))
	if boolQuery(r, "stdin") {
		o.Stdin = in
	}
	ctx := context.WithoutCancel(r.Context()) // hijacked: the request's context no longer ends
	if boolQuery(r, "logs") {
		_ = s.stores.Containers.ReadLogs(ctx, c.ID, container.LogOptions{Tail: -1}, o.Stdout, o.Stderr)
	}
	if boolQuery(r, "stream") {
		_, _ = s.stores.Containers.Attach(ctx, c.ID, o)
	}
	return nil
}

// streams are the writers of a container's stdout and stderr on an
// attached connection: docker's frames, or one raw stream with a
// terminal; a stream not asked for is dropped.
func streams(w io.Writer, tty, stdout, stderr bool) (io.Writer, io.Writer) {
	fw := &frameWriter{w: w}
	out, errw := fw.stream(1), fw.stream(2)
	if tty {
		out, errw = fw.raw(), fw.raw()
	}
	if !stdout {
		out = io.Discard
	}
	if !stderr {
		errw = io.Discard
	}
	return out, errw
}

// hijack takes the connection over from net/http and answers as dockerd:
// 101 UPGRADED when the client asked for the upgrade, else 200, with the
// stream's content type. The reader returned has what the client sent
// after its request.
func hijack(w http.ResponseWriter, r *http.Request, tty bool) (net.Conn, io.Reader, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the connection cannot be hijacked")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	ctype := "application/vnd.docker.multiplexed-stream"
	if tty {
		ctype = "application/vnd.docker.raw-stream"
	}
	status := "200 OK"
	upgrade := ""
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") {
		status, upgrade = "101 UPGRADED", "Connection: Upgrade\r\nUpgrade: tcp\r\n"
	}
	head := fmt.Sprintf("HTTP/1.1 %s\r\nContent-Type: %s\r\nApi-Version: %s\r\n%s\r\n", status, ctype, MaxVersion, upgrade)
	if _, err := io.WriteString(conn, head); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, io.MultiReader(bufferedOf(rw.Reader), conn), nil
}

// bufferedOf is what net/http had already read past the request.
func bufferedOf(br *bufio.Reader) io.Reader {
	b, _ := br.Peek(br.Buffered())
	return strings.NewReader(string(b))
}

// sizeQuery reads resize's h and w.
func sizeQuery(r *http.Request) (uint16, uint16, error) {
	h, err := intQuery(r, "h", 0)
	if err != nil {
		return 0, 0, err
	}
	wd, err := intQuery(r, "w", 0)
	if err != nil {
		return 0, 0, err
	}
	if h < 0 || wd < 0 || h > 0xffff || wd > 0xffff {
		return 0, 0, errorf(http.StatusBadRequest, "invalid terminal size %dx%d", wd, h)
	}
	return uint16(h), uint16(wd), nil
}
