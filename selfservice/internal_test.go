package selfservice

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

func TestParseYuan(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want access.Fen
		bad  bool
	}{
		{name: "whole", in: "20", want: 2000},
		{name: "one decimal", in: "12.5", want: 1250},
		{name: "two decimals", in: "12.05", want: 1205},
		{name: "negative", in: "-3.00", want: -300},
		{name: "plus", in: "+1", want: 100},
		{name: "spaces", in: " 7.10 ", want: 710},
		{name: "zero", in: "0", want: 0},
		{name: "three decimals", in: "1.001", bad: true},
		{name: "trailing dot", in: "1.", bad: true},
		{name: "leading dot", in: ".5", bad: true},
		{name: "empty", in: "", bad: true},
		{name: "letters", in: "1e3", bad: true},
		{name: "comma", in: "1,5", bad: true},
		{name: "huge", in: "99999999999", bad: true},
		{name: "double sign", in: "--1", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseYuan(tt.in)
			if tt.bad {
				if !errors.Is(err, errBadAmount) {
					t.Fatalf("parseYuan(%q) = %v, %v; want an error", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseYuan(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseYuan(f *testing.F) {
	for _, s := range []string{"20", "12.50", "-3", "+1.5", "", "1.001", "9999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseYuan(s)
		if err != nil {
			return
		}
		// What parses prints back as the same amount.
		again, err := parseYuan(v.String())
		if err != nil || again != v {
			t.Fatalf("parseYuan(%q) = %d, but %q parses to %d, %v", s, v, v.String(), again, err)
		}
	})
}

var testKeys = deriveKeys([]byte(strings.Repeat("k", 32)))

func TestSessionCookie(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := session{Account: 42, User: "student1", Login: now.Unix(), Seen: now.Unix(), Nonce: "n0nce", PW: "tag"}
	v := testKeys.encode(s)
	other := deriveKeys([]byte(strings.Repeat("j", 32)))
	tests := []struct {
		name  string
		keys  sessionKeys
		value string
		at    time.Time
		ok    bool
	}{
		{name: "fresh", keys: testKeys, value: v, at: now, ok: true},
		{name: "used 29 minutes later", keys: testKeys, value: v, at: now.Add(29 * time.Minute), ok: true},
		{name: "idle 30 minutes", keys: testKeys, value: v, at: now.Add(30 * time.Minute)},
		{name: "other key", keys: other, value: v, at: now},
		{name: "from the future", keys: testKeys, value: v, at: now.Add(-time.Hour)},
		{name: "no signature", keys: testKeys, value: strings.Split(v, ".")[0], at: now},
		{name: "empty", keys: testKeys, value: "", at: now},
		{name: "garbage", keys: testKeys, value: "a.b", at: now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.keys.decode(tt.value, tt.at, 30*time.Minute, 12*time.Hour)
			if tt.ok != (err == nil) {
				t.Fatalf("decode: %+v, %v; want ok=%v", got, err, tt.ok)
			}
			if tt.ok && got != s {
				t.Fatalf("decode = %+v, want %+v", got, s)
			}
		})
	}
	if testKeys.csrfToken("a") == testKeys.csrfToken("b") || testKeys.csrfToken("a") == testKeys.preToken("a") {
		t.Fatal("CSRF tokens do not depend on the nonce and purpose")
	}
}

// FuzzSessionDecode: the cookie is outside input; whatever it holds,
// decode never panics and accepts only what encode made.
func FuzzSessionDecode(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(testKeys.encode(session{Account: 1, User: "u", Login: now.Unix(), Seen: now.Unix(), Nonce: "n", PW: "p"}))
	f.Add("e30.AAAA")
	f.Add("..")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := testKeys.decode(v, now, time.Hour, 12*time.Hour)
		if err != nil {
			return
		}
		if testKeys.encode(s) != v {
			// A valid signature over a different encoding of the same
			// content would mean the MAC is not checked over the bytes.
			if _, err := testKeys.decode(testKeys.encode(s), now, time.Hour, 12*time.Hour); err != nil {
				t.Fatalf("accepted %q but not its re-encoding", v)
			}
		}
	})
}

func TestNodeQuery(t *testing.T) {
	for in, want := range map[string]string{"3": "3", "-3": "3", "网络信息中心-3": "3", "某某大学 网络信息中心-12 ": "12", " node-a ": "node-a", "－3": "3"} {
		if got := nodeQuery(in); got != want {
			t.Errorf("nodeQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{"/devices": "/devices", "//evil.example": "/", "https://evil.example/": "/", "": "/", "/\\evil": "/", "/a\r\nb": "/"} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoginLimits(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	l := newLoginLimits(RateLimit{Burst: 3, Every: time.Minute}, RateLimit{Burst: 5, Every: 10 * time.Second}, func() time.Time { return now }, nil, nil)
	for range 3 {
		if w := l.wait(ctx, "10.0.0.1", "Victim"); w != 0 {
			t.Fatalf("refused before the burst was used: %v", w)
		}
		l.failed(ctx, "10.0.0.1", "Victim")
	}
	if w := l.wait(ctx, "10.0.0.9", "victim"); w != time.Minute {
		t.Fatalf("account over its burst: wait %v, want 1m (user names are case-insensitive)", w)
	}
	if l.wait(ctx, "10.0.0.1", "someone-else") != 0 {
		t.Fatal("source refused before its burst was used")
	}
	l.failed(ctx, "10.0.0.1", "a")
	l.failed(ctx, "10.0.0.1", "b")
	if w := l.wait(ctx, "10.0.0.1", "c"); w != 10*time.Second {
		t.Fatalf("source over its burst: wait %v", w)
	}
	now = now.Add(time.Minute)
	if l.wait(ctx, "10.0.0.9", "victim") != 0 {
		t.Fatal("no token back after a minute")
	}
}

func TestClientIP(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name, peer string
		xff        []string
		trusted    []netip.Prefix
		want       string
	}{
		{"direct", "10.1.2.3:5555", nil, loopback, "10.1.2.3"},
		{"direct client's own header ignored", "10.1.2.3:5555", []string{"10.9.9.9"}, loopback, "10.1.2.3"},
		{"behind the proxy", "127.0.0.1:5555", []string{"10.1.2.3"}, loopback, "10.1.2.3"},
		{"client-made entries on the left", "127.0.0.1:5555", []string{"6.6.6.6, 10.1.2.3"}, loopback, "10.1.2.3"},
		{"two trusted proxies", "127.0.0.1:5555", []string{"10.1.2.3", "127.0.0.2"}, loopback, "10.1.2.3"},
		{"garbage on the right", "127.0.0.1:5555", []string{"10.1.2.3, not-an-ip"}, loopback, "127.0.0.1"},
		{"proxy without a header", "127.0.0.1:5555", nil, loopback, "127.0.0.1"},
		{"nobody trusted", "127.0.0.1:5555", []string{"10.1.2.3"}, nil, "127.0.0.1"},
		{"ipv6 proxy, mapped client", "[::1]:5555", []string{"::ffff:10.1.2.3"}, loopback, "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{cfg: Config{TrustedProxies: tt.trusted}}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientIP(r); got != tt.want {
				t.Fatalf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
}
