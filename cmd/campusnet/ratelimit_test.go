package main

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// TestRateLimitAttributes: an area's rate limit reaches the BAS in its
// vendor's attributes (Huawei 2011 / H3C 25506: Input-Average-Rate 2,
// Output-Average-Rate 5, bit/s); a NAS with no vendor gets none.
func TestRateLimitAttributes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, vendor string
		id           uint32
	}{
		{"huawei", "huawei", 2011},
		{"h3c", "h3c", 25506},
		{"none", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), `
[[area]]
name = "library"
fee = 0
rate_up_kbps = 2000
rate_down_kbps = 10000
[[nas]]
name = "lib-ac"
ip = "127.0.0.1"
secret = "testing123"
area = "library"
vendor = "`+tt.vendor+`"
`)
			s := startServer(t, cfg, false)
			hash, err := identity.HashPassword("reader-pass", identity.InitialParams)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.st.EnsureAccount(context.Background(), access.Account{Username: "reader", Role: access.RoleStudent, PasswordHash: hash}); err != nil {
				t.Fatal(err)
			}
			c := &radiusproto.Client{Retry: time.Second, MaxTries: 3, RequireMessageAuthenticator: true}
			defer c.Close()
			p := radius.New(radius.CodeAccessRequest, []byte("testing123"))
			_ = rfc2865.UserName_SetString(p, "reader")
			_ = rfc2865.UserPassword_SetString(p, "reader-pass")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			reply, err := c.Exchange(ctx, p, s.Addr("radius-auth"))
			if err != nil || reply.Code != radius.CodeAccessAccept {
				t.Fatalf("login: %v %v", reply, err)
			}
			got := map[byte]uint32{}
			for _, a := range reply.Attributes {
				if a.Type != rfc2865.VendorSpecific_Type {
					continue
				}
				id, v, err := radius.VendorSpecific(a.Attribute)
				if err != nil || id != tt.id || len(v) != 6 || v[1] != 6 {
					t.Fatalf("vendor-specific attribute: vendor %d value %x err %v", id, v, err)
				}
				got[v[0]] = binary.BigEndian.Uint32(v[2:])
			}
			if tt.id == 0 {
				if len(got) != 0 {
					t.Fatalf("a NAS with no vendor got rate attributes: %v", got)
				}
				return
			}
			if got[2] != 2_000_000 || got[5] != 10_000_000 {
				t.Fatalf("rates: %v, want input 2000000 and output 10000000 bit/s", got)
			}
		})
	}
}
