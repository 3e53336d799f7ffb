package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig configures the [LDAP] backend. Zero values take the defaults
// given per field.
type LDAPConfig struct {
	// URL of the directory: ldap://host[:389], ldaps://host[:636] or
	// ldapi://%2Fpath%2Fto%2Fsocket.
	URL string
	// StartTLS upgrades an ldap:// connection to TLS before anything is
	// sent. Not allowed with ldaps:// or ldapi://.
	StartTLS bool
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool
	// CAFile is a PEM file of CAs to trust instead of the system roots.
	CAFile string

	// BindDN and BindPassword are the service account that searches for
	// people. Empty BindDN searches anonymously.
	BindDN, BindPassword string
	// BaseDN is where people are searched for, with subtree scope.
	// Required.
	BaseDN string
	// UserFilter finds one person; %s is replaced by the escaped user
	// name. Default "(uid=%s)".
	UserFilter string

	// IDAttribute gives Person.ID. Default "uid"; the typed user name if
	// the entry lacks it.
	IDAttribute string
	// NameAttribute gives Person.Name. Default "cn"; Person.ID if absent.
	NameAttribute string
	// RoleAttribute gives Person.Role, for example "employeeType". Empty
	// means every person gets DefaultRole.
	RoleAttribute string
	// DefaultRole is the role of people without a RoleAttribute value.
	DefaultRole string

	// Timeout bounds one whole Authenticate call: connecting, TLS,
	// searching and binding. Default 5s.
	Timeout time.Duration
	// PoolSize is how many connections are kept and used at once, for
	// searching and (separately) for binding. Default 4.
	PoolSize int
}

// LDAP authenticates against a directory: it searches for the person with
// the service account, then binds as the entry found with the person's
// password on a second connection, so the searching connections stay
// bound as the service account and can be reused as they are.
type LDAP struct {
	cfg          LDAPConfig
	tls          *tls.Config
	log          *slog.Logger
	search, bind *pool
}

var _ Authenticator = (*LDAP)(nil)

// Idle connections older than this are closed instead of reused: a
// firewall may have forgotten them, and a dead connection that swallows
// packets would eat the whole timeout.
const maxIdle = time.Minute

// Longest user name looked up; longer ones are unknown without asking.
const maxUserLen = 256

// NewLDAP checks cfg and returns the backend. It does not connect: a
// directory that is down at start makes logins fail with ErrUnavailable
// until it is back. Use Ping to check the configuration at start.
func NewLDAP(cfg LDAPConfig, log *slog.Logger) (*LDAP, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.UserFilter == "" {
		cfg.UserFilter = "(uid=%s)"
	}
	if cfg.IDAttribute == "" {
		cfg.IDAttribute = "uid"
	}
	if cfg.NameAttribute == "" {
		cfg.NameAttribute = "cn"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 4
	}
	bad := func(format string, a ...any) (*LDAP, error) {
		return nil, fmt.Errorf("identity: ldap: "+format, a...)
	}
	scheme, _, _ := strings.Cut(cfg.URL, "://")
	var host string
	switch scheme {
	case "ldap", "ldaps":
		u, err := url.Parse(cfg.URL)
		if err != nil {
			return bad("url %q: %v", cfg.URL, err)
		}
		if u.Hostname() == "" {
			return bad("url %q has no host", cfg.URL)
		}
		host = u.Hostname()
	case "ldapi":
	default:
		return bad("url %q: scheme must be ldap, ldaps or ldapi", cfg.URL)
	}
	if cfg.StartTLS && scheme != "ldap" {
		return bad("StartTLS needs an ldap:// url, not %s://", scheme)
	}
	if cfg.BaseDN == "" {
		return bad("BaseDN is required")
	}
	if _, err := ldap.ParseDN(cfg.BaseDN); err != nil {
		return bad("BaseDN %q: %v", cfg.BaseDN, err)
	}
	if cfg.BindDN == "" && cfg.BindPassword != "" {
		return bad("BindPassword without BindDN")
	}
	if cfg.BindDN != "" && cfg.BindPassword == "" {
		return bad("BindDN %q without BindPassword", cfg.BindDN)
	}
	if strings.Count(cfg.UserFilter, "%s") != 1 {
		return bad("UserFilter %q must contain %%s exactly once", cfg.UserFilter)
	}
	if _, err := ldap.CompileFilter(userFilter(cfg.UserFilter, "x")); err != nil {
		return bad("UserFilter %q: %v", cfg.UserFilter, err)
	}
	if cfg.Timeout < 0 {
		return bad("Timeout %v is negative", cfg.Timeout)
	}
	if cfg.PoolSize < 0 {
		return bad("PoolSize %d is negative", cfg.PoolSize)
	}

	l := &LDAP{cfg: cfg, log: log}
	if scheme == "ldaps" || cfg.StartTLS {
		l.tls = &tls.Config{
			ServerName:         host,
			InsecureSkipVerify: cfg.InsecureSkipVerify,
			MinVersion:         tls.VersionTLS12,
		}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return bad("CAFile: %v", err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return bad("CAFile %s: no PEM certificates", cfg.CAFile)
			}
			l.tls.RootCAs = roots
		}
	}
	l.search = newPool("search", cfg.PoolSize, l.dialService, log)
	l.bind = newPool("bind", cfg.PoolSize, l.dial, log)
	return l, nil
}

