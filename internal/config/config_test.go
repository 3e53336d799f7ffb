package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	dorm, ok := c.AreaByName("dorm")
	if !ok || dorm.FeeFen != 2000 || dorm.Cycle.Duration != 720*time.Hour || dorm.MaxPC != 1 || dorm.MaxMobile != 1 {
		t.Fatalf("dorm area: %+v", dorm)
	}
	n, ok := c.NASByName("dorm-bras-1")
	if !ok || !n.MessageAuthenticatorRequired || n.CoAPort != 3799 || n.PortalVersion != 2 {
		t.Fatalf("demo NAS: %+v", n)
	}
	if c.Radius.ReserveTimeout.Duration != 60*time.Second || c.Radius.InterimInterval.Duration != 300*time.Second {
		t.Fatalf("radius defaults: %+v", c.Radius)
	}
	if c.Server.NodeID == "" {
		t.Fatal("node id defaults to the host name")
	}
	if c.Radius.BatchGather.Duration != 2*time.Millisecond {
		t.Fatalf("batch_gather defaults to 2ms, got %v", c.Radius.BatchGather)
	}
}

// batch_gather = "0s" turns gathering off rather than meaning the default.
func TestBatchGatherZeroIsOff(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"[radius]\nbatch_gather = \"0s\"\n":  0,
		"[radius]\nbatch_gather = \"5ms\"\n": 5 * time.Millisecond,
		"[radius]\nbatch_size = 64\n":        2 * time.Millisecond,
	} {
		c, err := Parse(text, "t.toml")
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Radius.BatchGather.Duration; got != want {
			t.Errorf("%q: batch_gather %v, want %v", text, got, want)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	for text, want := range map[string]string{
		"":                                      "[127.0.0.0/8 ::1/128]",
		"[selfservice]\ntrusted_proxies = []\n": "[]",
		"[selfservice]\ntrusted_proxies = [\"10.0.0.5/32\", \"192.168.1.7/24\"]\n": "[10.0.0.5/32 192.168.1.0/24]",
	} {
		c, err := Parse(text, "t.toml")
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(c.SelfService.TrustedProxyPrefixes); got != want {
			t.Errorf("%q: trusted proxies %s, want %s", text, got, want)
		}
	}
}

const okNAS = `
[[area]]
name = "dorm"
fee = 20.00
[[nas]]
name = "b1"
ip = "10.0.0.1"
secret = "s"
area = "dorm"
user_subnets = ["10.1.0.0/16"]
`

func TestBadConfigOneClearLine(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // all must appear in the message
	}{
		{"unknown key", "[server]\nnode_idd = \"3\"\n", []string{"server.node_idd", "unknown key"}},
		{"bad duration", "[radius]\ninterim_interval = \"5 minutes\"\n", []string{"interim_interval", "bad duration"}},
		{"nas without secret", strings.Replace(okNAS, `secret = "s"`, "", 1), []string{"nas[0] (b1).secret", "shared secret"}},
		{"area not defined", strings.Replace(okNAS, `area = "dorm"`, `area = "dormm"`, 1), []string{"nas[0] (b1).area", `"dormm" is not defined`}},
		{"overlapping subnets", okNAS + `
[[nas]]
name = "b2"
ip = "10.0.0.2"
secret = "s"
area = "dorm"
user_subnets = ["10.1.128.0/17"]
`, []string{"nas[1] (b2).user_subnets[0]", "overlaps 10.1.0.0/16", `"b1"`}},
		{"duplicate nas ip", okNAS + "[[nas]]\nname = \"b2\"\nip = \"10.0.0.1\"\nsecret = \"s\"\narea = \"dorm\"\n", []string{"nas[1] (b2).ip", "already"}},
		{"fee three decimals", "[[area]]\nname = \"dorm\"\nfee = 20.001\n", []string{"area[0] (dorm).fee", "two decimals"}},
		{"bad on_limit", "[[area]]\nname = \"dorm\"\non_limit = \"kick\"\n", []string{"on_limit", "replace_oldest"}},
		{"bad portal version", strings.Replace(okNAS, `area = "dorm"`, "area = \"dorm\"\nportal_version = 3", 1), []string{"portal_version", "1 or 2"}},
		{"bad database", "[server]\ndatabase = \"mysql://x\"\n", []string{"server.database", "sqlite:PATH"}},
		{"toml syntax", "[server\n", []string{"c.toml:", "table name"}},
		{"ldap without url", "[identity]\nbackend = \"ldap\"\n", []string{"identity.ldap.url"}},
		{"sso bad kind", "[[identity.sso.provider]]\nname = \"x\"\nkind = \"saml\"\n", []string{"identity.sso.provider[0].kind", "cas"}},
		{"sso cas no url", "[[identity.sso.provider]]\nname = \"x\"\nkind = \"cas\"\n", []string{"identity.sso.provider[0].server_url"}},
		{"sso cas version", "[[identity.sso.provider]]\nname = \"x\"\nkind = \"cas\"\nserver_url = \"https://cas.example.edu/cas\"\nversion = 4\n", []string{"identity.sso.provider[0].version", "2 or 3"}},
		{"sso oidc no client", "[[identity.sso.provider]]\nname = \"x\"\nkind = \"oidc\"\nissuer = \"https://id.example.edu\"\n", []string{"identity.sso.provider[0].client_id"}},
		{"sso bad name", "[[identity.sso.provider]]\nname = \"Campus CAS\"\nkind = \"cas\"\nserver_url = \"https://cas.example.edu/cas\"\n", []string{"identity.sso.provider[0].name"}},
		{"sso twice", "[[identity.sso.provider]]\nname = \"x\"\nkind = \"cas\"\nserver_url = \"https://a.example.edu/cas\"\n[[identity.sso.provider]]\nname = \"x\"\nkind = \"cas\"\nserver_url = \"https://b.example.edu/cas\"\n", []string{"identity.sso.provider[1].name", "another provider"}},
		{"sso only without provider", "[identity.sso]\npassword_login = false\n", []string{"identity.sso.password_login", "nobody could log in"}},
		{"bad subnet", strings.Replace(okNAS, `10.1.0.0/16`, `10.1.0.0/33`, 1), []string{"user_subnets[0]", "CIDR"}},
		{"overlapping IPv6 subnets", strings.Replace(okNAS, `["10.1.0.0/16"]`, `["10.1.0.0/16", "2001:db8:1::/48"]`, 1) + `
[[nas]]
name = "b2"
ip = "10.0.0.2"
secret = "s"
area = "dorm"
user_subnets = ["2001:db8:1:5::/64"]
`, []string{"nas[1] (b2).user_subnets[0]", "overlaps 2001:db8:1::/48", `"b1"`}},
		{"bad portal_ipv6", strings.Replace(okNAS, `area = "dorm"`, "area = \"dorm\"\nportal_ipv6 = \"cisco\"", 1), []string{"nas[0] (b1).portal_ipv6", "huawei", "h3c"}},
		{"wrong type", "[radius]\ncoa_tries = \"three\"\n", []string{"c.toml"}},
		{"bad vendor", strings.Replace(okNAS, `area = "dorm"`, "area = \"dorm\"\nvendor = \"cisco\"", 1), []string{"nas[0] (b1).vendor", "huawei"}},
		{"negative procs", "[server]\nprocs = -2\n", []string{"server.procs", "number of cores"}},
		{"negative rate", "[[area]]\nname = \"dorm\"\nrate_up_kbps = -1\n", []string{"rate_up_kbps", "kbit/s"}},
		{"bad trusted proxy", "[selfservice]\ntrusted_proxies = [\"10.0.0.0/33\"]\n", []string{"selfservice.trusted_proxies[0]", "CIDR"}},
		{"helpdesk on two lines", "[server]\nhelpdesk = \"desk\\nroom 2\"\n", []string{"server.helpdesk", "one line"}},
		{"retention under 180 days", "[retention]\nperiod_days = 90\n", []string{"retention.period_days", "90 days is under 180", "Cybersecurity Law", "accept_short_period = true"}},
		{"negative retention", "[retention]\nperiod_days = -1\n", []string{"retention.period_days", "negative"}},
		{"retention batch too big", "[retention]\npurge_batch = 1000000\n", []string{"retention.purge_batch"}},
		{"helpdesk too long", "[server]\nhelpdesk = \"" + strings.Repeat("服", 201) + "\"\n", []string{"server.helpdesk", "200 characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.toml")
			if err := os.WriteFile(p, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatal("bad config accepted")
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("not a config error: %v", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Fatalf("message spans lines: %q", msg)
			}
			if !strings.Contains(msg, "c.toml") {
				t.Fatalf("message does not name the file: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if err == nil || !strings.Contains(err.Error(), "nope.toml: cannot read") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	_ = os.WriteFile(p, []byte("[server]\ndatabase = \"mysql://u:hunter2@h/db\"\n"), 0o600)
	_, err := Load(p)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("password leaked or no error: %v", err)
	}
}

func TestDeployExampleIsValid(t *testing.T) {
	c, err := Load("../../deploy/campusnet.example.toml")
	if err != nil {
		t.Fatalf("deploy/campusnet.example.toml: %v", err)
	}
	if len(c.NAS) != 1 || len(c.Areas) != 2 {
		t.Fatalf("example: %d NAS, %d areas", len(c.NAS), len(c.Areas))
	}
	for _, f := range []string{"node1", "node2", "radius"} {
		if _, err := Load("../../deploy/compose/" + f + ".toml"); err != nil {
			t.Fatalf("compose %s: %v", f, err)
		}
	}
}

// TestExampleDocumentsEveryKey keeps deploy/campusnet.example.toml complete:
// every key the program reads appears there (set, or commented out).
func TestExampleDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../deploy/campusnet.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	example := string(b)
	var walk func(t reflect.Type)
	walk = func(typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key := strings.Split(f.Tag.Get("toml"), ",")[0]
			if key == "" || key == "-" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(Duration{}) {
				walk(ft)
				continue
			}
			if !regexp.MustCompile(`(?m)^#? ?` + regexp.QuoteMeta(key) + ` +=`).MatchString(example) {
				t.Errorf("key %q (%s.%s) is not in deploy/campusnet.example.toml", key, typ.Name(), f.Name)
			}
		}
	}
	walk(reflect.TypeOf(Config{}))
}

