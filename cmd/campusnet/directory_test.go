package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/ldaptest"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// TestDirectoryFirstLoginOverRADIUS: a directory person whose entry names
// no role, logging in for the first time straight over RADIUS (an 802.1X
// or PPPoE campus without the portal), gets the account the portal and
// self-service would make: their directory name and the student role.
func TestDirectoryFirstLoginOverRADIUS(t *testing.T) {
	t.Parallel()
	dir := ldaptest.Run(t)
	dir.Seed(ldaptest.Person{UID: "s2028001", CN: "Li Lei", Password: "dir-pass-1"})
	cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), fmt.Sprintf(`
[identity]
backend = "ldap"
[identity.ldap]
url = %q
bind_dn = %q
bind_password = %q
base_dn = %q
user_filter = "(&(objectClass=inetOrgPerson)(uid=%%s))"
role_attribute = "employeeType"
[[area]]
name = "library"
[[nas]]
name = "lib-ac"
ip = "127.0.0.1"
secret = "testing123"
area = "library"
`, dir.URL(), ldaptest.BindDN, ldaptest.BindPW, ldaptest.Suffix))
	s := startServer(t, cfg, false)
	c := &radiusproto.Client{Retry: time.Second, MaxTries: 3, RequireMessageAuthenticator: true}
	defer c.Close()
	p := radius.New(radius.CodeAccessRequest, []byte("testing123"))
	if err := rfc2865.UserName_SetString(p, "s2028001"); err != nil {
		t.Fatal(err)
	}
	if err := rfc2865.UserPassword_SetString(p, "dir-pass-1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := c.Exchange(ctx, p, s.Addr("radius-auth"))
	if err != nil || reply.Code != radius.CodeAccessAccept {
		t.Fatalf("first login: %v %v", reply, err)
	}
	a, err := s.st.AccountByUsername(ctx, "s2028001")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "Li Lei" || a.Role != access.RoleStudent {
		t.Fatalf("the account made at the first RADIUS login: name %q role %q, want \"Li Lei\" and %q", a.Name, a.Role, access.RoleStudent)
	}
}
