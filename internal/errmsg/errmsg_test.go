package errmsg

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/parser"
)

func TestFormat(t *testing.T) {
	notFound := &images.RefError{Ref: "127.0.0.1:5000/x:1.0", Err: images.ErrRemoteNotFound}
	wrap := func(err error, prefixes ...string) error {
		for _, p := range prefixes {
			err = fmt.Errorf("%s: %w", p, err)
		}
		return err
	}
	tests := []struct {
		name string
		op   string
		err  error
		want string
	}{
		{"plain", "pull", errors.New("no space left on device"), "no space left on device"},
		{"canceled once", "build", wrap(context.Canceled, "writing layer", "writing layer"), "build canceled"},
		{"reference error without its chain", "run",
			wrap(notFound, "fetching manifest 127.0.0.1:5000/x:1.0", "pulling 127.0.0.1:5000/x:1.0", "resolving image 127.0.0.1:5000/x:1.0"),
			"127.0.0.1:5000/x:1.0: not found"},
		{"context that does not name the reference stays", "build",
			wrap(&images.RefError{Ref: `"a/../b"`, Err: images.ErrInvalidReference}, "--tag"),
			`--tag: "a/../b": invalid reference format`},
		{"repeated wrap said once", "build", wrap(errors.New("disk full"), "writing layer", "writing layer", "committing"),
			"committing: writing layer: disk full"},
		{"one line", "build", errors.New("first\n  second\n"), "first second"},
		{"located", "build",
			&parser.Error{File: "Dockerfile", Line: 2, Snippet: []string{"FROM 127.0.0.1:5000/x:1.0"}, Err: wrap(notFound, "resolving image 127.0.0.1:5000/x:1.0")},
			"Dockerfile:2: 127.0.0.1:5000/x:1.0: not found\n--------------------\n   2 | >>> FROM 127.0.0.1:5000/x:1.0\n--------------------"},
		{"located without line", "build", &parser.Error{File: "Dockerfile", Err: errors.New("file with no instructions")},
			"Dockerfile: file with no instructions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.op, tt.err); got != tt.want {
				t.Errorf("Format(%q, %v)\n got %q\nwant %q", tt.op, tt.err, got, tt.want)
			}
		})
	}
}
