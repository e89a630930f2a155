package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/atomicfile"
	"github.com/lade-build/lade/runner"
)

// Mount is a container mount: a bind of a host path, a volume (already
// resolved to its directory) or a tmpfs.
type Mount struct {
	Type     string   `json:"type"` // bind, volume or tmpfs
	Source   string   `json:"source,omitempty"`
	Name     string   `json:"name,omitempty"` // volume name
	Target   string   `json:"target"`
	ReadOnly bool     `json:"readOnly,omitempty"`
	Options  []string `json:"options,omitempty"` // tmpfs size=, mode=
}

// Port publishes a container port on the host.
type Port struct {
	HostIP   string `json:"hostIP,omitempty"`
	HostPort int    `json:"hostPort"`
	// HostPortEnd, when above HostPort, makes [HostPort, HostPortEnd] a
	// range: the first port of it free at start is used.
	HostPortEnd int    `json:"hostPortEnd,omitempty"`
	Port        int    `json:"port"`
	Proto       string `json:"proto"` // tcp or udp
}

func (p Port) String() string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	if p.HostPortEnd > p.HostPort {
		return fmt.Sprintf("%s:%d-%d->%d/%s", ip, p.HostPort, p.HostPortEnd, p.Port, p.Proto)
	}
	return fmt.Sprintf("%s:%d->%d/%s", ip, p.HostPort, p.Port, p.Proto)
}

// RestartPolicy is docker's --restart.
type RestartPolicy struct {
	Name       string `json:"name"` // no, on-failure, always, unless-stopped
	MaxRetries int    `json:"maxRetries,omitempty"`
}

// Resources are cgroup limits; zero means unlimited.
type Resources struct {
	Memory int64 `json:"memory,omitempty"` // bytes
	// MemorySwap is memory plus swap (-1: unlimited swap); 0 or Memory
	// means no swap.
	MemorySwap int64   `json:"memorySwap,omitempty"`
	CPUs       float64 `json:"cpus,omitempty"`
	CPUShares  int64   `json:"cpuShares,omitempty"` // relative weight, 1024 the default
	PidsLimit  int64   `json:"pidsLimit,omitempty"`
	// CPUPeriod and CPUQuota are the CFS period and quota in
	// microseconds (--cpu-period, --cpu-quota; a quota of -1 is none).
	CPUPeriod int64 `json:"cpuPeriod,omitempty"`
	CPUQuota  int64 `json:"cpuQuota,omitempty"`
	// CpusetCpus and CpusetMems are cpuset lists such as 0-2,4.
	CpusetCpus string `json:"cpusetCpus,omitempty"`
	CpusetMems string `json:"cpusetMems,omitempty"`
	// MemoryReservation is the soft limit in bytes.
	MemoryReservation int64 `json:"memoryReservation,omitempty"`
	// MemorySwappiness is 0-100; nil keeps the host's (cgroup v1 only).
	MemorySwappiness *int64 `json:"memorySwappiness,omitempty"`
	// BlkioWeight is the relative block IO weight, 10-1000 (0: unset).
	BlkioWeight uint16 `json:"blkioWeight,omitempty"`
}

// Healthcheck is the image's or the command line's HEALTHCHECK.
type Healthcheck struct {
	Test        []string      `json:"test"` // CMD-SHELL ... or CMD ...
	Interval    time.Duration `json:"interval,omitempty"`
	Timeout     time.Duration `json:"timeout,omitempty"`
	StartPeriod time.Duration `json:"startPeriod,omitempty"`
	// StartInterval is the time between probes in the start period,
	// until one succeeds (default 5s).
	StartInterval time.Duration `json:"startInterval,omitempty"`
	Retries       int           `json:"retries,omitempty"`
}

