package images

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// RefError is an error about one image reference that already names it,
// so no caller up the chain needs to say the name again.
type RefError struct {
	Op  string // "pushing"; empty when Err says it all ("not found")
	Ref string
	Err error
}

func (e *RefError) Error() string {
	if e.Op != "" {
		return e.Op + " " + e.Ref + ": " + e.Err.Error()
	}
	return e.Ref + ": " + e.Err.Error()
}
func (e *RefError) Unwrap() error { return e.Err }

// A registry's refusals, said as docker says them.
var (
	ErrRemoteNotFound = errors.New("not found")
	ErrUnauthorized   = errors.New("unauthorized: authentication required")
	ErrDenied         = errors.New("denied: requested access to the resource is denied")
)

// remoteError names ref in err from a pull or push (op): a registry's
// answer becomes one of the errors above, or its first message; an error
// that already names ref is kept as it is.
func remoteError(op, ref string, err error) error {
	var re *RefError
	if errors.As(err, &re) {
		return err
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return fmt.Errorf("%s %s: %w", op, ref, err)
	}
	err = translate(te)
	if errors.Is(err, ErrRemoteNotFound) || errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrDenied) {
		op = ""
	}
	return &RefError{Op: op, Ref: ref, Err: err}
}

func translate(te *transport.Error) error {
	codes := make([]transport.ErrorCode, 0, len(te.Errors))
	for _, d := range te.Errors {
		codes = append(codes, d.Code)
	}
	has := func(c ...transport.ErrorCode) bool {
		return slices.ContainsFunc(codes, func(x transport.ErrorCode) bool { return slices.Contains(c, x) })
	}
	switch {
	case has(transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode) ||
		len(codes) == 0 && te.StatusCode == http.StatusNotFound:
		return &registryError{ErrRemoteNotFound, te}
	case has(transport.UnauthorizedErrorCode) || te.StatusCode == http.StatusUnauthorized:
		return &registryError{ErrUnauthorized, te}
	case has(transport.DeniedErrorCode) || te.StatusCode == http.StatusForbidden:
		return &registryError{ErrDenied, te}
	}
	if len(te.Errors) > 0 && te.Errors[0].Message != "" {
		return &registryError{errors.New("registry: " + strings.ToLower(te.Errors[0].Message)), te}
	}
	return &registryError{fmt.Errorf("registry answered %d %s", te.StatusCode, http.StatusText(te.StatusCode)), te}
}

// registryError says what a registry's answer means and keeps the answer
// itself for errors.As, without its raw text in the message.
type registryError struct {
	meaning error
	answer  *transport.Error
}

func (e *registryError) Error() string   { return e.meaning.Error() }
func (e *registryError) Unwrap() []error { return []error{e.meaning, e.answer} }

// RemoteError is remoteError for commands that speak to a registry
// themselves (sign, verify).
func RemoteError(op, ref string, err error) error { return remoteError(op, ref, err) }
