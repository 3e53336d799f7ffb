package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
)

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "campusnet test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSListeners(t *testing.T) {
	t.Parallel()
	cert, key, pool := selfSigned(t)
	cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), "")
	cfg.Portal.TLSListen, cfg.Portal.TLSCert, cfg.Portal.TLSKey = "127.0.0.1:0", cert, key
	cfg.SelfService.TLSListen, cfg.SelfService.TLSCert, cfg.SelfService.TLSKey = "127.0.0.1:0", cert, key
	s := startServer(t, cfg, false)
	hash, err := identity.HashPassword("right-password", identity.InitialParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.st.EnsureAccount(context.Background(), access.Account{Username: "u1", Role: access.RoleStudent, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	tlsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// RFC 8908 API over HTTPS.
	req, err := http.NewRequest(http.MethodGet, "https://"+s.Addr("portal-tls")+"/api/v1/captive", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/captive+json")
	resp, err := tlsClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var capport map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&capport); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/captive+json") || capport["captive"] != true {
		t.Fatalf("captive API over TLS: %d %q %v", resp.StatusCode, resp.Header.Get("Content-Type"), capport)
	}
	// The plain portal listener still serves the BAS redirect.
	resp, err = http.Get("http://" + s.Addr("portal") + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("plain portal: %v %v", resp, err)
	}
	resp.Body.Close()

	// Self-service: login over HTTPS sets a Secure cookie.
	resp, err = tlsClient.Post("https://"+s.Addr("selfservice-tls")+"/api/v1/login", "application/json",
		strings.NewReader(`{"username":"u1","password":"right-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != 200 || len(cookies) == 0 {
		t.Fatalf("login over TLS: %d %v", resp.StatusCode, cookies)
	}
	for _, c := range cookies {
		if !c.Secure || !c.HttpOnly {
			t.Fatalf("cookie %s is not Secure+HttpOnly over TLS", c.Name)
		}
	}
	// The plain self-service listener sends people to HTTPS, the webhook excepted.
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Without public_url: the HTTPS listener's own address, not the Host header.
	req, err = http.NewRequest(http.MethodPost, "http://"+s.Addr("selfservice")+"/api/v1/login", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	resp, err = plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := net.SplitHostPort(s.Addr("selfservice-tls"))
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://127.0.0.1:"+port+"/api/v1/login" {
		t.Fatalf("plain self-service: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = plain.Post("http://"+s.Addr("selfservice")+"/api/v1/payments/notify", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("webhook on the plain listener: %d, want 401 (unsigned)", resp.StatusCode)
	}
}

// TestSelfServiceHTTPSRedirect: the plain listener's redirect goes to the
// configured public URL whatever the Host header says, and the HTTPS
// answers carry HSTS (the portal's do not: captive portals stay on HTTP).
func TestSelfServiceHTTPSRedirect(t *testing.T) {
	t.Parallel()
	cert, key, pool := selfSigned(t)
	cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), "")
	cfg.SelfService.PublicURL = "https://selfaaa.example.edu/"
	cfg.Portal.TLSListen, cfg.Portal.TLSCert, cfg.Portal.TLSKey = "127.0.0.1:0", cert, key
	cfg.SelfService.TLSListen, cfg.SelfService.TLSCert, cfg.SelfService.TLSKey = "127.0.0.1:0", cert, key
	s := startServer(t, cfg, false)
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: noFollow}
	for host, want := range map[string]string{
		"":                          "https://selfaaa.example.edu/login?next=%2Fdevices",
		"evil.example":              "https://selfaaa.example.edu/login?next=%2Fdevices",
		"evil.example:8443":         "https://selfaaa.example.edu/login?next=%2Fdevices",
		"selfaaa.example.edu.evil/": "https://selfaaa.example.edu/login?next=%2Fdevices",
	} {
		req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr("selfservice")+"/login?next=%2Fdevices", nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusPermanentRedirect && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("Host %q: %d", host, resp.StatusCode)
		}
		if resp.StatusCode == http.StatusPermanentRedirect && resp.Header.Get("Location") != want {
			t.Fatalf("Host %q: Location %q, want %q", host, resp.Header.Get("Location"), want)
		}
		if resp.Header.Get("Strict-Transport-Security") != "" {
			t.Fatal("HSTS on plain HTTP")
		}
	}
	tlsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, CheckRedirect: noFollow}
	resp, err := tlsClient.Get("https://" + s.Addr("selfservice-tls") + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Fatalf("self-service over TLS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	resp, err = tlsClient.Get("https://" + s.Addr("portal-tls") + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("the portal sends HSTS: phones could no longer reach the captive page over HTTP")
	}
}
