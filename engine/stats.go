package engine

import (
	"strconv"
	"strings"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/docker/go-units"
	dockercontainer "github.com/moby/moby/api/types/container"

	"github.com/lade-build/lade/container"
)

// DefaultStatsFormat is docker stats' table.
const DefaultStatsFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

// StatsEntry is one row of docker stats, computed from a sample as
// docker's CLI computes it.
type StatsEntry struct {
	Container, Name, ID                string
	CPUPercentage                      float64
	Memory, MemoryLimit, MemoryPercent float64
	NetworkRx, NetworkTx               float64
	BlockRead, BlockWrite              float64
	PidsCurrent                        uint64
	Invalid                            bool // not running: "--" columns
}

// NewStatsEntry computes the row of sample r, queried as ref.
func NewStatsEntry(ref string, r dockercontainer.StatsResponse) StatsEntry {
	e := StatsEntry{Container: ref, Name: strings.TrimPrefix(r.Name, "/"), ID: r.ID, PidsCurrent: r.PidsStats.Current}
	cpu, sys := float64(r.CPUStats.CPUUsage.TotalUsage)-float64(r.PreCPUStats.CPUUsage.TotalUsage),
		float64(r.CPUStats.SystemUsage)-float64(r.PreCPUStats.SystemUsage)
	if cpu > 0 && sys > 0 {
		e.CPUPercentage = cpu / sys * float64(r.CPUStats.OnlineCPUs) * 100
	}
	// Page cache is not counted, as docker's CLI does not count it.
	mem := r.MemoryStats
	e.Memory = float64(mem.Usage)
	for _, k := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := mem.Stats[k]; ok && v < mem.Usage {
			e.Memory = float64(mem.Usage - v)
			break
		}
	}
	e.MemoryLimit = float64(mem.Limit)
	if mem.Limit > 0 {
		e.MemoryPercent = e.Memory / e.MemoryLimit * 100
	}
	for _, n := range r.Networks {
		e.NetworkRx, e.NetworkTx = e.NetworkRx+float64(n.RxBytes), e.NetworkTx+float64(n.TxBytes)
	}
	for _, b := range r.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(b.Op) {
		case "read":
			e.BlockRead += float64(b.Value)
		case "write":
			e.BlockWrite += float64(b.Value)
		}
	}
	return e
}

// WriteStats prints rows with docker's stats format (formatter.Context
// carries the output and --format); trunc shortens IDs.
func WriteStats(ctx formatter.Context, rows []StatsEntry, trunc bool) error {
	if ctx.Format == formatter.TableFormatKey {
		ctx.Format = DefaultStatsFormat
	}
	header := &statsContext{}
	header.Header = formatter.SubHeaderContext{
		"Container": "CONTAINER", "Name": formatter.NameHeader, "ID": formatter.ContainerIDHeader,
		"CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %",
		"NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
	}
	return ctx.Write(header, func(format func(formatter.SubContext) error) error {
		for _, r := range rows {
			if err := format(&statsContext{s: r, trunc: trunc}); err != nil {
				return err
			}
		}
		return nil
	})
}

// statsContext is a row as docker's templates see it.
type statsContext struct {
	formatter.HeaderContext
	s     StatsEntry
	trunc bool
}

const noValue = "--"

func (c *statsContext) MarshalJSON() ([]byte, error) { return formatter.MarshalJSON(c) }
func (c *statsContext) Container() string            { return c.s.Container }

func (c *statsContext) Name() string {
	if c.s.Name == "" {
		return noValue
	}
	return c.s.Name
}

func (c *statsContext) ID() string {
	if c.trunc {
		return formatter.TruncateID(c.s.ID)
	}
	return c.s.ID
}

func percent(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "%" }

func (c *statsContext) CPUPerc() string { return percent(c.s.CPUPercentage) }
func (c *statsContext) MemPerc() string { return percent(c.s.MemoryPercent) }
func (c *statsContext) PIDs() string    { return strconv.FormatUint(c.s.PidsCurrent, 10) }

func (c *statsContext) MemUsage() string {
	return units.BytesSize(c.s.Memory) + " / " + units.BytesSize(c.s.MemoryLimit)
}

func (c *statsContext) NetIO() string {
	return units.HumanSizeWithPrecision(c.s.NetworkRx, 3) + " / " + units.HumanSizeWithPrecision(c.s.NetworkTx, 3)
}

func (c *statsContext) BlockIO() string {
	return units.HumanSizeWithPrecision(c.s.BlockRead, 3) + " / " + units.HumanSizeWithPrecision(c.s.BlockWrite, 3)
}

// Sampler samples containers' stats round after round; each round's CPU %
// is measured against the round before.
type Sampler struct {
	store *container.Store
	prev  map[string]*dockercontainer.StatsResponse
}

// NewSampler starts sampling store's containers.
func NewSampler(store *container.Store) *Sampler {
	return &Sampler{store: store, prev: map[string]*dockercontainer.StatsResponse{}}
}

// Round samples the containers refs name, or with no refs, the running
// ones (all of them with all), and returns their rows.
func (sp *Sampler) Round(refs []string, all bool) ([]StatsEntry, error) {
	var ctrs []*container.Container
	if len(refs) == 0 {
		list, err := sp.store.List()
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			if all || sp.store.Running(c.ID) {
				ctrs, refs = append(ctrs, c), append(refs, c.ID[:12])
			}
		}
	} else {
		for _, ref := range refs {
			c, err := sp.store.Get(ref)
			if err != nil {
				return nil, err
			}
			ctrs = append(ctrs, c)
		}
	}
	rows := make([]StatsEntry, 0, len(ctrs))
	next := map[string]*dockercontainer.StatsResponse{}
	for i, c := range ctrs {
		r := sp.store.Stats(c, sp.prev[c.ID])
		next[c.ID] = &r
		rows = append(rows, NewStatsEntry(refs[i], r))
	}
	sp.prev = next
	return rows, nil
}
