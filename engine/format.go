package engine

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/docker/go-units"
	itypes "github.com/moby/moby/api/types/image"
	ntypes "github.com/moby/moby/api/types/network"
)

// docker/cli's formatter has writers for containers, images, volumes and
// disk usage; history and network ls are written here, on the same
// Context, with the field names and columns of docker's own.

// NewHistoryFormat is history's --format: the table by default (with
// raw times and sizes when not human), else the template given.
func NewHistoryFormat(source string, quiet, human bool) formatter.Format {
	switch {
	case source != formatter.TableFormatKey && source != "":
		return formatter.Format(source)
	case quiet:
		return formatter.DefaultQuietFormat
	case !human:
		return "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
	}
	return "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
}

// HistoryWrite writes history's rows through ctx.
func HistoryWrite(ctx formatter.Context, human bool, rows []itypes.HistoryResponseItem) error {
	header := &formatter.HeaderContext{Header: formatter.SubHeaderContext{
		"ID": "IMAGE", "CreatedSince": formatter.CreatedSinceHeader, "CreatedAt": formatter.CreatedAtHeader,
		"CreatedBy": "CREATED BY", "Size": formatter.SizeHeader, "Comment": "COMMENT",
	}}
	return ctx.Write(&historyRow{HeaderContext: *header}, func(format func(formatter.SubContext) error) error {
		for _, r := range rows {
			if err := format(&historyRow{HeaderContext: *header, h: r, trunc: ctx.Trunc, human: human}); err != nil {
				return err
			}
		}
		return nil
	})
}

// historyRow is one history entry as templates see it.
type historyRow struct {
	formatter.HeaderContext
	h            itypes.HistoryResponseItem
	trunc, human bool
}

func (r *historyRow) MarshalJSON() ([]byte, error) { return formatter.MarshalJSON(r) }

func (r *historyRow) ID() string {
	if r.trunc && r.h.ID != "<missing>" {
		return formatter.TruncateID(r.h.ID)
	}
	return r.h.ID
}

func (r *historyRow) CreatedAt() string {
	return time.Unix(r.h.Created, 0).Format(time.RFC3339)
}

// historyEpoch: docker history shows no age for times before 2000
// (0 is a missing one).
var historyEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func (r *historyRow) CreatedSince() string {
	if !r.human {
		return r.CreatedAt()
	}
	if r.h.Created <= historyEpoch {
		return "N/A"
	}
	return units.HumanDuration(time.Since(time.Unix(r.h.Created, 0))) + " ago"
}

func (r *historyRow) CreatedBy() string {
	by := strings.ReplaceAll(r.h.CreatedBy, "\t", " ")
	if r.trunc {
		by = formatter.Ellipsis(by, 45)
	}
	return by
}

func (r *historyRow) Size() string {
	if r.human {
		return units.HumanSizeWithPrecision(float64(r.h.Size), 3)
	}
	return strconv.FormatInt(r.h.Size, 10)
}

func (r *historyRow) Comment() string { return r.h.Comment }

// NewNetworkFormat is network ls's --format.
func NewNetworkFormat(source string, quiet bool) formatter.Format {
	switch {
	case source != formatter.TableFormatKey && source != "":
		return formatter.Format(source)
	case quiet:
		return formatter.DefaultQuietFormat
	}
	return "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
}

// NetworkWrite writes network ls's rows through ctx.
func NetworkWrite(ctx formatter.Context, nets []ntypes.Summary) error {
	header := &formatter.HeaderContext{Header: formatter.SubHeaderContext{
		"ID": "NETWORK ID", "Name": formatter.NameHeader, "Driver": formatter.DriverHeader, "Scope": formatter.ScopeHeader,
		"IPv4": "IPV4", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": formatter.LabelsHeader, "CreatedAt": formatter.CreatedAtHeader,
	}}
	return ctx.Write(&networkRow{HeaderContext: *header}, func(format func(formatter.SubContext) error) error {
		for _, n := range nets {
			if err := format(&networkRow{HeaderContext: *header, n: n, trunc: ctx.Trunc}); err != nil {
				return err
			}
		}
		return nil
	})
}

// networkRow is one network as network ls's templates see it.
type networkRow struct {
	formatter.HeaderContext
	n     ntypes.Summary
	trunc bool
}

func (r *networkRow) MarshalJSON() ([]byte, error) { return formatter.MarshalJSON(r) }

func (r *networkRow) ID() string {
	if r.trunc {
		return formatter.TruncateID(r.n.ID)
	}
	return r.n.ID
}

func (r *networkRow) Name() string      { return r.n.Name }
func (r *networkRow) Driver() string    { return r.n.Driver }
func (r *networkRow) Scope() string     { return r.n.Scope }
func (r *networkRow) IPv4() string      { return strconv.FormatBool(r.n.EnableIPv4) }
func (r *networkRow) IPv6() string      { return strconv.FormatBool(r.n.EnableIPv6) }
func (r *networkRow) Internal() string  { return strconv.FormatBool(r.n.Internal) }
func (r *networkRow) CreatedAt() string { return r.n.Created.String() }

func (r *networkRow) Labels() string {
	var l []string
	for k, v := range r.n.Labels {
		l = append(l, k+"="+v)
	}
	sort.Strings(l)
	return strings.Join(l, ",")
}

// Label is the value of label name.
func (r *networkRow) Label(name string) string { return r.n.Labels[name] }
