package progress

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// drive runs the same three steps through a Printer: one with output, one
// cached, one failing.
func drive(p *Printer) {
	s := p.Start("[stage-0 2/4] RUN echo hi")
	s.Write([]byte("RAN-1\nRAN-"))
	s.Write([]byte("2\npartial"))
	s.Done(true, nil)
	p.Start("[stage-0 3/4] COPY a b").Cached()
	p.Printf("[Warning] something\n")
	p.Start("[stage-0 4/4] RUN false").Done(true, errors.New("exit code: 1"))
	p.Close()
}

// newPrinter is New(mode) writing into a buffer the test reads.
func newPrinter(t *testing.T, mode string) (*Printer, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	p, err := New(&buf, mode)
	if err != nil {
		t.Fatal(err)
	}
	return p, &buf
}

// matchAll reports each regexp of want that out does not match.
func matchAll(t *testing.T, out string, want []string) {
	t.Helper()
	for _, re := range want {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", re, out)
		}
	}
}

func TestProgressModes(t *testing.T) {
	tests := []struct {
		mode string
		want []string // regexps the output must match
		none bool     // output must be empty
	}{
		{mode: "plain", want: []string{
			`(?m)^#1 \[stage-0 2/4\] RUN echo hi$`,
			`(?m)^#1 \d+\.\d+ RAN-1$`, `(?m)^#1 \d+\.\d+ RAN-2$`, `(?m)^#1 \d+\.\d+ partial$`,
			`(?m)^#1 DONE \d+\.\ds$`, `(?m)^#2 CACHED$`, `(?m)^\[Warning\] something$`,
			`(?m)^#3 ERROR: exit code: 1$`,
		}},
		{mode: "tty", want: []string{
			`(?m)=> \[stage-0 2/4\] RUN echo hi \d+\.\ds$`, `(?m)^=> CACHED \[stage-0 3/4\] COPY a b$`,
			`(?m)^=> ERROR \[stage-0 4/4\] RUN false`, `(?m)^\[\+\] Finished \d+\.\ds \(3/3\)$`,
		}},
		{mode: "rawjson", want: []string{`"vertexes":\[\{"digest":"sha256:[0-9a-f]{64}"`, `"cached":true`, `"error":"exit code: 1"`, `"data":"UkFOLTEK"`}},
		{mode: "quiet", none: true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			p, buf := newPrinter(t, tt.mode)
			drive(p)
			out := buf.String()
			if tt.none && out != "" {
				t.Errorf("output %q, want none", out)
			}
			matchAll(t, out, tt.want)
			evs := p.Events()
			if len(evs) != 3 || !evs[1].Cached || evs[2].Err == "" || !evs[0].Executed {
				t.Errorf("events = %+v", evs)
			}
		})
	}
}

func TestProgressRawJSONIsOneRecordPerLine(t *testing.T) {
	p, buf := newPrinter(t, ModeRawJSON)
	drive(p)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// 3 starts, 3 output lines, 3 completions, 1 warning.
	if len(lines) != 10 {
		t.Fatalf("%d records, want 10:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		var st SolveStatus
		if err := json.Unmarshal([]byte(l), &st); err != nil || len(st.Vertexes)+len(st.Logs) != 1 {
			t.Errorf("record %q: %v", l, err)
		}
	}
}

func TestProgressInvalidMode(t *testing.T) {
	if _, err := New(nil, "fancy"); err == nil {
		t.Error("no error for an unknown mode")
	}
}

func TestFitKeepsOneRow(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  string
	}{
		{"plain", 80, "plain"},
		{"progress 10%\rprogress 90%", 80, "progress 90%"},
		{"a\x1b[31mred", 80, "a[31mred"},
		{"tab\there", 80, "tab here"},
		{"0123456789", 6, "01234"},
		{"ééééé", 4, "ééé"},
	}
	for _, tt := range tests {
		if got := fit(tt.in, tt.width); got != tt.want {
			t.Errorf("fit(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}

func TestProgressStatuses(t *testing.T) {
	for _, tt := range []struct {
		mode string
		want []string
	}{
		{"plain", []string{`(?m)^#1 writing layer$`, `(?m)^#1 writing layer sha256:abc \d+\.\ds done$`, `(?m)^#1 DONE `}},
		{"rawjson", []string{
			`"statuses":\[\{"id":"writing layer","vertex":"sha256:[0-9a-f]{64}","name":"writing layer","timestamp":"[^"]+","started":"[^"]+"\}\]`,
			`"statuses":\[\{"id":"writing layer","vertex":"sha256:[0-9a-f]{64}","name":"writing layer sha256:abc","timestamp":"[^"]+","started":"[^"]+","completed":"[^"]+"\}\]`,
		}},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			p, buf := newPrinter(t, tt.mode)
			s := p.Start("[stage-0 2/2] COPY . /src")
			st := s.Status("writing layer")
			st.Done("writing layer sha256:abc")
			st.Done("again") // a second Done changes nothing
			s.Done(true, nil)
			p.Close()
			out := buf.String()
			matchAll(t, out, tt.want)
			if strings.Contains(out, "again") {
				t.Errorf("a second Done was shown:\n%s", out)
			}
		})
	}
	// The live view shows a running status under its step, then drops it.
	var buf bytes.Buffer
	d := newTTYDisplay(&buf)
	p := &Printer{d: d}
	s := p.Start("[stage-0 2/2] COPY . /src")
	st := s.Status("writing layer")
	d.redraw(false)
	if !regexp.MustCompile(`(?m)^=> => writing layer \d+\.\ds$`).MatchString(buf.String()) {
		t.Errorf("live view without the running status:\n%s", buf.String())
	}
	st.Done("")
	buf.Reset()
	d.redraw(false)
	if strings.Contains(buf.String(), "writing layer") {
		t.Errorf("live view still shows a finished status:\n%s", buf.String())
	}
	// A nil Printer takes statuses too.
	var none *Printer
	none.Start("x").Status("y").Done("z")
}

// TestWriterAndID: lines written through Writer show as Printf's, and a
// step's ID is the N of its "#N" lines.
func TestWriterAndID(t *testing.T) {
	tests := []struct {
		mode string
		want string
	}{
		{ModePlain, "#1 exporting to image\npushed sha256:abc… 1.0kB\n#1 CACHED\n"},
		{ModeRawJSON, `"logs":[{"vertex":"","stream":2,"data":"cHVzaGVkIHNoYTI1NjphYmPigKYgMS4wa0IK"`},
		{ModeQuiet, ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			p, buf := newPrinter(t, tt.mode)
			s := p.Start("exporting to image")
			line := []byte("pushed sha256:abc… 1.0kB\n")
			if n, err := p.Writer().Write(line); n != len(line) || err != nil {
				t.Errorf("Write = %d, %v", n, err)
			}
			s.Cached()
			p.Close()
			if got := buf.String(); (tt.want == "" && got != "") || !strings.Contains(got, tt.want) {
				t.Errorf("output:\n%s\nwant it to hold:\n%s", got, tt.want)
			}
			if s.ID() != 1 || p.Start("second").ID() != 2 {
				t.Errorf("IDs %d and later not 1 and 2", s.ID())
			}
		})
	}
	var none *Printer
	none.Writer().Write([]byte("dropped\n"))
	if none.Start("x").ID() != 0 {
		t.Error("a nil Printer's step has an ID")
	}
}
