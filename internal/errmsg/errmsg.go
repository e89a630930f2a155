// Package errmsg says an error the way lade prints it: after one prefix,
// one line a user can act on. Registry answers arrive already translated
// (images.RefError); what is left here is the shape of the line: a
// cancellation said once, a reference error without the chain of steps
// that led to it, no prefix repeated by nested wraps, and a Dockerfile
// error with its location and snippet.
package errmsg

import (
	"context"
	"errors"
	"strings"

	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/parser"
)

// Prefix starts every error line lade prints, as docker's CLI does.
const Prefix = "Error: "

// Format returns the message for err, which ended command op ("build",
// "pull"), without Prefix.
func Format(op string, err error) string {
	if errors.Is(err, context.Canceled) {
		return strings.TrimSpace(op + " canceled")
	}
	var pe *parser.Error
	if errors.As(err, &pe) {
		_, snippet, _ := strings.Cut(pe.Detail(), "\n")
		if snippet != "" {
			snippet = "\n" + snippet
		}
		return location(pe) + line(pe.Err) + snippet
	}
	return line(err)
}

// location is "Dockerfile:3: ", or "Dockerfile: " when the line is unknown.
func location(pe *parser.Error) string {
	return strings.TrimSuffix(pe.Error(), pe.Err.Error())
}

// line says err on one line, with repeated segments said once. An error
// about an image reference names it already, so the steps around it that
// name it again ("resolving image X: pulling X: ") are left out; context
// that does not (a flag's name) stays.
func line(err error) string {
	msg := err.Error()
	var re *images.RefError
	if errors.As(err, &re) {
		msg = withoutRefSteps(msg, re)
	}
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	msg = strings.Join(lines, " ")
	return dedupe(msg)
}

func withoutRefSteps(msg string, re *images.RefError) string {
	inner := re.Error()
	outer, ok := strings.CutSuffix(msg, inner)
	if !ok {
		return inner
	}
	ref := strings.Trim(re.Ref, `"`)
	var keep []string
	for _, seg := range strings.Split(outer, ": ") {
		if seg != "" && !strings.Contains(seg, ref) {
			keep = append(keep, seg+": ")
		}
	}
	return strings.Join(keep, "") + inner
}

// dedupe drops a ": "-separated segment equal to the one before it, as
// "writing layer: writing layer: disk full" gets from two wrapping layers.
func dedupe(msg string) string {
	parts := strings.Split(msg, ": ")
	out := parts[:1]
	for _, p := range parts[1:] {
		if p != out[len(out)-1] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ": ")
}
