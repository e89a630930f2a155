package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/template"

	"github.com/docker/cli/templates"
)

// Inspector prints inspect records as docker inspect does: all of them
// as one indented JSON array, or a docker template run on each.
type Inspector struct {
	out   io.Writer
	tmpl  *template.Template
	elems []any
	buf   bytes.Buffer
}

// NewInspector makes an Inspector writing to out; format is -f's
// template ("" for JSON).
func NewInspector(out io.Writer, format string) (*Inspector, error) {
	i := &Inspector{out: out}
	if format == "" {
		return i, nil
	}
	tmpl, err := templates.Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	i.tmpl = tmpl
	return i, nil
}

// Add prints (or keeps for Flush) the record v. A template the typed
// record fails is run again on its JSON as maps, so keys of API versions
// other than the struct's are still found, as docker's CLI does.
func (i *Inspector) Add(v any) error {
	if i.tmpl == nil {
		i.elems = append(i.elems, v)
		return nil
	}
	var b bytes.Buffer
	if err := i.tmpl.Execute(&b, v); err != nil {
		raw, merr := json.Marshal(v)
		if merr != nil {
			return merr
		}
		var m any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return err
		}
		b.Reset()
		if err := i.tmpl.Option("missingkey=error").Execute(&b, m); err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
	}
	i.buf.Write(b.Bytes())
	i.buf.WriteByte('\n')
	return nil
}

// Flush writes what Add kept: the JSON array, or the template's output
// (a blank line when there was none).
func (i *Inspector) Flush() error {
	if i.tmpl != nil {
		if i.buf.Len() == 0 {
			i.buf.WriteByte('\n')
		}
		_, err := i.out.Write(i.buf.Bytes())
		return err
	}
	if i.elems == nil {
		i.elems = []any{}
	}
	b, err := json.MarshalIndent(i.elems, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(i.out, string(b))
	return err
}