// Close closes the idle connections; connections in use close when they
// are given back. Authenticate fails with ErrUnavailable after Close.
func (l *LDAP) Close() error {
	l.search.close()
	l.bind.close()
	return nil
}

// Ping connects, binds as the service account and reads BaseDN, to check
// the configuration when the server starts.
func (l *LDAP) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	req := ldap.NewSearchRequest(l.cfg.BaseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, l.timeLimit(), false, "(objectClass=*)", []string{"1.1"}, nil)
	err := l.search.do(ctx, func(c *ldap.Conn) error {
		_, err := c.Search(req)
		return err
	})
	if err != nil && !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: read %s: %v", ErrUnavailable, l.cfg.BaseDN, err)
	}
	return err
}

// Authenticate finds user with the service account and binds as the entry
// found with password. An empty password is refused without asking the
// directory: LDAP would take it as an unauthenticated bind and succeed.
// Locked accounts (ErrDisabled) and expired or reset passwords
// (ErrPasswordExpired) are recognised from the password-policy response
// control (OpenLDAP ppolicy) or Active Directory's diagnostic codes; other
// directories report them as wrong passwords.
func (l *LDAP) Authenticate(ctx context.Context, user, password string) (Person, error) {
	if password == "" {
		return Person{}, fmt.Errorf("%w: empty password", ErrBadCredentials)
	}
	if user == "" || len(user) > maxUserLen {
		return Person{}, ErrUnknownUser
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	entry, err := l.find(ctx, user)
	if err != nil {
		return Person{}, err
	}
	if err := l.bindAs(ctx, entry.DN, password); err != nil {
		return Person{}, err
	}
	p := Person{
		ID:   entry.GetEqualFoldAttributeValue(l.cfg.IDAttribute),
		Name: entry.GetEqualFoldAttributeValue(l.cfg.NameAttribute),
		Role: access.Role(l.cfg.DefaultRole),
	}
	if p.ID == "" {
		p.ID = user
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	if l.cfg.RoleAttribute != "" {
		if r := entry.GetEqualFoldAttributeValue(l.cfg.RoleAttribute); r != "" {
			p.Role = access.Role(r)
		}
	}
	return p, nil
}

func userFilter(filter, user string) string {
	return strings.Replace(filter, "%s", ldap.EscapeFilter(user), 1)
}

// timeLimit is the server-side search limit in whole seconds.
func (l *LDAP) timeLimit() int {
	return int((l.cfg.Timeout + time.Second - 1) / time.Second)
}

func (l *LDAP) find(ctx context.Context, user string) (*ldap.Entry, error) {
	attrs := []string{l.cfg.IDAttribute, l.cfg.NameAttribute}
	if l.cfg.RoleAttribute != "" {
		attrs = append(attrs, l.cfg.RoleAttribute)
	}
	req := ldap.NewSearchRequest(l.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, l.timeLimit(), false, userFilter(l.cfg.UserFilter, user), attrs, nil)
	var res *ldap.SearchResult
	err := l.search.do(ctx, func(c *ldap.Conn) error {
		var err error
		res, err = c.Search(req)
		return err
	})
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, fmt.Errorf("%w: more than one directory entry matches", ErrBadCredentials)
	case errors.Is(err, ErrUnavailable):
		return nil, err
	case err != nil:
		// noSuchObject (a wrong BaseDN), insufficient access, busy…:
		// nothing the person can fix.
		return nil, fmt.Errorf("%w: search: %v", ErrUnavailable, err)
	}
	switch len(res.Entries) {
	case 0:
		return nil, ErrUnknownUser
	case 1:
		return res.Entries[0], nil
	default:
		return nil, fmt.Errorf("%w: %d directory entries match", ErrBadCredentials, len(res.Entries))
	}
}

func (l *LDAP) bindAs(ctx context.Context, dn, password string) error {
	var res *ldap.SimpleBindResult
	err := l.bind.do(ctx, func(c *ldap.Conn) error {
		var err error
		res, err = c.SimpleBind(&ldap.SimpleBindRequest{
			Username: dn,
			Password: password,
			Controls: []ldap.Control{ldap.NewControlBeheraPasswordPolicy()},
		})
		return err
	})
	return bindOutcome(res, err)
}

// bindOutcome turns a bind's result into Authenticate's errors.
func bindOutcome(res *ldap.SimpleBindResult, err error) error {
	pp := policyError(res)
	if err == nil {
		if pp == ldap.BeheraChangeAfterReset {
			// pwdReset with pwdMustChange: the directory lets the person
			// do nothing but change the password.
			return fmt.Errorf("%w: must be changed after an administrator's reset", ErrPasswordExpired)
		}
		return nil
	}
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	switch pp {
	case ldap.BeheraAccountLocked:
		return fmt.Errorf("%w: account locked", ErrDisabled)
	case ldap.BeheraPasswordExpired:
		return fmt.Errorf("%w: password expired", ErrPasswordExpired)
	}
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return fmt.Errorf("%w: bind: %v", ErrUnavailable, err)
	}
	// Active Directory puts the reason into the diagnostic message of an
	// invalidCredentials result: "… data 533, …".
	msg := err.Error()
	for _, r := range adBindRefusals {
		if strings.Contains(msg, r.data) {
			return fmt.Errorf("%w: %s", r.err, r.why)
		}
	}
	return ErrBadCredentials
}

