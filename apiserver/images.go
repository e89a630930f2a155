package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	itypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/images"
)

func (s *Server) imageRoutes() {
	s.handle("GET /images/json", s.imageList)
	s.handle("POST /images/create", s.imagePull)
	s.handle("GET /images/get", func(w http.ResponseWriter, r *http.Request) error {
		return s.imageSave(w, r, r.URL.Query()["names"])
	})
	s.handle("POST /images/load", s.imageLoad)
	// Image names hold slashes: the action is the path's last element.
	s.handle("GET /images/{rest...}", s.imageGet)
	s.handle("POST /images/{rest...}", s.imagePost)
	s.handle("DELETE /images/{rest...}", s.imageDelete)
}

// imageAction splits "NAME/ACTION" into the image's name and action.
func imageAction(r *http.Request) (ref, action string) {
	rest := r.PathValue("rest")
	i := strings.LastIndex(rest, "/")
	if i < 0 {
		return rest, ""
	}
	return rest[:i], rest[i+1:]
}

func (s *Server) imageList(w http.ResponseWriter, r *http.Request) error {
	filters, err := filterArgs(r)
	if err != nil {
		return err
	}
	sums, err := engine.ListImages(r.Context(), s.o.Images, engine.ImageListOptions{Filters: filters})
	if err != nil {
		return badParameter(err)
	}
	return writeJSON(w, http.StatusOK, sums)
}

func (s *Server) imageGet(w http.ResponseWriter, r *http.Request) error {
	ref, action := imageAction(r)
	switch action {
	case "json":
		ii, err := engine.ImageInspect(r.Context(), s.o.Images, ref, nil)
		if err != nil {
			return noSuch("image", ref, err)
		}
		return writeJSON(w, http.StatusOK, ii)
	case "history":
		img, err := s.o.Images.Get(r.Context(), ref)
		if err != nil {
			return noSuch("image", ref, err)
		}
		ii, err := s.o.Images.Inspect(r.Context(), ref, nil)
		if err != nil {
			return noSuch("image", ref, err)
		}
		rows, err := engine.History(img, ii.RepoTags)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, rows)
	case "get":
		return s.imageSave(w, r, []string{ref})
	}
	return errorf(http.StatusNotFound, "page not found: lade serve has no endpoint GET %s", r.URL.Path)
}

func (s *Server) imagePost(w http.ResponseWriter, r *http.Request) error {
	ref, action := imageAction(r)
	switch action {
	case "tag":
		target := r.URL.Query().Get("repo")
		if t := r.URL.Query().Get("tag"); t != "" {
			target += ":" + t
		}
		if err := engine.Tag(r.Context(), s.o.Images, ref, target); err != nil {
			return noSuch("image", ref, badRef(err))
		}
		w.WriteHeader(http.StatusCreated)
		return nil
	case "push":
		return s.imagePush(w, r, ref)
	}
	return errorf(http.StatusNotFound, "page not found: lade serve has no endpoint POST %s", r.URL.Path)
}

// badRef makes a reference lade cannot parse docker's 400.
func badRef(err error) error {
	if err != nil && statusOf(err) == http.StatusInternalServerError {
		return badParameter(err)
	}
	return err
}

func (s *Server) imageDelete(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("rest")
	removed, err := engine.RemoveImage(r.Context(), s.o.Images, s.stores.Containers, ref, boolQuery(r, "force"))
	if err != nil {
		return noSuch("image", ref, err)
	}
	out := []itypes.DeleteResponse{}
	for _, n := range removed.Untagged {
		out = append(out, itypes.DeleteResponse{Untagged: n})
	}
	if removed.Deleted.Hex != "" {
		out = append(out, itypes.DeleteResponse{Deleted: removed.Deleted.String()})
	}
	return writeJSON(w, http.StatusOK, out)
}

// pullRef is the reference images/create names: fromImage with tag, a
// tag or a digest.
func pullRef(r *http.Request) string {
	ref, tag := r.URL.Query().Get("fromImage"), r.URL.Query().Get("tag")
	switch {
	case tag == "":
		return ref
	case strings.Contains(tag, ":"):
		return ref + "@" + tag
	}
	return ref + ":" + tag
}

func (s *Server) imagePull(w http.ResponseWriter, r *http.Request) error {
	if src := r.URL.Query().Get("fromSrc"); src != "" {
		return s.imageImport(w, r, src)
	}
	ref := pullRef(r)
	if ref == "" {
		return errorf(http.StatusBadRequest, "images/create needs fromImage or fromSrc")
	}
	auth, err := registryAuth(r)
	if err != nil {
		return err
	}
	verify, err := engine.SignatureCheck(s.o.Policy, ref, s.o.Images)
	if err != nil {
		return err
	}
	opts := images.PullOptions{Insecure: s.o.Insecure, Auth: auth, Verify: verify}
	if p := r.URL.Query().Get("platform"); p != "" {
		plat, err := images.ParsePlatform(p)
		if err != nil {
			return badParameter(err)
		}
		opts.Platform = plat
	}
	st := newStream(w)
	lw := st.lines(pullVerbs)
	opts.Progress = lw
	pulled, err := engine.Pull(r.Context(), s.o.Images, s.o.Snapshots, ref, opts)
	if err != nil {
		return st.fail(err)
	}
	lw.done("Pull complete")
	st.status("Digest: " + pulled.Digest.String())
	if pulled.UpToDate {
		st.status("Status: Image is up to date for " + ref)
	} else {
		st.status("Status: Downloaded newer image for " + ref)
	}
	return nil
}

