package httpapi_test

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
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for subject.
func (ca *testCA) issue(t *testing.T, subject pkix.Name, usage x509.ExtKeyUsage, serial int64) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// subjectCerts maps certificate subjects to clients.
type subjectCerts map[string]httpapi.Principal

func (s subjectCerts) AuthenticateCert(_ context.Context, cert *x509.Certificate) (httpapi.Principal, error) {
	p, ok := s[cert.Subject.String()]
	if !ok {
		return httpapi.Principal{}, httpapi.ErrUnauthenticated
	}
	p.Subject = cert.Subject.String()
	return p, nil
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func TestMutualTLSIdentifiesTheBankByItsCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "MOHRSS test CA")
	serverCert, serverKey := ca.issue(t, pkix.Name{CommonName: "cardledger"}, x509.ExtKeyUsageServerAuth, 2)
	bankSubject := pkix.Name{CommonName: "icbc-suzhou", Organization: []string{"ICBC"}}
	bankCert, bankKey := ca.issue(t, bankSubject, x509.ExtKeyUsageClientAuth, 3)
	strangerCert, strangerKey := ca.issue(t, pkix.Name{CommonName: "stranger"}, x509.ExtKeyUsageClientAuth, 4)
	rogueCA := newTestCA(t, "rogue CA")
	rogueCert, rogueKey := rogueCA.issue(t, bankSubject, x509.ExtKeyUsageClientAuth, 5)

	cfg, err := httpapi.ServerTLSConfig(writeFile(t, dir, "server.pem", serverCert), writeFile(t, dir, "server.key", serverKey),
		writeFile(t, dir, "clients-ca.pem", ca.pem))
	require.NoError(t, err)

	log := logrus.New()
	log.SetOutput(io.Discard)
	e := httpapi.NewServer(httpapi.Options{
		Auth:  httpapi.StaticAuthenticator{"counter-key": {Client: "window-7", Role: httpapi.RoleCounter}},
		Certs: subjectCerts{"CN=icbc-suzhou,O=ICBC": {Client: "icbc-suzhou", Role: httpapi.RoleBank, Bank: "102"}},
		Log:   log,
	}, []httpapi.Route{{
		Method: http.MethodGet, Path: "/v1/whoami", Roles: []httpapi.Role{httpapi.RoleBank, httpapi.RoleCounter},
		Response: httpapi.Principal{Client: "icbc-suzhou", Role: httpapi.RoleBank, Bank: "102", Method: "tls"},
		Handler: func(c echo.Context) error {
			p, _ := httpapi.PrincipalFrom(c)
			return c.JSON(http.StatusOK, p)
		},
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: e, TLSConfig: cfg, ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().String() + "/v1/whoami"

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	client := func(certPEM, keyPEM []byte) *http.Client {
		tc := &tls.Config{RootCAs: roots}
		if certPEM != nil {
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			require.NoError(t, err)
			// Always present it, even when the server names other CAs, so
			// the server's own verification is what is tested.
			tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	}
	get := func(c *http.Client, bearer string) (int, string, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), nil
	}

	t.Run("registered certificate is the client", func(t *testing.T) {
		status, body, err := get(client(bankCert, bankKey), "")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
		assert.JSONEq(t, `{"Client":"icbc-suzhou","Role":"bank","Region":"","Bank":"102","Channel":"","Agency":"","Account":"","AppType":"","Method":"tls","Subject":"CN=icbc-suzhou,O=ICBC","RateLimit":0}`, body)
	})
	t.Run("no certificate, bearer key still works", func(t *testing.T) {
		status, body, err := get(client(nil, nil), "counter-key")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, `"Method":"bearer"`)
	})
	t.Run("trusted but unregistered certificate needs other credentials", func(t *testing.T) {
		status, _, err := get(client(strangerCert, strangerKey), "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, status)
	})
	t.Run("certificate of another CA is refused in the handshake", func(t *testing.T) {
		_, _, err := get(client(rogueCert, rogueKey), "")
		require.Error(t, err)
	})
}

func TestServerTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := httpapi.ServerTLSConfig("", "", "")
	assert.Error(t, err)
	_, err = httpapi.ServerTLSConfig(filepath.Join(dir, "none.pem"), filepath.Join(dir, "none.key"), "")
	assert.Error(t, err)
	ca := newTestCA(t, "ca")
	cert, key := ca.issue(t, pkix.Name{CommonName: "s"}, x509.ExtKeyUsageServerAuth, 2)
	_, err = httpapi.ServerTLSConfig(writeFile(t, dir, "s.pem", cert), writeFile(t, dir, "s.key", key), writeFile(t, dir, "empty.pem", []byte("no pem")))
	assert.ErrorContains(t, err, "holds no PEM certificate")
}
