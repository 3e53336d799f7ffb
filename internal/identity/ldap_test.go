package identity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/ldaptest"
)

var testPeopleSeed = []ldaptest.Person{
	{UID: "alice", CN: "Alice Wang", Password: "alice-pw-1", Role: "student"},
	{UID: "bob", CN: "Bob Li", Password: "bob-pw-22", Role: "staff"},
	{UID: "carol", CN: "Carol Zhao", Password: "carol-pw-333", Role: "operator"},
	{UID: "dave", CN: "Dave Chen", Password: "dave-pw-4444"}, // no employeeType
	{UID: "li*ming", CN: "Li Ming", Password: "liming-pw-5"},
	{UID: "eve", CN: "Eve Sun", Password: "eve-pw-66", Role: "student", Locked: true},
	{UID: "twin", CN: "Twin One", Password: "twin-pw-1"},
	{UID: "twin", CN: "Twin Two", Password: "twin-pw-2", OU: "guests"},
}

func testLDAPConfig(s *ldaptest.Server) LDAPConfig {
	return LDAPConfig{
		URL:           s.URL(),
		BindDN:        ldaptest.BindDN,
		BindPassword:  ldaptest.BindPW,
		BaseDN:        ldaptest.Suffix,
		UserFilter:    "(&(objectClass=inetOrgPerson)(uid=%s))",
		RoleAttribute: "employeeType",
		DefaultRole:   "guest",
		Timeout:       3 * time.Second,
	}
}

func newTestLDAP(t *testing.T, cfg LDAPConfig) *LDAP {
	t.Helper()
	l, err := NewLDAP(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestLDAPPasswordExpired: a right password the directory no longer takes —
// expired (OpenLDAP ppolicy pwdMaxAge) or reset by an administrator with
// pwdMustChange — is ErrPasswordExpired, not a wrong password and not a
// disabled account, so the person is sent to change it; a wrong password
// for the same people still says only that.
func TestLDAPPasswordExpired(t *testing.T) {
	s := ldaptest.Run(t)
	s.Seed(ldaptest.Person{UID: "frank", CN: "Frank Xu", Password: "frank-pw-7", Expiring: true},
		ldaptest.Person{UID: "grace", CN: "Grace He", Password: "grace-pw-8", Reset: true},
		ldaptest.Person{UID: "heidi", CN: "Heidi Ma", Password: "heidi-pw-9"})
	l := newTestLDAP(t, testLDAPConfig(s))
	time.Sleep(2100 * time.Millisecond) // frank's password is older than pwdMaxAge (1 s) now
	for _, tt := range []struct {
		user, password string
		wantErr        error
	}{
		{"frank", "frank-pw-7", ErrPasswordExpired},
		{"frank", "wrong-pw-7", ErrBadCredentials},
		{"grace", "grace-pw-8", ErrPasswordExpired},
		{"grace", "wrong-pw-8", ErrBadCredentials},
		{"heidi", "heidi-pw-9", nil},
	} {
		_, err := l.Authenticate(context.Background(), tt.user, tt.password)
		if tt.wantErr == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.user, err)
			}
			continue
		}
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s with %s: err = %v, want %v", tt.user, tt.password, err, tt.wantErr)
		}
		if errors.Is(err, ErrDisabled) || (tt.wantErr == ErrBadCredentials && errors.Is(err, ErrPasswordExpired)) {
			t.Errorf("%s with %s: err = %v says more than it should", tt.user, tt.password, err)
		}
	}
}

