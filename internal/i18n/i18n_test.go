package i18n

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func init() {
	Register([3]string{"test.hello", "你好，%s", "Hello, %s"})
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, query, cookie, accept string
		want                        string
	}{
		{"default", "", "", "", "zh-CN"},
		{"accept english", "", "", "en-GB,en;q=0.9", "en"},
		{"accept traditional chinese", "", "", "zh-TW,zh;q=0.9,en;q=0.5", "zh-CN"},
		{"accept french", "", "", "fr-FR,fr;q=0.9", "zh-CN"},
		{"accept french then english", "", "", "fr-FR,fr;q=0.9,en;q=0.8", "en"},
		{"cookie beats accept", "", "zh", "en-US", "zh-CN"},
		{"query beats cookie", "lang=en", "zh", "", "en"},
		{"bad query falls through", "lang=%00xx", "en", "", "en"},
		{"garbage accept", "", "", "\x00;;;q=x", "zh-CN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/?"+tt.query, nil)
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: Cookie, Value: tt.cookie})
			}
			if tt.accept != "" {
				r.Header.Set("Accept-Language", tt.accept)
			}
			if got := For(Negotiate(r)).Lang(); got != tt.want {
				t.Fatalf("language %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPrinterAndRemember(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/status?t=abc&lang=en", nil)
	p := Request(w, r, true)
	if got := p.T("test.hello", "Li"); got != "Hello, Li" {
		t.Fatalf("English: %q", got)
	}
	if got := For(Chinese).T("test.hello", "Li"); got != "你好，Li" {
		t.Fatalf("Chinese: %q", got)
	}
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Name != Cookie || c[0].Value != "en" || !c[0].Secure || !c[0].HttpOnly {
		t.Fatalf("cookie %+v", c)
	}
	if u := p.SwitchURL(r); u != "/status?lang=zh&t=abc" {
		t.Fatalf("switch URL %q", u)
	}
	if got := p.T("no.such.id"); got != "no.such.id" {
		t.Fatalf("unknown id: %q", got)
	}
}

func TestRegisterRefusesHalfAMessage(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a message without English was accepted")
		}
	}()
	Register([3]string{"test.half", "只有中文", ""})
}
