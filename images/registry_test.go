package images

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// testCert is a certificate and its key, parsed and as PEM.
type testCert struct {
	cert         *x509.Certificate
	key          *ecdsa.PrivateKey
	certPEM, pem []byte // the certificate's PEM, the key's PEM
}

// issue makes a certificate for ip signed by parent (self-signed, a CA,
// when parent is nil).
func issue(t *testing.T, parent *testCert, ip net.IP, client bool) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "lade test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	signer, signKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.ExtKeyUsage = true, true, nil
	} else {
		signer, signKey = parent.cert, parent.key
	}
	if ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalECPrivateKey(key)
	return &testCert{cert, key,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
}

// TestRegistryTLS pulls from a registry on a host address over TLS, with
// docker's certs.d and --insecure-registry rules.
func TestRegistryTLS(t *testing.T) {
	ip := testutil.HostAddress(t)
	ca := issue(t, nil, nil, false)
	server := issue(t, ca, ip, false)
	client := issue(t, ca, nil, true)
	other := issue(t, nil, ip, false) // self-signed, trusted by nobody

	tests := []struct {
		name       string
		serve      *testCert // nil: plain http
		needClient bool      // the server asks for a client certificate
		files      map[string][]byte
		insecure   bool
		wantErr    string
	}{
		{name: "untrusted", serve: server, wantErr: "certificate"},
		{name: "certs.d ca.crt", serve: server, files: map[string][]byte{"ca.crt": ca.certPEM}},
		{name: "client certificate", serve: server, needClient: true,
			files: map[string][]byte{"ca.crt": ca.certPEM, "client.cert": client.certPEM, "client.key": client.pem}},
		{name: "client certificate missing", serve: server, needClient: true, files: map[string][]byte{"ca.crt": ca.certPEM}, wantErr: "certificate"},
		{name: "client key missing", serve: server, files: map[string][]byte{"ca.crt": ca.certPEM, "client.cert": client.certPEM}, wantErr: "needs its key"},
		{name: "insecure, self-signed", serve: other, insecure: true},
		{name: "insecure, plain http", insecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := testutil.RegistryHandler()
			seed := httptest.NewServer(h) // loopback, plain: to push through
			defer seed.Close()
			srv := httptest.NewUnstartedServer(h)
			l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
			if err != nil {
				t.Fatal(err)
			}
			srv.Listener = l
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
			if tt.serve != nil {
				srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{tt.serve.cert.Raw}, PrivateKey: tt.serve.key}}}
				if tt.needClient {
					pool := x509.NewCertPool()
					pool.AddCert(ca.cert)
					srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, pool
				}
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			host := l.Addr().String()
			push(t, strings.TrimPrefix(seed.URL, "http://")+"/tls/img:1", randomImage(t, 1, time.Unix(100, 0)))

			dir := t.TempDir()
			testutil.WriteTree(t, dir, map[string]string{host + "/": ""})
			for n, b := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, host, n), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv(CertsDirEnv, dir)
			s := quickStore(t)
			var insecure []string
			if tt.insecure {
				insecure = []string{host}
			}
			s.SetInsecure(insecure)
			_, err = s.Pull(context.Background(), host+"/tls/img:1", PullOptions{Insecure: insecure})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Pull = %v, want error %q", err, tt.wantErr)
			}
		})
	}
}
