package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/docker/cli/templates"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/events"
	"github.com/lade-build/lade/internal/dockertime"
)

func init() {
	commands = append(commands, (*app).eventsCmd)
}

// eventsCmd is docker events: the events lade's commands recorded in the
// root, in the window (none without --since or --until), then (without
// --until) the new ones until interrupted.
func (a *app) eventsCmd() *cobra.Command {
	var since, until, format string
	var filters []string
	c := command("events [--since T] [--until T] [--filter K=V] [--format F]", "Show the events lade's commands recorded (followed until interrupted without --until)", cobra.NoArgs,
		a.withStores(func(ctx context.Context, _ []string) error {
			now := time.Now()
			from, err := dockertime.Parse(since, now)
			if err != nil {
				return statusError{125, fmt.Errorf("--since: %w", err)}
			}
			to, err := dockertime.Parse(until, now)
			if err != nil {
				return statusError{125, fmt.Errorf("--until: %w", err)}
			}
			f, err := events.ParseFilter(filters)
			if err != nil {
				return statusError{125, err}
			}
			print, err := a.eventPrinter(format)
			if err != nil {
				return statusError{125, err}
			}
			return events.Show(ctx, a.root, from, to, f, print)
		}))
	fl := c.Flags()
	fl.StringVar(&since, "since", "", "show events since this time (RFC 3339, Unix seconds, or a duration back from now)")
	fl.StringVar(&until, "until", "", "show events until this time, then stop")
	fl.StringArrayVarP(&filters, "filter", "f", nil, "filter: type=, event=, container=, image=, network=, volume=, label=")
	fl.StringVar(&format, "format", "", "format each event with a Go template ('json': one JSON object a line)")
	return c
}

// eventPrinter prints an event as docker does: a line of time, type,
// action, ID and attributes, or through the --format template.
func (a *app) eventPrinter(format string) (func(*events.Message) error, error) {
	if format == "" {
		return func(m *events.Message) error {
			t := time.Unix(0, m.TimeNano).Format("2006-01-02T15:04:05.000000000Z07:00")
			var attrs []string
			for _, k := range slices.Sorted(maps.Keys(m.Actor.Attributes)) {
				attrs = append(attrs, k+"="+m.Actor.Attributes[k])
			}
			_, err := fmt.Fprintf(a.stdout, "%s %s %s %s (%s)\n", t, m.Type, m.Action, m.Actor.ID, strings.Join(attrs, ", "))
			return err
		}, nil
	}
	if format == "json" {
		format = "{{json .}}"
	}
	tmpl, err := templates.Parse(format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	return func(m *events.Message) error { return execLine(a, tmpl, m) }, nil
}

// execLine prints tmpl applied to v as one line.
func execLine(a *app, tmpl *template.Template, v any) error {
	if err := tmpl.Execute(a.stdout, v); err != nil {
		return err
	}
	_, err := fmt.Fprintln(a.stdout)
	return err
}