// imageImport is docker import: the request's body is a root filesystem
// tarball, made an image as `lade import` makes it.
func (s *Server) imageImport(w http.ResponseWriter, r *http.Request, src string) error {
	if src != "-" {
		return errorf(http.StatusNotImplemented, "lade serve does not implement importing from a URL (fromSrc=%s) yet; send the tarball as the body (fromSrc=-)", src)
	}
	q := r.URL.Query()
	ref := q.Get("repo")
	if t := q.Get("tag"); ref != "" && t != "" {
		ref += ":" + t
	}
	opts := images.ImportOptions{Changes: q["changes"], Message: q.Get("message"), Created: time.Now().UTC()}
	img, err := s.o.Images.Import(r.Context(), r.Body, ref, opts)
	if err != nil {
		return badParameter(fmt.Errorf("importing: %w", err))
	}
	id, err := img.ConfigName()
	if err != nil {
		return err
	}
	newStream(w).status(id.String())
	return nil
}

func (s *Server) imagePush(w http.ResponseWriter, r *http.Request, ref string) error {
	if t := r.URL.Query().Get("tag"); t != "" {
		ref += ":" + t
	}
	img, err := s.o.Images.Get(r.Context(), ref)
	if err != nil {
		return noSuch("image", ref, err)
	}
	auth, err := registryAuth(r)
	if err != nil {
		return err
	}
	tag := "latest"
	repo := ref
	if t, err := name.NewTag(ref); err == nil {
		tag, repo = t.TagStr(), t.Context().Name()
	}
	st := newStream(w)
	st.status("The push refers to repository [" + repo + "]")
	d, err := s.o.Images.Push(r.Context(), ref, img, images.PushOptions{Insecure: s.o.Insecure, Progress: st.lines(pushVerbs), Auth: auth})
	if err != nil {
		return st.fail(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return st.fail(err)
	}
	st.status(fmt.Sprintf("%s: digest: %s size: %d", tag, d, len(raw)))
	return nil
}

func (s *Server) imageSave(w http.ResponseWriter, r *http.Request, refs []string) error {
	for _, ref := range refs {
		if _, err := s.o.Images.Get(r.Context(), ref); err != nil {
			return noSuch("image", ref, err)
		}
	}
	w.Header().Set("Content-Type", "application/x-tar")
	return s.o.Images.Save(r.Context(), w, refs, nil)
}

func (s *Server) imageLoad(w http.ResponseWriter, r *http.Request) error {
	loaded, err := s.o.Images.Load(r.Context(), r.Body)
	if err != nil {
		return badParameter(err)
	}
	st := newStream(w)
	for _, l := range loaded {
		if len(l.Names) == 0 {
			st.stream("Loaded image ID: " + l.ID.String() + "\n")
		}
		for _, n := range l.Names {
			st.stream("Loaded image: " + n + "\n")
		}
	}
	return nil
}

// stream writes docker's streamed JSON messages, one a line, flushed as
// they come; writes come from the pull's goroutines too. The status line
// goes with the first message, so a failure before any is a plain error.
type stream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	enc     *json.Encoder
	started bool
}

func newStream(w http.ResponseWriter) *stream {
	return &stream{w: w, enc: json.NewEncoder(w)}
}

// message is jsonstream.Message with the "error" string docker 20.10's
// clients still read beside errorDetail.
type message struct {
	jsonstream.Message
	ErrorMessage string `json:"error,omitempty"`
}

func (st *stream) send(m message) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.started {
		st.w.Header().Set("Content-Type", "application/json")
		st.w.WriteHeader(http.StatusOK)
		st.started = true
	}
	_ = st.enc.Encode(m)
	if f, ok := st.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (st *stream) status(s string) { st.send(message{Message: jsonstream.Message{Status: s}}) }
func (st *stream) stream(s string) { st.send(message{Message: jsonstream.Message{Stream: s}}) }

// fail ends the stream with err: once the status was sent, the error
// goes in the body, where docker's clients look for it.
func (st *stream) fail(err error) error {
	st.mu.Lock()
	started := st.started
	st.mu.Unlock()
	if !started {
		return err
	}
	st.send(message{Message: jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}}, ErrorMessage: err.Error()})
	return nil
}

// Docker's words for the stores' progress verbs, per layer.
var (
	pullVerbs = map[string]string{"exists": "Already exists", "pulling": "Pulling fs layer"}
	pushVerbs = map[string]string{"exists": "Layer already exists", "mounted": "Mounted", "pushed": "Pushed"}
)

// lines is a writer that makes each of the stores' progress lines, "VERB
// sha256:HEX… SIZE", docker's message for a layer: verbs' word as status,
// the short digest as id. Other lines pass as they are.
func (st *stream) lines(verbs map[string]string) *lineWriter {
	return &lineWriter{st: st, verbs: verbs}
}

type lineWriter struct {
	mu    sync.Mutex
	st    *stream
	verbs map[string]string
	ids   []string // the blobs being pulled, in order
	buf   []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.line(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}

func (l *lineWriter) line(s string) {
	f := strings.Fields(s)
	word, ok := l.verbs[firstOf(f)]
	if !ok || len(f) < 2 {
		l.st.status(s)
		return
	}
	id := strings.TrimSuffix(strings.TrimPrefix(f[1], "sha256:"), "…")
	if f[0] == "pulling" {
		l.ids = append(l.ids, id)
	}
	l.st.send(message{Message: jsonstream.Message{Status: word, ID: id}})
}

// done reports every blob that was being pulled as complete.
func (l *lineWriter) done(word string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range l.ids {
		l.st.send(message{Message: jsonstream.Message{Status: word, ID: id}})
	}
}

func firstOf(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
