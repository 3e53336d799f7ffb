package identity

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

// A real OpenLDAP server for the LDAP tests, run from a temporary
// directory on free ports on 127.0.0.1, with its own schema-checked mdb
// database, the ppolicy overlay, and a self-signed certificate for LDAPS
// and StartTLS.

const (
	slapdPath  = "/usr/sbin/slapd"
	testSuffix = "dc=campus,dc=test"
	testRootDN = "cn=admin," + testSuffix
	testRootPW = "root-secret"
	testBindDN = "cn=reader," + testSuffix
	testBindPW = "reader-secret"
	testPeople = "ou=people," + testSuffix
)

type slapd struct {
	t                 *testing.T
	dir               string
	ldapPort, tlsPort int
	caFile            string
	cmd               *exec.Cmd
	exited            chan struct{}
}

// startSlapd starts a slapd for t and stops it when t ends.
func startSlapd(t *testing.T) *slapd {
	t.Helper()
	if _, err := os.Stat(slapdPath); err != nil {
		msg := "slapd not found at " + slapdPath + "; install slapd: apt-get install slapd ldap-utils"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &slapd{t: t, dir: t.TempDir(), ldapPort: freePort(t), tlsPort: freePort(t)}
	if err := os.Mkdir(filepath.Join(s.dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	s.caFile = writeTestCerts(t, s.dir)
	if err := os.WriteFile(filepath.Join(s.dir, "slapd.conf"), []byte(s.config()), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *slapd) url() string    { return fmt.Sprintf("ldap://127.0.0.1:%d", s.ldapPort) }
func (s *slapd) tlsURL() string { return fmt.Sprintf("ldaps://127.0.0.1:%d", s.tlsPort) }

func (s *slapd) config() string {
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
suffix "` + testSuffix + `"
rootdn "` + testRootDN + `"
rootpw ` + testRootPW + `
directory ` + d + `/db
overlay ppolicy
ppolicy_default "cn=default,ou=policies,` + testSuffix + `"
ppolicy_use_lockout
access to attrs=userPassword by anonymous auth by * none
access to * by * read
`
}

func (s *slapd) start() {
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
	listen := s.url() + "/ " + s.tlsURL() + "/"
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

func (s *slapd) stop() {
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

// admin returns a connection bound as the root DN.
func (s *slapd) admin() *ldap.Conn {
	s.t.Helper()
	c, err := ldap.DialURL(s.url())
	if err != nil {
		s.t.Fatal(err)
	}
	if err := c.Bind(testRootDN, testRootPW); err != nil {
		c.Close()
		s.t.Fatal(err)
	}
	return c
}

type testPerson struct {
	uid, cn, password, role string
	ou                      string // default people
	locked                  bool
	// expiring: the password expires one second after it was set (policy
	// cn=expiring). reset: an administrator reset it and it must be
	// changed at the next bind (policy cn=mustchange, pwdReset).
	expiring, reset bool
}

// seed adds the tree, the service account, a lockout policy and people.
func (s *slapd) seed(people ...testPerson) {
	s.t.Helper()
	c := s.admin()
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
	add(testSuffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"campus"}, "o": {"Campus"}})
	for _, ou := range []string{"people", "guests", "policies"} {
		add("ou="+ou+","+testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {ou}})
	}
	add("cn=default,ou=policies,"+testSuffix, map[string][]string{
		"objectClass":   {"organizationalRole", "pwdPolicy"},
		"cn":            {"default"},
		"pwdAttribute":  {"userPassword"},
		"pwdLockout":    {"TRUE"},
		"pwdMaxFailure": {"100"},
	})
	add("cn=expiring,ou=policies,"+testSuffix, map[string][]string{
		"objectClass":        {"organizationalRole", "pwdPolicy"},
		"cn":                 {"expiring"},
		"pwdAttribute":       {"userPassword"},
		"pwdMaxAge":          {"1"},
		"pwdGraceAuthNLimit": {"0"},
	})
	add("cn=mustchange,ou=policies,"+testSuffix, map[string][]string{
		"objectClass":   {"organizationalRole", "pwdPolicy"},
		"cn":            {"mustchange"},
		"pwdAttribute":  {"userPassword"},
		"pwdMustChange": {"TRUE"},
	})
	add(testBindDN, map[string][]string{
		"objectClass":  {"organizationalRole", "simpleSecurityObject"},
		"cn":           {"reader"},
		"userPassword": {ssha(testBindPW)},
	})
	for _, p := range people {
		ou := p.ou
		if ou == "" {
			ou = "people"
		}
		attrs := map[string][]string{
			"objectClass":  {"inetOrgPerson"},
			"uid":          {p.uid},
			"cn":           {p.cn},
			"sn":           {p.cn},
			"userPassword": {ssha(p.password)},
		}
		if p.role != "" {
			attrs["employeeType"] = []string{p.role}
		}
		if p.locked {
			attrs["pwdAccountLockedTime"] = []string{"000001010000Z"} // locked until an admin unlocks
		}
		if p.expiring {
			attrs["pwdPolicySubentry"] = []string{"cn=expiring,ou=policies," + testSuffix}
		}
		if p.reset {
			attrs["pwdPolicySubentry"] = []string{"cn=mustchange,ou=policies," + testSuffix}
			attrs["pwdReset"] = []string{"TRUE"}
		}
		add("uid="+ldap.EscapeDN(p.uid)+",ou="+ou+","+testSuffix, attrs)
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

// cutProxy forwards TCP connections to target. cut kills the connections
// it has at the moment without telling the client: the client learns
// only when it next sends something, as through a firewall that dropped
// the connection's state.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	server []net.Conn
	wg     sync.WaitGroup
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
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

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.server {
		c.Close()
	}
	p.server = nil
}
