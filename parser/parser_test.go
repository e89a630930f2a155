package parser

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestParseStages(t *testing.T) {
	src := "ARG BASE=busybox\nFROM ${BASE} AS build\nRUN echo hi\n\nFROM scratch\nCOPY --from=build /a /b\n"
	df, err := Parse(strings.NewReader(src), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if len(df.MetaArgs) != 1 || df.MetaArgs[0].Args[0].Key != "BASE" {
		t.Fatalf("meta args = %+v", df.MetaArgs)
	}
	if got := len(df.Stages); got != 2 {
		t.Fatalf("stages = %d, want 2", got)
	}
	if df.Stages[0].Name != "build" || df.Stages[0].BaseName != "${BASE}" {
		t.Errorf("stage 0 = %q from %q", df.Stages[0].Name, df.Stages[0].BaseName)
	}
	cp, ok := df.Stages[1].Commands[0].(*instructions.CopyCommand)
	if !ok || cp.From != "build" {
		t.Fatalf("stage 1 command = %#v", df.Stages[1].Commands[0])
	}
	if line := cp.Location()[0].Start.Line; line != 6 {
		t.Errorf("COPY line = %d, want 6", line)
	}
}

func TestParseDirectives(t *testing.T) {
	tests := []struct {
		name, src  string
		escape     rune
		warn       string
		wantSyntax string
	}{
		{"escape backtick", "# escape=`\nFROM busybox\nRUN echo a `\n  b\n", '`', "", ""},
		{"default escape", "FROM busybox\nRUN echo a \\\n  b\n", '\\', "", ""},
		{"syntax ignored", "# syntax=docker/dockerfile:1\nFROM busybox\n", '\\', "syntax directive", "docker/dockerfile:1"},
		{"check warnings", "# check=error=false\nFROM busybox as lower\n", '\\', "FromAsCasing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			df, err := Parse(strings.NewReader(tt.src), "Dockerfile")
			if err != nil {
				t.Fatal(err)
			}
			if df.Escape != tt.escape {
				t.Errorf("escape = %q, want %q", df.Escape, tt.escape)
			}
			if df.Syntax != tt.wantSyntax {
				t.Errorf("syntax = %q, want %q", df.Syntax, tt.wantSyntax)
			}
			all := strings.Join(df.Warnings, "\n")
			if tt.warn != "" && !strings.Contains(all, tt.warn) {
				t.Errorf("warnings %q lack %q", all, tt.warn)
			}
			if tt.escape == '`' {
				run := df.Stages[0].Commands[0].(*instructions.RunCommand)
				if got := strings.Join(run.CmdLine, " "); got != "echo a   b" {
					t.Errorf("RUN = %q", got)
				}
			}
		})
	}
}

func TestParseHeredoc(t *testing.T) {
	src := "FROM busybox\nRUN <<EOT\necho one\necho two\nEOT\nCOPY <<EOF /x\ncontent\nEOF\n"
	df, err := Parse(strings.NewReader(src), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	run := df.Stages[0].Commands[0].(*instructions.RunCommand)
	if len(run.Files) != 1 || run.Files[0].Data != "echo one\necho two\n" {
		t.Errorf("RUN heredoc files = %+v", run.Files)
	}
	cp := df.Stages[0].Commands[1].(*instructions.CopyCommand)
	if len(cp.SourceContents) != 1 || cp.SourceContents[0].Data != "content\n" {
		t.Errorf("COPY heredoc = %+v", cp.SourceContents)
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"unknown instruction", "FROM busybox\nRUN true\nFROBNICATE x\n", 3, "unknown instruction"},
		{"bad flag", "FROM busybox\nCOPY --nope=1 a b\n", 2, "unknown flag"},
		{"no FROM", "RUN true\n", 1, "no build stage"},
		{"unterminated heredoc", "FROM busybox\nRUN <<EOT\necho hi\n", 0, ""},
		{"empty", "# only a comment\n", 0, "no instructions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.src), "Dockerfile")
			if tt.name == "unterminated heredoc" {
				// BuildKit reads to EOF and accepts it; what matters is no panic.
				return
			}
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error", tt.src)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", err, tt.msg)
			}
			var pe *Error
			if tt.line > 0 {
				if !errors.As(err, &pe) || pe.Line != tt.line {
					t.Fatalf("error %q: want line %d", err, tt.line)
				}
				if want := "Dockerfile:" + itoa(tt.line) + ":"; !strings.HasPrefix(err.Error(), want) {
					t.Errorf("error %q does not start with %q", err, want)
				}
				if !strings.Contains(pe.Detail(), ">>>") {
					t.Errorf("detail lacks snippet: %s", pe.Detail())
				}
			}
		})
	}
}

func TestParseRejectsHugeInput(t *testing.T) {
	big := strings.NewReader("FROM busybox\nRUN echo " + strings.Repeat("x", MaxSize) + "\n")
	if _, err := Parse(big, "Dockerfile"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want size error", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
