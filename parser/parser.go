package parser

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
)

// MaxSize bounds the Dockerfile we accept; BuildKit's front end has no
// reason to read more and a hostile input should not eat memory.
const MaxSize = 16 << 20

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Name     string               // display name used in errors, e.g. "Dockerfile"
	Stages   []instructions.Stage // in file order
	MetaArgs []instructions.ArgCommand
	Escape   rune
	Syntax   string   // the `# syntax=` directive, if any (lade always uses its built-in frontend)
	Warnings []string // parser and lint warnings, formatted with their line
	Lines    []string // source lines, for error snippets
}

// Parse reads and decodes a Dockerfile. name is used in error messages.
func Parse(r io.Reader, name string) (*Dockerfile, error) {
	if name == "" {
		name = "Dockerfile"
	}
	src, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(src) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxSize)
	}
	df := &Dockerfile{Name: name, Lines: strings.Split(string(src), "\n")}
	if syntax, _, _, ok := dfparser.DetectSyntax(src); ok {
		df.Syntax = syntax
		df.Warnings = append(df.Warnings, fmt.Sprintf("%s: syntax directive %q ignored: lade uses its built-in Dockerfile frontend", name, syntax))
	}
	lintCfg := &linter.Config{}
	if check, _, _, ok := dfparser.ParseDirective("check", src); ok {
		c, err := linter.ParseLintOptions(check)
		if err != nil {
			return nil, fmt.Errorf("%s: check directive: %w", name, err)
		}
		lintCfg = c
	}
	var lintMsgs []string
	lintCfg.Warn = func(rule, desc, url, msg string, loc []dfparser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		lintMsgs = append(lintMsgs, fmt.Sprintf("%s:%d: %s: %s", name, line, rule, msg))
	}
	lint := linter.New(lintCfg)

	res, err := dfparser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, df.WrapError(err)
	}
	df.Escape = res.EscapeToken
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil {
			line = w.Location.Start.Line
		}
		df.Warnings = append(df.Warnings, fmt.Sprintf("%s:%d: %s", name, line, w.Short))
	}
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return nil, df.WrapError(err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: file with no instructions", name)
	}
	df.Stages, df.MetaArgs = stages, metaArgs
	df.Warnings = append(df.Warnings, lintMsgs...)
	if lintCfg.ReturnAsError && len(lintMsgs) > 0 {
		return nil, fmt.Errorf("lint violations found (check=error=true):\n%s", strings.Join(lintMsgs, "\n"))
	}
	return df, nil
}

// Error is an error tied to Dockerfile lines. Its message reads
// "Dockerfile:7: COPY failed: ..." like BuildKit's CLI output.
type Error struct {
	File    string
	Line    int // first line, 1-based; 0 when unknown
	EndLine int
	Snippet []string // the failing lines
	Err     error
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Detail renders the error with a ">>>" snippet of the failing lines.
func (e *Error) Detail() string {
	var b strings.Builder
	b.WriteString(e.Error())
	if len(e.Snippet) > 0 {
		b.WriteString("\n--------------------\n")
		for i, l := range e.Snippet {
			fmt.Fprintf(&b, " %3d | >>> %s\n", e.Line+i, l)
		}
		b.WriteString("--------------------")
	}
	return b.String()
}

// At wraps err with the location of the given lines.
func (df *Dockerfile) At(loc []dfparser.Range, err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	e := &Error{File: df.Name, Err: err}
	if len(loc) > 0 {
		e.Line, e.EndLine = loc[0].Start.Line, loc[len(loc)-1].End.Line
		if e.EndLine < e.Line {
			e.EndLine = e.Line
		}
		for l := max(e.Line, 1); l <= e.EndLine && l-1 < len(df.Lines) && l-e.Line < 10; l++ {
			e.Snippet = append(e.Snippet, df.Lines[l-1])
		}
	}
	return e
}

// WrapError attaches the location recorded by BuildKit's parser, if any.
func (df *Dockerfile) WrapError(err error) error {
	var le *dfparser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 {
		return df.At(le.Locations[0], le.Unwrap())
	}
	return df.At(nil, err)
}

// Clone parses df's source again: the solver expands instructions in
// place, so each build of a multi-platform build needs its own copy.
func (df *Dockerfile) Clone() (*Dockerfile, error) {
	return Parse(strings.NewReader(strings.Join(df.Lines, "\n")), df.Name)
}
