package apiserver

import (
	"encoding/binary"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/internal/dockertime"
)

// containerLogs copies the container's log to the response as docker's
// logs endpoint does: each write in a frame naming its stream, or, with a
// terminal, the one stream as it is.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	tail := -1
	if v := r.URL.Query().Get("tail"); v != "" && v != "all" {
		if tail, err = intQuery(r, "tail", -1); err != nil {
			return err
		}
	}
	if !boolQuery(r, "stdout") && !boolQuery(r, "stderr") {
		return errorf(http.StatusBadRequest, "Bad parameters: you must choose at least one stream")
	}
	o := container.LogOptions{Follow: boolQuery(r, "follow"), Tail: tail, Timestamps: boolQuery(r, "timestamps"),
		Details: boolQuery(r, "details")}
	now := time.Now()
	if o.Since, err = dockertime.Parse(r.URL.Query().Get("since"), now); err != nil {
		return badParameter(err)
	}
	if o.Until, err = dockertime.Parse(r.URL.Query().Get("until"), now); err != nil {
		return badParameter(err)
	}
	var stdout, stderr io.Writer
	fw := &frameWriter{w: w}
	if c.Tty {
		w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
		stdout, stderr = fw.raw(), fw.raw()
	} else {
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		stdout, stderr = fw.stream(1), fw.stream(2)
	}
	if !boolQuery(r, "stdout") {
		stdout = io.Discard
	}
	if !boolQuery(r, "stderr") {
		stderr = io.Discard
	}
	w.WriteHeader(http.StatusOK)
	return writeOnly(s.stores.Containers.ReadLogs(r.Context(), c.ID, o, stdout, stderr))
}

// writeOnly drops an error that comes after the status line was sent:
// the client sees the stream end.
func writeOnly(error) error { return nil }

// frameWriter writes a container's output to the response, flushed as it
// comes: each write in docker's multiplexed frame (stream byte, three
// zero bytes, big-endian length) unless the container has a terminal.
type frameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

type frameFunc func(p []byte) (int, error)

func (f frameFunc) Write(p []byte) (int, error) { return f(p) }

func (fw *frameWriter) stream(id byte) io.Writer {
	return frameFunc(func(p []byte) (int, error) {
		var hdr [8]byte
		hdr[0] = id
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
		return fw.write(hdr[:], p)
	})
}

func (fw *frameWriter) raw() io.Writer {
	return frameFunc(func(p []byte) (int, error) { return fw.write(nil, p) })
}

func (fw *frameWriter) write(hdr, p []byte) (int, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if _, err := fw.w.Write(hdr); err != nil {
		return 0, err
	}
	n, err := fw.w.Write(p)
	if f, ok := fw.w.(http.Flusher); ok {
		f.Flush()
	}
	return n, err
}
