package fileop

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrLimit is wrapped when an ADD expands past its Limit.
var ErrLimit = errors.New("expands past the layer limit")

// Limit bounds the bytes one ADD may bring into its layer: archive entries
// count by their full size (holes included, as the layer tar carries them,
// plus a header each) and URL downloads by their length. One Limit is
// shared by all sources of an instruction; a nil Limit bounds nothing.
type Limit struct {
	max  int64
	name string // what sets max, for the error
	used atomic.Int64
}

// NewLimit returns a Limit of max bytes (<= 0: unbounded); name says what
// sets it, e.g. the environment variable.
func NewLimit(max int64, name string) *Limit {
	return &Limit{max: max, name: name}
}

// charge takes n bytes from the limit, or fails once it is exceeded.
func (l *Limit) charge(n int64) error {
	if l == nil || l.max <= 0 {
		return nil
	}
	if n < 0 || n > l.max || l.used.Add(n) > l.max {
		return &limitError{l}
	}
	return nil
}

// check fails when n more bytes would not fit, charging nothing.
func (l *Limit) check(n int64) error {
	if l == nil || l.max <= 0 || n <= 0 {
		return nil
	}
	if n > l.max || l.used.Load()+n > l.max {
		return &limitError{l}
	}
	return nil
}

type limitError struct{ l *Limit }

func (e *limitError) Error() string {
	return fmt.Sprintf("expands past the %d-byte layer limit (%s)", e.l.max, e.l.name)
}

func (e *limitError) Unwrap() error { return ErrLimit }