// An area's display names reach the services; left out, they are the name;
// a control character in one is refused with its key.
func TestAreaDisplayNames(t *testing.T) {
	c, err := Load("../../deploy/campusnet.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	a := c.AccessAreas()[0]
	if a.Name != "dorm" || a.DisplayName != "宿舍区" || a.DisplayNameEN != "Dorms" {
		t.Fatalf("dorm: %+v", a)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	_ = os.WriteFile(p, []byte("[[area]]\nname = \"lab\"\n\n[[nas]]\nname = \"n\"\nip = \"10.0.0.1\"\nsecret = \"s\"\narea = \"lab\"\n"), 0o600)
	c, err = Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.AccessAreas()[0]; a.DisplayName != "lab" || a.DisplayNameEN != "lab" {
		t.Fatalf("defaults: %+v", a)
	}
	_ = os.WriteFile(p, []byte("[[area]]\nname = \"lab\"\ndisplay_name_en = \"La\\u0000b\"\n\n[[nas]]\nname = \"n\"\nip = \"10.0.0.1\"\nsecret = \"s\"\narea = \"lab\"\n"), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "display_name_en") {
		t.Fatalf("control character: %v", err)
	}
}

// TestSelfServicePublicURL: the address the plain listener redirects to
// comes from the file, never from a request.
func TestSelfServicePublicURL(t *testing.T) {
	const tlsKeys = "tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n"
	for text, want := range map[string]string{
		"[selfservice]\ntls_listen = \"0.0.0.0:443\"\npublic_url = \"https://selfaaa.example.edu/\"\n" + tlsKeys:             "https://selfaaa.example.edu/",
		"[portal]\nselfservice_url = \"https://self.example.edu/\"\n[selfservice]\ntls_listen = \"0.0.0.0:443\"\n" + tlsKeys: "https://self.example.edu/",
		"[selfservice]\ntls_listen = \"10.0.0.8:443\"\n" + tlsKeys:                                                           "",
		"": "",
	} {
		c, err := Parse(text, "t.toml")
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if c.SelfService.PublicURL != want {
			t.Errorf("%q: public_url %q, want %q", text, c.SelfService.PublicURL, want)
		}
	}
	for _, text := range []string{
		"[selfservice]\ntls_listen = \"0.0.0.0:443\"\n" + tlsKeys,
		"[selfservice]\ntls_listen = \":443\"\n" + tlsKeys,
		"[selfservice]\npublic_url = \"http://selfaaa.example.edu/\"\n",
		"[selfservice]\npublic_url = \"https://selfaaa.example.edu/?x=1\"\n",
		"[selfservice]\npublic_url = \"https:///\"\n",
	} {
		if _, err := Parse(text, "t.toml"); err == nil || !strings.Contains(err.Error(), "selfservice.public_url") {
			t.Errorf("%q: %v, want a selfservice.public_url error", text, err)
		}
	}
}

// TestIPv6Subnets: user_subnets take IPv6 prefixes, and an IPv6 address
// finds its BAS; portal_ipv6 defaults by vendor.
func TestIPv6Subnets(t *testing.T) {
	text := strings.Replace(okNAS, `["10.1.0.0/16"]`, `["10.1.0.0/16", "2001:DB8:1::/48"]`, 1) + `
[[nas]]
name = "b2"
ip = "10.0.0.2"
secret = "s"
area = "dorm"
vendor = "h3c"
user_subnets = ["2001:db8:2::/48"]
`
	c, err := Parse(text, "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{"2001:db8:1:7::9": "b1", "2001:db8:2::1": "b2", "10.1.2.3": "b1"} {
		n, ok := c.NASForUser(netip.MustParseAddr(addr))
		if !ok || n.Name != want {
			t.Errorf("%s: %v %v, want %s", addr, n, ok, want)
		}
	}
	if _, ok := c.NASForUser(netip.MustParseAddr("2001:db8:3::1")); ok {
		t.Error("an address in no subnet found a BAS")
	}
	if a, b := c.NAS[0].Access(), c.NAS[1].Access(); a.PortalIPv6 != "huawei" || b.PortalIPv6 != "h3c" {
		t.Errorf("portal_ipv6 defaults: %q %q", a.PortalIPv6, b.PortalIPv6)
	}
}

// [server] timezone defaults to the campus's zone, takes any IANA name
// (from the compiled-in zone database), and a bad name stops the start
// with the key and the reason.
func TestTimezone(t *testing.T) {
	c, err := Parse("", "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 6, 5, 0, 0, time.UTC)
	if c.Server.Timezone != "Asia/Shanghai" || at.In(c.Server.Location).Format("15:04 -07:00") != "14:05 +08:00" {
		t.Fatalf("default zone %q: 06:05Z is %s there", c.Server.Timezone, at.In(c.Server.Location).Format("15:04 -07:00"))
	}
	c, err = Parse("[server]\ntimezone = \"Europe/Berlin\"\n", "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := at.In(c.Server.Location).Format("15:04 -07:00"); got != "07:05 +01:00" {
		t.Fatalf("Europe/Berlin: 06:05Z is %s", got)
	}
	for _, bad := range []string{"Asia/Shangai", "Local", "+08:00", "CST-8\x00"} {
		_, err := Parse(fmt.Sprintf("[server]\ntimezone = %q\n", bad), "t.toml")
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "server.timezone") || !strings.Contains(err.Error(), "Asia/Shanghai") {
			t.Errorf("timezone %q: %v", bad, err)
		}
	}
}

// [retention]: 400 days when absent, 0 kept (for ever), a short period only
// when accepted.
func TestRetention(t *testing.T) {
	for text, want := range map[string]int{
		"":                               DefaultRetentionDays,
		"[retention]\nperiod_days = 0\n": 0,
		"[retention]\nperiod_days = 30\naccept_short_period = true\n": 30,
		"[retention]\nperiod_days = 180\n":                            180,
	} {
		c, err := Parse(text, "c.toml")
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if c.Retention.PeriodDays != want || c.Retention.Period() != time.Duration(want)*24*time.Hour {
			t.Errorf("%q: period_days %d, want %d", text, c.Retention.PeriodDays, want)
		}
		if c.Retention.PurgeInterval.Duration != time.Hour || c.Retention.PurgeBatch != 2000 || c.Retention.PurgePause.Duration != DefaultPurgePause {
			t.Errorf("%q: purge defaults %+v", text, c.Retention)
		}
	}
	// The pause is the default only when absent: "0s" turns it off.
	for text, want := range map[string]time.Duration{"[retention]\npurge_pause = \"0s\"\n": 0, "[retention]\npurge_pause = \"200ms\"\n": 200 * time.Millisecond} {
		c, err := Parse(text, "c.toml")
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got := c.Retention.PurgePause.Duration; got != want {
			t.Errorf("%q: purge_pause %v, want %v", text, got, want)
		}
	}
}
