package apiserver

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

// TestRegistryAuth: X-Registry-Auth in the encodings clients send, an
// empty one (the stored credentials then), and a bad one (400).
func TestRegistryAuth(t *testing.T) {
	cfg := `{"username":"me","password":"s3cret?>>","serveraddress":"r.example"}`
	tests := []struct {
		name, header string
		want         *authn.AuthConfig // nil: no credential of the request's
		status       int               // of the error; 0 for none
	}{
		{"absent", "", nil, 0},
		{"url padded", base64.URLEncoding.EncodeToString([]byte(cfg)), &authn.AuthConfig{Username: "me", Password: "s3cret?>>"}, 0},
		{"url raw", base64.RawURLEncoding.EncodeToString([]byte(cfg)), &authn.AuthConfig{Username: "me", Password: "s3cret?>>"}, 0},
		{"standard", base64.StdEncoding.EncodeToString([]byte(cfg)), &authn.AuthConfig{Username: "me", Password: "s3cret?>>"}, 0},
		{"token", base64.URLEncoding.EncodeToString([]byte(`{"identitytoken":"tok"}`)), &authn.AuthConfig{IdentityToken: "tok"}, 0},
		{"empty object", base64.URLEncoding.EncodeToString([]byte(`{}`)), nil, 0},
		{"not base64", "!!!", nil, http.StatusBadRequest},
		{"not json", base64.URLEncoding.EncodeToString([]byte(`me:s3cret`)), nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/images/create", nil)
		if tt.header != "" {
			r.Header.Set("X-Registry-Auth", tt.header)
		}
		auth, err := registryAuth(r)
		if tt.status != 0 {
			if err == nil || statusOf(err) != tt.status {
				t.Errorf("%s: error %v, want status %d", tt.name, err, tt.status)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if (auth == nil) != (tt.want == nil) {
			t.Errorf("%s: credential %v, want %v", tt.name, auth, tt.want)
			continue
		}
		if auth == nil {
			continue
		}
		got, err := auth.Authorization()
		if err != nil || *got != *tt.want {
			t.Errorf("%s: %+v (%v), want %+v", tt.name, got, err, tt.want)
		}
	}
}
