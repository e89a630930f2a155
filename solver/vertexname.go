package solver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	godigest "github.com/opencontainers/go-digest"
)

// Progress names follow BuildKit's Dockerfile frontend, so logs read the
// same: "[stage-1 2/3] RUN make", "[base 1/2] FROM docker.io/library/…".
// Only steps that make a vertex are numbered: FROM of an image, RUN,
// COPY, ADD and WORKDIR; a stage's total counts those instructions (and
// its ONBUILD triggers, as BuildKit does), a stage built on another stage
// has no FROM step, and a single-stage Dockerfile has no stage name.

// countsAsVertex reports whether c is numbered in a stage's progress.
func countsAsVertex(c instructions.Command) bool {
	switch c.(type) {
	case *instructions.RunCommand, *instructions.CopyCommand, *instructions.AddCommand, *instructions.WorkdirCommand:
		return true
	}
	return false
}

// stageTotal is the "M" of a stage's "[name N/M]".
func stageTotal(fromImage bool, triggers, cmds []instructions.Command) int {
	total := len(triggers)
	if fromImage {
		total++
	}
	for _, c := range cmds {
		if countsAsVertex(c) {
			total++
		}
	}
	return total
}

// prefixed numbers the stage's next vertex and names it.
func (sc *stageCtx) prefixed(text string) string {
	if sc.total == 0 {
		return text
	}
	sc.vertex++
	b := strings.Builder{}
	b.WriteByte('[')
	if sc.label != "" {
		b.WriteString(sc.label + " ")
	}
	width := len(strconv.Itoa(sc.total))
	fmt.Fprintf(&b, "%*d/%d] ", width, sc.vertex, sc.total)
	if sc.onbuild {
		b.WriteString("ONBUILD ")
	}
	b.WriteString(text)
	return b.String()
}

// progressName names a RUN, COPY, ADD or WORKDIR vertex: its source text
// with the stage's variables expanded (RUN keeps quotes, escapes and
// unset variables as written, and shows secret env values as ****).
func (sc *stageCtx) progressName(c instructions.Command) string {
	text := c.Name()
	if s, ok := c.(fmt.Stringer); ok {
		text = s.String()
	}
	env := sc.st.env
	lex := sc.bd.newLex()
	if rc, ok := c.(*instructions.RunCommand); ok {
		if len(rc.Files) > 0 && len(rc.CmdLine) == 1 && dfparser.MustParseHeredoc(rc.CmdLine[0]) != nil {
			text += " (" + summarizeHeredoc(rc.Files[0].Data) + ")"
		}
		lex.RawQuotes, lex.RawEscapes, lex.SkipUnsetEnv = true, true, true
		for _, m := range instructions.GetMounts(rc) {
			if m.Type == instructions.MountTypeSecret && m.Env != nil {
				env = setEnv(env, *m.Env, "****")
			}
		}
	}
	if w, _, err := lex.ProcessWord(text, shell.EnvsFromSlice(env)); err == nil {
		text = w
	}
	if first, rest, ok := strings.Cut(text, " "); ok {
		text = strings.ToUpper(first) + " " + rest
	} else {
		text = strings.ToUpper(text)
	}
	return sc.prefixed(text)
}

// summarizeHeredoc is a heredoc's first line, with "..." if it has more.
func summarizeHeredoc(doc string) string {
	lines := strings.Split(strings.ReplaceAll(strings.TrimSpace(doc), "\r\n", "\n"), "\n")
	if len(lines) > 1 {
		return lines[0] + "..."
	}
	return lines[0]
}

// imageName is ref as BuildKit shows it: normalized with its tag
// ("docker.io/library/busybox:latest"), plus "@digest" when given.
func imageName(ref string, digest *v1.Hash) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	named = reference.TagNameOnly(named)
	if digest != nil {
		if d, err := reference.WithDigest(named, godigest.Digest(digest.String())); err == nil {
			named = d
		}
	}
	return named.String()
}
