// Package ldaptest runs a real OpenLDAP server (Debian's Server) for tests:
// from a temporary directory, on free ports on 127.0.0.1, with its own
// schema-checked mdb database, the ppolicy overlay, and a self-signed
// certificate for LDAPS and StartTLS. A test that needs it skips when slapd
// is not installed, and fails when CI=true.
package ldaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

const slapdPath = "/usr/sbin/slapd"

// The directory's tree and accounts: Seed makes People, and a read-only
// service account BindDN for the search-then-bind backend.
const (
	Suffix = "dc=campus,dc=test"
	RootDN = "cn=admin," + Suffix
	RootPW = "root-secret"
	BindDN = "cn=reader," + Suffix
	BindPW = "reader-secret"
	People = "ou=people," + Suffix
)

// Server is one running slapd with its own directory.
type Server struct {
	t                 *testing.T
	dir               string
	ldapPort, tlsPort int
	caFile            string
	cmd               *exec.Cmd
	exited            chan struct{}
}

// Run starts a slapd for t and stops it when t ends. It skips t when slapd
// is not installed, or fails it when CI=true.
func Run(t *testing.T) *Server {
	t.Helper()
	if _, err := os.Stat(slapdPath); err != nil {
		msg := "slapd not found at " + slapdPath + "; install slapd: apt-get install slapd ldap-utils"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, dir: t.TempDir(), ldapPort: freePort(t), tlsPort: freePort(t)}
	if err := os.Mkdir(filepath.Join(s.dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	s.caFile = writeTestCerts(t, s.dir)
	if err := os.WriteFile(filepath.Join(s.dir, "slapd.conf"), []byte(s.config()), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the plain (StartTLS-capable) listener, TLSURL the LDAPS one.
func (s *Server) URL() string    { return fmt.Sprintf("ldap://127.0.0.1:%d", s.ldapPort) }
func (s *Server) TLSURL() string { return fmt.Sprintf("ldaps://127.0.0.1:%d", s.tlsPort) }

// CAFile is the PEM file of the CA that signed the server's certificate.
func (s *Server) CAFile() string { return s.caFile }

// Port is the plain listener's TCP port.
func (s *Server) Port() int { return s.ldapPort }

func (s *Server) config() string {
	modules := ""
	for _, dir := range []string{"/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap"} {
		if _, err := os.Stat(filepath.Join(dir, "back_mdb.so")); err == nil {
			modules = "modulepath " + dir + "\nmoduleload back_mdb\nmoduleload ppolicy\n"
			break
		}
	}
	d := s.dir
	return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
` + modules + `pidfile ` + d + `/slapd.pid
argsfile ` + d + `/slapd.args
TLSCertificateFile ` + d + `/server.crt
TLSCertificateKeyFile ` + d + `/server.key

database mdb
maxsize 16777216
suffix "` + Suffix + `"
rootdn "` + RootDN + `"
rootpw ` + RootPW + `
directory ` + d + `/db
overlay ppolicy
ppolicy_default "cn=default,ou=policies,` + Suffix + `"
ppolicy_use_lockout
access to attrs=userPassword by anonymous auth by * none
access to * by * read
`
}

// Start (re)starts the server on its ports, with its directory as it was;
// Stop stops it (an outage).
func (s *Server) Start() {
	s.t.Helper()
	logPath := filepath.Join(s.dir, "slapd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logFile.Close()
	output := func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
	listen := s.URL() + "/ " + s.TLSURL() + "/"
	// -d 0 keeps slapd in the foreground without debug output.
	s.cmd = exec.Command(slapdPath, "-d", "0", "-h", listen, "-f", filepath.Join(s.dir, "slapd.conf"))
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(s.cmd, s.exited)

	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.exited:
			s.t.Fatalf("slapd exited: %s", output())
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.ldapPort), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("slapd does not answer: %v; %s", err, output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Admin returns a connection bound as the root DN.
func (s *Server) Admin() *ldap.Conn {
	s.t.Helper()
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		s.t.Fatal(err)
	}
	if err := c.Bind(RootDN, RootPW); err != nil {
		c.Close()
		s.t.Fatal(err)
	}
	return c
}

// Person is one entry Seed adds under People (or OU).
type Person struct {
	UID, CN, Password, Role string
	OU                      string // default people
	Locked                  bool
	// Expiring: the password expires one second after it was set (policy
	// cn=expiring). Reset: an administrator reset it and it must be
	// changed at the next bind (policy cn=mustchange, pwdReset).
	Expiring, Reset bool
}

// Seed adds the tree, the service account, a lockout policy and people.
func (s *Server) Seed(people ...Person) {
	s.t.Helper()
	c := s.Admin()
	defer c.Close()
	add := func(dn string, attrs map[string][]string) {
		s.t.Helper()
		req := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			req.Attribute(k, v)
		}
		if err := c.Add(req); err != nil {
			s.t.Fatalf("add %s: %v", dn, err)
		}
	}
	add(Suffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"campus"}, "o": {"Campus"}})
	for _, ou := range []string{"people", "guests", "policies"} {
		add("ou="+ou+","+Suffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {ou}})
	}
	add("cn=default,ou=policies,"+Suffix, map[string][]string{
		"objectClass":   {"organizationalRole", "pwdPolicy"},
		"cn":            {"default"},
		"pwdAttribute":  {"userPassword"},
		"pwdLockout":    {"TRUE"},
		"pwdMaxFailure": {"100"},
	})
	add("cn=expiring,ou=policies,"+Suffix, map[string][]string{
		"objectClass":        {"organizationalRole", "pwdPolicy"},
		"cn":                 {"expiring"},
		"pwdAttribute":       {"userPassword"},
		"pwdMaxAge":          {"1"},
		"pwdGraceAuthNLimit": {"0"},
	})
	add("cn=mustchange,ou=policies,"+Suffix, map[string][]string{
		"objectClass":   {"organizationalRole", "pwdPolicy"},
		"cn":            {"mustchange"},
		"pwdAttribute":  {"userPassword"},
		"pwdMustChange": {"TRUE"},
	})
	add(BindDN, map[string][]string{
		"objectClass":  {"organizationalRole", "simpleSecurityObject"},
		"cn":           {"reader"},
		"userPassword": {ssha(BindPW)},
	})
	for _, p := range people {
		ou := p.OU
		if ou == "" {
			ou = "people"
		}
		attrs := map[string][]string{
			"objectClass":  {"inetOrgPerson"},
			"uid":          {p.UID},
			"cn":           {p.CN},
			"sn":           {p.CN},
			"userPassword": {ssha(p.Password)},
		}
		if p.Role != "" {
			attrs["employeeType"] = []string{p.Role}
		}
		if p.Locked {
			attrs["pwdAccountLockedTime"] = []string{"000001010000Z"} // locked until an admin unlocks
		}
		if p.Expiring {
			attrs["pwdPolicySubentry"] = []string{"cn=expiring,ou=policies," + Suffix}
		}
		if p.Reset {
			attrs["pwdPolicySubentry"] = []string{"cn=mustchange,ou=policies," + Suffix}
			attrs["pwdReset"] = []string{"TRUE"}
		}
		add("uid="+ldap.EscapeDN(p.UID)+",ou="+ou+","+Suffix, attrs)
	}
}

// ssha is OpenLDAP's salted SHA-1 userPassword scheme, so the directory
// holds hashes as a real one would.
func ssha(password string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	sum := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeTestCerts writes a CA and a server certificate for 127.0.0.1 and
// localhost into dir and returns the CA file's path.
func writeTestCerts(t *testing.T, dir string) string {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "campusnet test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", "CERTIFICATE", caDER)
	write("server.crt", "CERTIFICATE", der)
	write("server.key", "PRIVATE KEY", keyDER)
	return filepath.Join(dir, "ca.crt")
}

// CutProxy forwards TCP connections to target. Cut kills the connections
// it has at the moment without telling the client: the client learns
// only when it next sends something, as through a firewall that dropped
// the connection's state.
type CutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	server []net.Conn
	wg     sync.WaitGroup
}

// StartCutProxy listens on a free loopback port and forwards to target
// until t ends.
func StartCutProxy(t *testing.T, target string) *CutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &CutProxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's address.
func (p *CutProxy) Addr() string { return p.ln.Addr().String() }

func (p *CutProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.server = append(p.server, server)
		p.mu.Unlock()
		p.wg.Go(func() {
			// Client to server; when the server side is gone, the client's
			// next request is answered by closing the client side.
			io.Copy(server, client)
			client.Close()
			server.Close()
		})
		p.wg.Go(func() {
			// Server to client; a cut does not close the client side.
			io.Copy(client, server)
		})
	}
}

// Cut kills the connections the proxy has now.
func (p *CutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.server {
		c.Close()
	}
	p.server = nil
}
