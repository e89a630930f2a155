package images

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestRemoteError(t *testing.T) {
	const ref = "127.0.0.1:5000/x:1.0"
	diag := func(code transport.ErrorCode, msg string) []transport.Diagnostic {
		return []transport.Diagnostic{{Code: code, Message: msg, Detail: map[string]string{"Tag": "1.0"}}}
	}
	tests := []struct {
		name string
		err  error
		want string
		is   error
	}{
		{"manifest unknown", &transport.Error{StatusCode: 404, Errors: diag(transport.ManifestUnknownErrorCode, "manifest unknown")}, ref + ": not found", ErrRemoteNotFound},
		{"name unknown", &transport.Error{StatusCode: 404, Errors: diag(transport.NameUnknownErrorCode, "repository name not known")}, ref + ": not found", ErrRemoteNotFound},
		{"bare 404", &transport.Error{StatusCode: 404}, ref + ": not found", ErrRemoteNotFound},
		{"unauthorized", &transport.Error{StatusCode: 401, Errors: diag(transport.UnauthorizedErrorCode, "authentication required")}, ref + ": unauthorized: authentication required", ErrUnauthorized},
		{"denied", &transport.Error{StatusCode: 403, Errors: diag(transport.DeniedErrorCode, "requested access to the resource is denied")}, ref + ": denied: requested access to the resource is denied", ErrDenied},
		{"wrapped", fmt.Errorf("fetching manifest: %w", &transport.Error{StatusCode: 404, Errors: diag(transport.ManifestUnknownErrorCode, "manifest unknown")}), ref + ": not found", ErrRemoteNotFound},
		{"other code", &transport.Error{StatusCode: 400, Errors: diag(transport.DigestInvalidErrorCode, "Digest does not match")}, "pulling " + ref + ": registry: digest does not match", nil},
		{"no body", &transport.Error{StatusCode: 502}, "pulling " + ref + ": registry answered 502 Bad Gateway", nil},
		{"not a registry answer", errors.New("dial tcp: connection refused"), "pulling " + ref + ": dial tcp: connection refused", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := remoteError("pulling", ref, tt.err)
			if err.Error() != tt.want {
				t.Errorf("got %q, want %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v is not %v", err, tt.is)
			}
			var te *transport.Error
			if errors.As(tt.err, &te) && !errors.As(err, &te) {
				t.Error("the registry's answer is lost")
			}
		})
	}
}