// adBindRefusals are Active Directory's reasons for refusing a bind with
// the right password.
var adBindRefusals = []struct {
	data, why string
	err       error
}{
	{"data 530", "logon not permitted at this time", ErrDisabled},
	{"data 531", "logon not permitted from this workstation", ErrDisabled},
	{"data 532", "password expired", ErrPasswordExpired},
	{"data 533", "account disabled", ErrDisabled},
	{"data 701", "account expired", ErrDisabled},
	{"data 773", "password must be reset", ErrPasswordExpired},
	{"data 775", "account locked", ErrDisabled},
}

// policyError is the error of the password-policy response control
// (OpenLDAP ppolicy) in a bind result, or -1 when there is none.
func policyError(res *ldap.SimpleBindResult) int8 {
	if res == nil {
		return -1
	}
	if c, ok := ldap.FindControl(res.Controls, ldap.ControlTypeBeheraPasswordPolicy).(*ldap.ControlBeheraPasswordPolicy); ok {
		return c.Error
	}
	return -1
}

// dial opens a connection, with TLS as configured, within ctx's deadline.
func (l *LDAP) dial(ctx context.Context) (*ldap.Conn, error) {
	timeout := l.cfg.Timeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	opts := []ldap.DialOpt{ldap.DialWithDialer(&net.Dialer{Timeout: timeout})}
	if l.tls != nil && !l.cfg.StartTLS {
		opts = append(opts, ldap.DialWithTLSConfig(l.tls))
	}
	c, err := ldap.DialURL(l.cfg.URL, opts...)
	if err != nil {
		return nil, err
	}
	if l.cfg.StartTLS {
		if err := withConn(ctx, c, func(c *ldap.Conn) error { return c.StartTLS(l.tls) }); err != nil {
			c.Close()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	}
	return c, nil
}

// dialService opens a connection bound as the service account.
func (l *LDAP) dialService(ctx context.Context) (*ldap.Conn, error) {
	c, err := l.dial(ctx)
	if err != nil || l.cfg.BindDN == "" {
		return c, err
	}
	if err := withConn(ctx, c, func(c *ldap.Conn) error { return c.Bind(l.cfg.BindDN, l.cfg.BindPassword) }); err != nil {
		c.Close()
		return nil, fmt.Errorf("bind as service account %s: %w", l.cfg.BindDN, err)
	}
	return c, nil
}
