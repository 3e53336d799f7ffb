package identity

import (
	"errors"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// TestBindOutcomeActiveDirectory: Active Directory says why a bind with the
// right password failed only in the diagnostic message of
// invalidCredentials ("… data 532, …"). An expired or reset password sends
// the person to change it; a locked or disabled account is ErrDisabled; a
// plain wrong password says only that.
func TestBindOutcomeActiveDirectory(t *testing.T) {
	ad := func(data string) error {
		return ldap.NewError(ldap.LDAPResultInvalidCredentials,
			errors.New("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data "+data+", v4563"))
	}
	for _, c := range []struct {
		data string
		want error
	}{
		{"532", ErrPasswordExpired}, // password expired
		{"773", ErrPasswordExpired}, // must be reset
		{"533", ErrDisabled},        // account disabled
		{"775", ErrDisabled},        // locked
		{"701", ErrDisabled},        // account expired
		{"52e", ErrBadCredentials},  // wrong password
	} {
		err := bindOutcome(nil, ad(c.data))
		if !errors.Is(err, c.want) {
			t.Errorf("data %s: %v, want %v", c.data, err, c.want)
		}
		if c.want != ErrDisabled && errors.Is(err, ErrDisabled) || c.want != ErrPasswordExpired && errors.Is(err, ErrPasswordExpired) {
			t.Errorf("data %s: %v says more than %v", c.data, err, c.want)
		}
	}
	if err := bindOutcome(nil, nil); err != nil {
		t.Errorf("a successful bind: %v", err)
	}
}