func TestLDAPAuthenticate(t *testing.T) {
	s := ldaptest.Run(t)
	s.Seed(testPeopleSeed...)
	l := newTestLDAP(t, testLDAPConfig(s))

	tests := []struct {
		name, user, password string
		want                 Person
		wantErr              error
		notErr               error // must not match, to keep outcomes apart
	}{
		{name: "student", user: "alice", password: "alice-pw-1", want: Person{ID: "alice", Name: "Alice Wang", Role: "student"}},
		{name: "staff", user: "bob", password: "bob-pw-22", want: Person{ID: "bob", Name: "Bob Li", Role: "staff"}},
		{name: "operator", user: "carol", password: "carol-pw-333", want: Person{ID: "carol", Name: "Carol Zhao", Role: "operator"}},
		{name: "no role attribute gets default role", user: "dave", password: "dave-pw-4444", want: Person{ID: "dave", Name: "Dave Chen", Role: "guest"}},
		{name: "user name case from directory", user: "ALICE", password: "alice-pw-1", want: Person{ID: "alice", Name: "Alice Wang", Role: "student"}},
		{name: "star in a real user name", user: "li*ming", password: "liming-pw-5", want: Person{ID: "li*ming", Name: "Li Ming", Role: "guest"}},
		{name: "wrong password", user: "alice", password: "bob-pw-22", wantErr: ErrBadCredentials, notErr: ErrUnknownUser},
		{name: "another user's password", user: "bob", password: "alice-pw-1", wantErr: ErrBadCredentials, notErr: ErrUnknownUser},
		{name: "unknown user", user: "mallory", password: "whatever-1", wantErr: ErrUnknownUser},
		{name: "empty password refused", user: "alice", password: "", wantErr: ErrBadCredentials},
		{name: "empty user", user: "", password: "x", wantErr: ErrUnknownUser},
		{name: "filter injection", user: "*)(uid=*", password: "alice-pw-1", wantErr: ErrUnknownUser},
		{name: "filter injection closing the and", user: "alice)(|(uid=*", password: "alice-pw-1", wantErr: ErrUnknownUser},
		{name: "wildcard is literal", user: "li*", password: "liming-pw-5", wantErr: ErrUnknownUser},
		{name: "bare wildcard", user: "*", password: "alice-pw-1", wantErr: ErrUnknownUser},
		{name: "NUL byte", user: "alice\x00", password: "alice-pw-1", wantErr: ErrUnknownUser},
		{name: "two entries match", user: "twin", password: "twin-pw-1", wantErr: ErrBadCredentials, notErr: ErrUnknownUser},
		{name: "locked account", user: "eve", password: "eve-pw-66", wantErr: ErrDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Authenticate(context.Background(), tt.user, tt.password)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if tt.notErr != nil && errors.Is(err, tt.notErr) {
					t.Fatalf("err = %v, must not be %v", err, tt.notErr)
				}
				if errors.Is(err, ErrUnavailable) {
					t.Fatalf("err = %v, must not be ErrUnavailable", err)
				}
				if strings.Contains(err.Error(), tt.password) && tt.password != "" {
					t.Fatalf("error %q contains the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("ping", func(t *testing.T) {
		if err := l.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLDAPServiceAccount(t *testing.T) {
	s := ldaptest.Run(t)
	s.Seed(testPeopleSeed...)
	tests := []struct {
		name    string
		edit    func(*LDAPConfig)
		wantErr error
	}{
		{name: "anonymous search", edit: func(c *LDAPConfig) { c.BindDN, c.BindPassword = "", "" }},
		{name: "wrong service password", edit: func(c *LDAPConfig) { c.BindPassword = "nope" }, wantErr: ErrUnavailable},
		{name: "base DN missing", edit: func(c *LDAPConfig) { c.BaseDN = "ou=nowhere," + ldaptest.Suffix }, wantErr: ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testLDAPConfig(s)
			tt.edit(&cfg)
			l := newTestLDAP(t, cfg)
			_, err := l.Authenticate(context.Background(), "alice", "alice-pw-1")
			if tt.wantErr == nil && err != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err := l.Ping(context.Background()); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Ping: err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestLDAPTLS(t *testing.T) {
	s := ldaptest.Run(t)
	s.Seed(testPeopleSeed...)
	tests := []struct {
		name    string
		edit    func(*LDAPConfig)
		wantErr error
	}{
		{name: "ldaps", edit: func(c *LDAPConfig) { c.URL, c.CAFile = s.TLSURL(), s.CAFile() }},
		{name: "starttls", edit: func(c *LDAPConfig) { c.StartTLS, c.CAFile = true, s.CAFile() }},
		{name: "ldaps untrusted certificate", edit: func(c *LDAPConfig) { c.URL = s.TLSURL() }, wantErr: ErrUnavailable},
		{name: "starttls untrusted certificate", edit: func(c *LDAPConfig) { c.StartTLS = true }, wantErr: ErrUnavailable},
		{name: "ldaps skip verify", edit: func(c *LDAPConfig) { c.URL, c.InsecureSkipVerify = s.TLSURL(), true }},
		{name: "ldaps wrong host name", edit: func(c *LDAPConfig) {
			c.URL, c.CAFile = strings.Replace(s.TLSURL(), "127.0.0.1", "127.0.0.2", 1), s.CAFile()
		}, wantErr: ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testLDAPConfig(s)
			tt.edit(&cfg)
			l := newTestLDAP(t, cfg)
			for range 3 { // the second and third go over reused TLS connections
				p, err := l.Authenticate(context.Background(), "bob", "bob-pw-22")
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
					continue
				}
				if err != nil || p.Role != "staff" {
					t.Fatalf("got %+v, %v", p, err)
				}
			}
		})
	}
}

func TestLDAPConnectionReuse(t *testing.T) {
	s := ldaptest.Run(t)
	s.Seed(testPeopleSeed...)
	cfg := testLDAPConfig(s)
	cfg.PoolSize = 3
	l := newTestLDAP(t, cfg)
	ctx := context.Background()

	t.Run("sequential", func(t *testing.T) {
		for i := range 50 {
			user, pw := "alice", "alice-pw-1"
			if i%3 == 1 {
				pw = "wrong-password"
			}
			_, err := l.Authenticate(ctx, user, pw)
			if (i%3 == 1) != errors.Is(err, ErrBadCredentials) {
				t.Fatalf("login %d: err = %v", i, err)
			}
		}
		if n, m := l.search.dials.Load(), l.bind.dials.Load(); n != 1 || m != 1 {
			t.Fatalf("50 logins opened %d search and %d bind connections, want 1 and 1", n, m)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for g := range 10 {
			wg.Go(func() {
				for range 10 {
					user, pw := "bob", "bob-pw-22"
					if g%2 == 0 {
						user, pw = "carol", "carol-pw-333"
					}
					if _, err := l.Authenticate(ctx, user, pw); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n, m := l.search.dials.Load(), l.bind.dials.Load(); n > 3 || m > 3 {
			t.Fatalf("pool of 3 opened %d search and %d bind connections", n, m)
		}
	})

	t.Run("directory down then back", func(t *testing.T) {
		s.Stop()
		_, err := l.Authenticate(ctx, "alice", "alice-pw-1")
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrBadCredentials) {
			t.Fatalf("directory down: err = %v, want ErrUnavailable", err)
		}
		s.Start()
		for i := range 5 {
			if _, err := l.Authenticate(ctx, "alice", "alice-pw-1"); err != nil {
				t.Fatalf("login %d after restart: %v", i, err)
			}
		}
	})

	t.Run("directory restarts between logins", func(t *testing.T) {
		// slapd closes its connections when it stops, and the pooled
		// ones notice.
		before := l.search.dials.Load()
		s.Stop()
		s.Start()
		for i := range 5 {
			if _, err := l.Authenticate(ctx, "alice", "alice-pw-1"); err != nil {
				t.Fatalf("login %d after restart: %v", i, err)
			}
		}
		if n := l.search.dials.Load() - before; n != 1 {
			t.Fatalf("after restart: %d new search connections, want 1", n)
		}
	})
}

func TestLDAPUnavailable(t *testing.T) {
	const timeout = 400 * time.Millisecond

	// A port nobody listens on.
	closedPort := "ldap://" + func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()

	// A server that accepts connections and never answers, like a
	// directory stuck on a dead disk.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	t.Cleanup(func() {
		silent.Close()
		held.Wait()
	})
	held.Go(func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held.Go(func() {
				defer c.Close()
				io.Copy(io.Discard, c)
			})
		}
	})

	background := func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }
	short := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 100*time.Millisecond)
	}
	cancelled := func() (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	}

	tests := []struct {
		name     string
		url      string
		startTLS bool
		ctx      func() (context.Context, context.CancelFunc)
		within   time.Duration
	}{
		{name: "closed port", url: closedPort, ctx: background, within: timeout},
		{name: "silent server", url: "ldap://" + silent.Addr().String(), ctx: background, within: timeout},
		{name: "silent server ldaps", url: "ldaps://" + silent.Addr().String(), ctx: background, within: timeout},
		{name: "silent server starttls", url: "ldap://" + silent.Addr().String(), startTLS: true, ctx: background, within: timeout},
		{name: "caller's deadline is shorter", url: "ldap://" + silent.Addr().String(), ctx: short, within: 100 * time.Millisecond},
		{name: "caller gave up", url: "ldap://" + silent.Addr().String(), ctx: cancelled, within: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLDAP(t, LDAPConfig{URL: tt.url, StartTLS: tt.startTLS, BaseDN: ldaptest.Suffix, Timeout: timeout})
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := l.Authenticate(ctx, "alice", "alice-pw-1")
			took := time.Since(start)
			if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrBadCredentials) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			// Generous slack for a loaded CI machine; what matters is
			// that the timeout is honoured at all.
			if took > tt.within+time.Second {
				t.Fatalf("took %v, timeout is %v", took, tt.within)
			}
		})
	}
}

func TestNewLDAPConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  LDAPConfig
		ok   bool
	}{
		{name: "minimal", cfg: LDAPConfig{URL: "ldap://dir.campus.test", BaseDN: "dc=campus,dc=test"}, ok: true},
		{name: "ldaps", cfg: LDAPConfig{URL: "ldaps://dir.campus.test:636", BaseDN: "dc=campus,dc=test"}, ok: true},
		{name: "ldapi", cfg: LDAPConfig{URL: "ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi", BaseDN: "dc=campus,dc=test"}, ok: true},
		{name: "no url", cfg: LDAPConfig{BaseDN: "dc=campus,dc=test"}},
		{name: "http url", cfg: LDAPConfig{URL: "http://dir", BaseDN: "dc=campus,dc=test"}},
		{name: "no host", cfg: LDAPConfig{URL: "ldap://", BaseDN: "dc=campus,dc=test"}},
		{name: "no base", cfg: LDAPConfig{URL: "ldap://dir"}},
		{name: "bad base", cfg: LDAPConfig{URL: "ldap://dir", BaseDN: "campus"}},
		{name: "starttls on ldaps", cfg: LDAPConfig{URL: "ldaps://dir", StartTLS: true, BaseDN: "dc=campus,dc=test"}},
		{name: "filter without %s", cfg: LDAPConfig{URL: "ldap://dir", BaseDN: "dc=campus,dc=test", UserFilter: "(uid=alice)"}},
		{name: "filter with two %s", cfg: LDAPConfig{URL: "ldap://dir", BaseDN: "dc=campus,dc=test", UserFilter: "(|(uid=%s)(mail=%s))"}},
		{name: "broken filter", cfg: LDAPConfig{URL: "ldap://dir", BaseDN: "dc=campus,dc=test", UserFilter: "(uid=%s"}},
		{name: "bind DN without password", cfg: LDAPConfig{URL: "ldap://dir", BaseDN: "dc=campus,dc=test", BindDN: "cn=reader"}},
		{name: "missing CA file", cfg: LDAPConfig{URL: "ldaps://dir", BaseDN: "dc=campus,dc=test", CAFile: "/nonexistent/ca.pem"}},
		{name: "negative timeout", cfg: LDAPConfig{URL: "ldap://dir", BaseDN: "dc=campus,dc=test", Timeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewLDAP(tt.cfg, nil)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if l != nil {
				l.Close()
			}
		})
	}
}

// A connection that dies silently — a firewall or NAT that forgot it, so
// the next request is answered by a reset — must cost a redial, not a
// failed login.
func TestLDAPDeadPooledConnection(t *testing.T) {
	s := ldaptest.Run(t)
	s.Seed(testPeopleSeed...)
	px := ldaptest.StartCutProxy(t, fmt.Sprintf("127.0.0.1:%d", s.Port()))
	cfg := testLDAPConfig(s)
	cfg.URL = "ldap://" + px.Addr()
	l := newTestLDAP(t, cfg)
	ctx := context.Background()

	for round := range 3 {
		for i := range 3 {
			if _, err := l.Authenticate(ctx, "carol", "carol-pw-333"); err != nil {
				t.Fatalf("round %d login %d: %v", round, i, err)
			}
		}
		if n, m := l.search.dials.Load(), l.bind.dials.Load(); n != int64(round+1) || m != int64(round+1) {
			t.Fatalf("round %d: %d search and %d bind connections, want %d each", round, n, m, round+1)
		}
		px.Cut()
	}
}