// Config is everything needed to (re)start a container.
type Config struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Image   string    `json:"image"`
	ImageID string    `json:"imageID,omitempty"`
	Created time.Time `json:"created"`
	// Lowers are the image's layer dirs, top-most first.
	Lowers []string `json:"lowers"`

	Args           []string    `json:"args"`
	Env            []string    `json:"env"`
	Cwd            string      `json:"cwd"`
	UID            uint32      `json:"uid"`
	GID            uint32      `json:"gid"`
	AdditionalGIDs []uint32    `json:"additionalGIDs,omitempty"`
	User           string      `json:"user,omitempty"`
	GroupAdd       []string    `json:"groupAdd,omitempty"` // --group-add, also for exec -u
	Hostname       string      `json:"hostname"`
	Network        string      `json:"network"` // bridge, none, host or a network's name
	Net            NetSettings `json:"net,omitzero"`
	OpenStdin      bool        `json:"openStdin,omitempty"`
	StdinOnce      bool        `json:"stdinOnce,omitempty"`    // stdin closes when the first attach's ends
	AttachStdout   bool        `json:"attachStdout,omitempty"` // -a, as docker keeps it
	AttachStderr   bool        `json:"attachStderr,omitempty"`
	Tty            bool        `json:"tty,omitempty"`  // a pseudo-terminal as stdio
	Init           bool        `json:"init,omitempty"` // lade's init as pid 1
	ReadOnly       bool        `json:"readOnly,omitempty"`
	AutoRemove     bool        `json:"autoRemove,omitempty"`
	Mounts         []Mount     `json:"mounts,omitempty"`
	// AnonVolumes are volumes created for this container alone; they go
	// with it on rm -v and --rm.
	AnonVolumes []string      `json:"anonVolumes,omitempty"`
	Ports       []Port        `json:"ports,omitempty"`
	Restart     RestartPolicy `json:"restart"`
	StopSignal  string        `json:"stopSignal,omitempty"`
	StopTimeout int           `json:"stopTimeout,omitempty"` // seconds, 0 = 10
	Resources   Resources     `json:"resources"`
	Privileged  bool          `json:"privileged,omitempty"`
	// Devices are host devices created in the container and allowed
	// (--device); the rest of the host's stay behind docker's allow-list
	// unless Privileged.
	Devices []runner.Device `json:"devices,omitempty"`
	// Capabilities is the kept set; nil with Privileged keeps all.
	Capabilities    []string `json:"capabilities"`
	NoNewPrivileges bool     `json:"noNewPrivileges,omitempty"`
	Seccomp         string   `json:"seccomp,omitempty"` // "" (default filter), "unconfined" or a profile's JSON
	// Platform is the image's (its config's os, architecture and
	// variant): runner makes sure this host can run it (binfmt, qemu).
	Platform    *v1.Platform      `json:"platform,omitempty"`
	Healthcheck *Healthcheck      `json:"healthcheck,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// LogDriver is "" (the JSON-lines container.log) or "none".
	LogDriver string            `json:"logDriver,omitempty"`
	ShmSize   int64             `json:"shmSize,omitempty"` // 0: 64MiB
	Ulimits   []string          `json:"ulimits,omitempty"` // docker's NAME=SOFT[:HARD]
	Sysctls   map[string]string `json:"sysctls,omitempty"`
	// PidMode, IpcMode and UTSMode are "" (the container's own
	// namespace) or "host".
	PidMode    string `json:"pidMode,omitempty"`
	IpcMode    string `json:"ipcMode,omitempty"`
	UTSMode    string `json:"utsMode,omitempty"`
	Domainname string `json:"domainname,omitempty"`
	// OOMScoreAdj is the process's oom_score_adj, -1000 to 1000.
	OOMScoreAdj int `json:"oomScoreAdj,omitempty"`
}

// Statuses a container can be in.
const (
	StatusCreated    = "created"
	StatusRunning    = "running"
	StatusRestarting = "restarting"
	StatusExited     = "exited"
)

// Health is the healthcheck's state.
type Health struct {
	Status        string         `json:"status"` // starting, healthy, unhealthy
	FailingStreak int            `json:"failingStreak"`
	Log           []HealthResult `json:"log,omitempty"`
}

// HealthResult is one probe.
type HealthResult struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	ExitCode int       `json:"exitCode"`
	Output   string    `json:"output"`
}

// State is what the supervisor records.
type State struct {
	Status       string    `json:"status"`
	Pid          int       `json:"pid,omitempty"`
	ExitCode     int       `json:"exitCode"`
	Error        string    `json:"error,omitempty"`
	OOMKilled    bool      `json:"oomKilled,omitempty"`
	StartedAt    time.Time `json:"startedAt,omitzero"`
	FinishedAt   time.Time `json:"finishedAt,omitzero"`
	RestartCount int       `json:"restartCount"`
	// StoppedByUser is set by stop (and cleared by start): no restart,
	// and unless-stopped stays down.
	StoppedByUser bool `json:"stoppedByUser,omitempty"`
	// Paused is set while pause has the container's processes frozen.
	Paused bool    `json:"paused,omitempty"`
	Health *Health `json:"health,omitempty"`
	// Ports are the published ports in effect while the container is up,
	// a host port of 0 in the config replaced by the one the kernel chose.
	Ports []Port `json:"ports,omitempty"`
	// Network is the container's address while it runs on a bridge.
	Network *NetworkState `json:"network,omitempty"`
}

// Container is a config with its current state.
type Container struct {
	Config
	State State `json:"state"`
}

// Store holds the containers under one lade root.
type Store struct {
	root string // the lade root
	dir  string // root/containers
	// ephemeral holds the ids of the --rm containers this store created
	// or loaded, whose records it writes without fsync (writeRecord).
	ephemeral sync.Map
}

// Open returns the container store of the lade root dir.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("container store %s: %w", root, err)
	}
	s := &Store{root: abs, dir: filepath.Join(abs, "containers")}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating container store: %w", err)
	}
	return s, nil
}

// Root is the lade root the store lives in.
func (s *Store) Root() string { return s.root }

// Dir is the state directory of container id.
func (s *Store) Dir(id string) string { return filepath.Join(s.dir, id) }

// LogPath is where the container's output goes.
func (s *Store) LogPath(id string) string { return filepath.Join(s.Dir(id), "container.log") }

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ErrNotFound is returned for an unknown container.
var ErrNotFound = errors.New("no such container")

// NewID returns a random 64-hex container id.
func NewID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Create records cfg (ID and Name filled in when empty) as a new
// container in state created.
func (s *Store) Create(cfg *Config) error {
	release, err := s.create(cfg)
	if err == nil {
		release()
	}
	return err
}

// create is Create that returns holding the new container's supervisor
// lock, for a creator that still writes to the container: a concurrent
// `rm -f` waits for it instead of removing the dir under it.
func (s *Store) create(cfg *Config) (release func(), err error) {
	unlock, err := lockFile(filepath.Join(s.dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if cfg.ID == "" {
		cfg.ID = NewID()
	}
	if cfg.Name == "" {
		cfg.Name = randomName()
	}
	if !nameRE.MatchString(cfg.Name) {
		return nil, fmt.Errorf("invalid container name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", cfg.Name)
	}
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.Name == cfg.Name {
			return nil, fmt.Errorf("the container name %q is already in use by container %s", cfg.Name, c.ID[:12])
		}
	}
	if cfg.Created.IsZero() {
		cfg.Created = time.Now().UTC()
	}
	dir := s.Dir(cfg.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating container %s: %w", cfg.ID, err)
	}
	release, err = s.lockSupervisor(cfg.ID)
	if err != nil {
		return nil, err
	}
	// state.json first: config.json is what makes the container exist
	// for list and Get, so `rm -f NAME` right after it appears finds it
	// (a container with only config.json read as not there, and a
	// concurrent `rm -f` missed it).
	if cfg.AutoRemove {
		s.ephemeral.Store(cfg.ID, true)
	}
	err = s.writeRecord(cfg.ID, "state.json", &State{Status: StatusCreated})
	if err == nil {
		err = s.writeRecord(cfg.ID, "config.json", cfg)
	}
	if err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// Get finds a container by full id, name or unique id prefix.
func (s *Store) Get(ref string) (*Container, error) {
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	var match []*Container
	for _, c := range all {
		if c.ID == ref || c.Name == ref || strings.TrimPrefix(ref, "/") == c.Name {
			return c, nil
		}
		if len(ref) >= 1 && strings.HasPrefix(c.ID, ref) {
			match = append(match, c)
		}
	}
	switch len(match) {
	case 0:
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	case 1:
		return match[0], nil
	}
	return nil, fmt.Errorf("multiple containers match %q", ref)
}

// ImageUsers returns the containers made from image ID id (its config
// digest).
func (s *Store) ImageUsers(id string) ([]*Container, error) {
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, c := range all {
		if c.ImageID == id {
			out = append(out, c)
		}
	}
	return out, nil
}

// List returns every container, newest first.
func (s *Store) List() ([]*Container, error) { return s.list() }

func (s *Store) list() ([]*Container, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var out []*Container
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := s.load(e.Name())
		if err != nil {
			continue // half-created or being removed
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// load reads a container; a running state without a live supervisor
// (crashed shim, reboot) reads as exited.
func (s *Store) load(id string) (*Container, error) {
	c := &Container{}
	if err := readJSON(filepath.Join(s.Dir(id), "config.json"), &c.Config); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(s.Dir(id), "state.json"), &c.State); err != nil {
		return nil, err
	}
	if c.AutoRemove {
		s.ephemeral.Store(id, true)
	}
	if orphaned(&c.State) && !s.supervised(id) {
		s.recordOrphaned(id, &c.State)
	}
	return c, nil
}

// orphaned: st says a supervisor runs the container.
func orphaned(st *State) bool {
	return st.Status == StatusRunning || st.Status == StatusRestarting
}

// recordOrphaned records a container whose supervisor died without
// writing its end (lade or its shim SIGKILLed, a reboot) as exited: its
// process died of SIGKILL with it (the init's parent-death signal), now
// as far as anyone can tell. It is written once, under the state lock, so
// every later look sees the same.
func (s *Store) recordOrphaned(id string, seen *State) {
	marked := false
	mark := func(st *State) {
		if !orphaned(st) {
			return
		}
		marked = true
		st.Status, st.Pid, st.ExitCode, st.Ports, st.Network = StatusExited, 0, 137, nil, nil
		st.Error = "the container's lade supervisor was killed"
		st.FinishedAt = time.Now().UTC()
	}
	err := s.UpdateState(id, func(st *State) {
		// Re-checked under the lock: a supervisor that takes over first
		// holds its lock before it writes running.
		if !s.supervised(id) {
			mark(st)
		}
		*seen = *st
	})
	if err != nil {
		mark(seen)
		return
	}
	// The first to notice the end records the die the supervisor could not.
	if marked {
		s.Event(events.ActionDie, id, map[string]string{"exitCode": "137"})
	}
}

// Sweep finishes what dead lade processes left: --rm containers whose
// supervisor is gone are removed. It does nothing when root has no
// containers.
func Sweep(ctx context.Context, root string) error {
	s := &Store{root: root, dir: filepath.Join(root, "containers")}
	all, err := s.list()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range all {
		// created: a run or start is about to supervise it.
		if !c.AutoRemove || c.State.Status == StatusCreated || orphaned(&c.State) || s.supervised(c.ID) {
			continue
		}
		if err := s.Remove(ctx, c.ID, false, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// UpdateState applies fn to the recorded state under the container lock.
func (s *Store) UpdateState(id string, fn func(*State)) error {
	return updateLocked(s, id, "state.json", fn)
}

// updateLocked applies fn to the container's JSON file name under the
// container lock.
func updateLocked[T any](s *Store, id, name string, fn func(*T)) error {
	unlock, err := lockFile(filepath.Join(s.Dir(id), "state.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	var v T
	p := filepath.Join(s.Dir(id), name)
	if err := readJSON(p, &v); err != nil {
		return err
	}
	fn(&v)
	return s.writeRecord(id, name, &v)
}

// supervised reports whether some process holds the supervisor lock. It
// only asks (F_OFD_GETLK) and never takes the lock itself, so it cannot
// make a supervisor that is taking it at the same moment fail.
func (s *Store) supervised(id string) bool {
	fd, err := unix.Open(filepath.Join(s.Dir(id), "supervisor.lock"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	lk := wholeFile(unix.F_WRLCK)
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false
	}
	return lk.Type != unix.F_UNLCK
}

// wholeFile is an fcntl lock of type typ over the whole file.
func wholeFile(typ int16) unix.Flock_t {
	return unix.Flock_t{Type: typ, Whence: io.SeekStart}
}

// supervisedError: another process supervises container id, or removes
// it.
type supervisedError struct {
	id       string
	removing bool
}

func (e supervisedError) Error() string {
	if e.removing {
		return fmt.Sprintf("container %s is being removed", e.id[:12])
	}
	return fmt.Sprintf("container %s is already running", e.id[:12])
}

// removingMark is created in a container's dir by Remove before it takes
// the supervisor lock, to tell a racing start why the lock is taken.
const removingMark = "removing"

func (s *Store) busy(id string) supervisedError {
	_, err := os.Stat(filepath.Join(s.Dir(id), removingMark))
	return supervisedError{id: id, removing: err == nil || errors.Is(err, os.ErrNotExist) && !s.exists(id)}
}

func (s *Store) exists(id string) bool {
	_, err := os.Stat(s.Dir(id))
	return err == nil
}

// lockSupervisor takes the supervisor lock or fails when someone holds it.
// The lock is an OFD lock, which supervised can test without taking.
func (s *Store) lockSupervisor(id string) (func(), error) {
	fd, err := unix.Open(filepath.Join(s.Dir(id), "supervisor.lock"), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("supervisor lock: %w", err)
	}
	lk := wholeFile(unix.F_WRLCK)
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return nil, s.busy(id)
		}
		return nil, fmt.Errorf("supervisor lock: %w", err)
	}
	return func() {
		unlock := wholeFile(unix.F_UNLCK)
		_ = unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &unlock)
		unix.Close(fd)
	}, nil
}

// lockFile takes an exclusive flock on p, creating it.
func lockFile(p string) (func(), error) {
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	return func() { releaseFlock(fd) }, nil
}

// releaseFlock unlocks before it closes: a child this process forks
// holds a copy of fd until it execs, and a lock only closed would stay
// held as long.
func releaseFlock(fd int) {
	_ = unix.Flock(fd, unix.LOCK_UN)
	unix.Close(fd)
}

// writeRecord writes container id's JSON file name (writeJSON). A --rm
// container's records go with it when it stops, as its volatile overlay
// does: they are written without fsync, which costs milliseconds per
// write and more on a busy disk. A crash can then leave them unreadable,
// and such a container lists as none.
func (s *Store) writeRecord(id, name string, v any) error {
	return writeJSON(filepath.Join(s.Dir(id), name), v, s.durable(id))
}

// durable reports whether container id's records are fsynced: unless
// this store created or loaded it as a --rm container.
func (s *Store) durable(id string) bool {
	_, ephemeral := s.ephemeral.Load(id)
	return !ephemeral
}

// writeJSON replaces p atomically, and durably with sync: these files
// are the only record of a container or volume, as docker's are (it
// fsyncs them too).
func writeJSON(p string, v any, sync bool) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(p), err)
	}
	if err := atomicfile.WriteFile(p, data, atomicfile.Options{Perm: 0o600, Sync: sync}); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

func readJSON(p string, v any) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s: %w", p, err)
	}
	return nil
}

var (
	nameLeft  = []string{"brave", "calm", "eager", "fond", "keen", "lucid", "quiet", "swift", "tidy", "witty"}
	nameRight = []string{"ada", "curie", "dijkstra", "hopper", "knuth", "lamport", "liskov", "noether", "ritchie", "turing"}
)

// randomName is docker-style: adjective_scientist_hex.
func randomName() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s_%s_%s", nameLeft[int(b[0])%len(nameLeft)], nameRight[int(b[1])%len(nameRight)], hex.EncodeToString(b))
}

// SaveConfig rewrites the config of an existing container (used while it
// is being created).
func (s *Store) SaveConfig(cfg *Config) error {
	return s.writeRecord(cfg.ID, "config.json", cfg)
}
