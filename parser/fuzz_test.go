package parser

import (
	"bytes"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// FuzzParse: any bytes give a Dockerfile or an error, never a panic, and
// expanding every expandable word of every instruction (as the solver's
// dispatch does) terminates without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FROM busybox\nRUN echo hi\n",
		"ARG A=x\nFROM busybox AS b\nARG B=${A}${A}\nENV C=${B:-d} D=${B:+e}\nWORKDIR /${C}\nCOPY --from=b ${D} /x\n",
		"# escape=`\nFROM scratch\nRUN <<EOF\necho `\nEOF\n",
		"FROM busybox\nRUN <<EOF\nunterminated\n",
		"FROM a AS alpine:3\nCOPY --from=busybox:latest / /\n",
		"FROM busybox\nONBUILD RUN x\nHEALTHCHECK CMD true\nLABEL a=\"${x:?err}\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		df, err := Parse(bytes.NewReader(src), "Dockerfile")
		if err != nil {
			return
		}
		lex := shell.NewLex(df.Escape)
		env := shell.EnvsFromSlice([]string{"A=aa", "B=bb"})
		expand := func(w string) (string, error) {
			if len(w) > 1<<16 {
				return w, nil // bounded like the solver's own limit
			}
			v, _, err := lex.ProcessWord(w, env)
			return v, err
		}
		for _, st := range df.Stages {
			lex.ProcessWord(st.BaseName, env)
			for _, c := range st.Commands {
				if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
					_ = ex.Expand(expand)
				}
			}
		}
	})
}
