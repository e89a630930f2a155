package container

import (
	"bytes"
	"io"
	"sync"

	"github.com/lade-build/lade/internal/userns"
	"github.com/lade-build/lade/runner"
)

// Prestart is the init of a container that does not exist yet: lade's
// second start (its Go runtime, milliseconds) then overlaps the image's
// resolution and the container's creation instead of following them.
// Only a container without a terminal, stdin, devices, limits or shared
// namespaces is started so: the init is cloned into its cgroup, and its
// output goes where the supervisor says once it has the log. Supervise
// takes it (IO.Prestart) for the container's first run; Close discards
// one nobody took.
type Prestart struct {
	id       string
	rn       *runner.Runner
	cg       *cgroup
	out, err *laterWriter
	launched chan struct{} // closed once the launch is over, ok or not
	ok       bool          // the init was launched
	once     sync.Once
}

// Prestart starts launching the init of the container about to be
// created with o and sets o.ID to its ID; nil (o untouched) when o needs
// the ordinary start. The launch goes on in the background: the fork
// and exec hold up their thread until the init runs. One that fails
// leaves the container to the ordinary start, which then says why.
func (s *Store) Prestart(o *CreateOptions) *Prestart {
	if o.Tty || o.OpenStdin || o.Privileged || len(o.Devices) > 0 || o.PidMode != "" || o.IpcMode != "" || o.UTSMode != "" || userns.Rootless() {
		return nil
	}
	if r, err := o.resources(); err != nil || !unlimited(r) {
		return nil
	}
	p := &Prestart{id: NewID(), out: &laterWriter{}, err: &laterWriter{}, launched: make(chan struct{})}
	go p.launch()
	o.ID = p.id
	return p
}

// launch makes the container's cgroup and launches the init into it.
func (p *Prestart) launch() {
	defer close(p.launched)
	cg, err := setupCgroup(p.id, Resources{}, io.Discard)
	if err != nil {
		return
	}
	p.cg, p.rn = cg, runner.New()
	p.ok = p.rn.Launch(p.fill(&runner.Spec{})) == nil
}

// fill sets what spec shares with the launched init's (Run takes a
// launched init for a spec that agrees with it on these).
func (p *Prestart) fill(spec *runner.Spec) *runner.Spec {
	spec.Stdin, spec.Stdout, spec.Stderr = nil, p.out, p.err
	spec.Cgroups, spec.CgroupAtClone = p.cg.paths(), true
	spec.DeviceCgroup = "lade/" + p.id
	return spec
}

// fits reports whether c is the container p was started for.
func (p *Prestart) fits(c *Config) bool {
	return p != nil && c.ID == p.id && !c.Tty && !c.OpenStdin && !c.Privileged && len(c.Devices) == 0 &&
		c.PidMode == "" && c.IpcMode == "" && c.UTSMode == "" && unlimited(c.Resources)
}

// take gives spec p's init and cgroup for container c's run, its output
// going to stdout and stderr; ok is false (and p discarded) when p does
// not fit c.
func (p *Prestart) take(c *Config, spec *runner.Spec, stdout, stderr io.Writer) (rn *runner.Runner, cg *cgroup, ok bool) {
	if p != nil {
		<-p.launched
	}
	if !p.fits(c) || !p.ok {
		p.Close()
		return nil, nil, false
	}
	p.once.Do(func() {}) // the run's now: Close leaves it alone
	p.fill(spec)
	p.out.set(stdout)
	p.err.set(stderr)
	return p.rn, p.cg, true
}

// Close discards p unless a run took it.
func (p *Prestart) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		<-p.launched
		if p.rn != nil {
			_ = p.rn.Close()
		}
		_ = p.cg.remove()
	})
}

// laterWriter keeps what is written to it until it has its writer.
type laterWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
}

func (l *laterWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		return l.buf.Write(b)
	}
	return l.w.Write(b)
}

func (l *laterWriter) set(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w = w
	if l.buf.Len() > 0 {
		_, _ = w.Write(l.buf.Bytes())
		l.buf.Reset()
	}
}
