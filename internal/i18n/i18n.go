// Package i18n is the pages' one language at a time: Simplified Chinese by
// default, English on request. The language of a request comes from its
// ?lang= parameter (the visible 中文 / English switch), then the lang
// cookie that switch sets, then Accept-Language matched by
// golang.org/x/text/language (so zh-TW, zh-HK and plain zh read Chinese,
// en-GB English, and anything else Chinese). Messages live in one catalogue
// (golang.org/x/text/message/catalog) keyed by a stable id; every id has a
// Chinese and an English text, and Register refuses one without both.
//
// RADIUS Reply-Messages are not pages: the BAS shows them to whoever is
// there, so they keep both languages (access.Refusal.Message).
package i18n

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The two languages, Chinese first: it is the default.
var (
	Chinese = language.SimplifiedChinese
	English = language.English
	tags    = []language.Tag{Chinese, English}
	matcher = language.NewMatcher(tags)
)

// Cookie is the name of the cookie that remembers the switch.
const Cookie = "lang"

var (
	mu      sync.RWMutex
	builder = catalog.NewBuilder(catalog.Fallback(Chinese))
	keys    = map[string][2]string{}
)

// Register adds messages: each entry is id, Chinese text, English text.
// The texts are fmt formats (%s, %d) read by Printer.T's arguments. It
// panics on an id registered twice with other texts or a text left empty:
// both are bugs that any test of the registering package finds.
func Register(entries ...[3]string) {
	mu.Lock()
	defer mu.Unlock()
	for _, e := range entries {
		id, zh, en := e[0], e[1], e[2]
		if id == "" || zh == "" || en == "" {
			panic(fmt.Sprintf("i18n: message %q needs a Chinese and an English text", id))
		}
		if have, ok := keys[id]; ok && have != [2]string{zh, en} {
			panic(fmt.Sprintf("i18n: message %q registered twice with different texts", id))
		}
		keys[id] = [2]string{zh, en}
		if err := builder.SetString(Chinese, id, zh); err != nil {
			panic(err)
		}
		if err := builder.SetString(English, id, en); err != nil {
			panic(err)
		}
	}
}

// Keys returns every registered id, sorted (for tests).
func Keys() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Texts returns the Chinese and English texts of id (for tests).
func Texts(id string) (zh, en string, ok bool) {
	mu.RLock()
	defer mu.RUnlock()
	t, ok := keys[id]
	return t[0], t[1], ok
}

// Printer prints the messages of one language.
type Printer struct {
	tag language.Tag
	p   *message.Printer
}

// For returns the printer of tag (Chinese or English).
func For(tag language.Tag) *Printer {
	if tag != English {
		tag = Chinese
	}
	return &Printer{tag: tag, p: message.NewPrinter(tag, message.Catalog(builder))}
}

// T is the message id in the printer's language, formatted with args. An
// id nobody registered prints as itself, which the catalogue test catches.
func (p *Printer) T(id string, args ...any) string {
	mu.RLock()
	_, ok := keys[id]
	mu.RUnlock()
	if !ok {
		return id
	}
	return p.p.Sprintf(id, args...)
}

// Pick returns zh or en in the printer's language, for texts that come
// with the data in both languages (an area's display names).
func (p *Printer) Pick(zh, en string) string {
	if p.tag == English && en != "" {
		return en
	}
	if zh == "" {
		return en
	}
	return zh
}

// Lang is the BCP 47 code for <html lang>: "zh-CN" or "en".
func (p *Printer) Lang() string {
	if p.tag == English {
		return "en"
	}
	return "zh-CN"
}

// English reports whether the printer speaks English.
func (p *Printer) English() bool { return p.tag == English }

// Other is the code of the other language, for the switch ("en" or "zh").
func (p *Printer) Other() string {
	if p.tag == English {
		return "zh"
	}
	return "en"
}

// Negotiate is the language of r: ?lang=, then the cookie, then
// Accept-Language; Chinese when none says.
func Negotiate(r *http.Request) language.Tag {
	if t, ok := parseChoice(r.URL.Query().Get("lang")); ok {
		return t
	}
	if c, err := r.Cookie(Cookie); err == nil {
		if t, ok := parseChoice(c.Value); ok {
			return t
		}
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		prefs, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(prefs) > 0 {
			_, i, conf := matcher.Match(prefs...)
			if conf != language.No {
				return tags[i]
			}
		}
	}
	return Chinese
}

// parseChoice reads the switch's value: "zh" or "en" (and their regional
// forms).
func parseChoice(v string) (language.Tag, bool) {
	if v == "" || len(v) > 16 {
		return Chinese, false
	}
	t, err := language.Parse(v)
	if err != nil {
		return Chinese, false
	}
	base, _ := t.Base()
	switch base.String() {
	case "zh":
		return Chinese, true
	case "en":
		return English, true
	}
	return Chinese, false
}

// Remember sets the lang cookie when r chose a language with ?lang=, so
// the next pages speak it too. secure marks the cookie Secure (TLS sites).
func Remember(w http.ResponseWriter, r *http.Request, secure bool) {
	t, ok := parseChoice(r.URL.Query().Get("lang"))
	if !ok {
		return
	}
	v := "zh"
	if t == English {
		v = "en"
	}
	http.SetCookie(w, &http.Cookie{Name: Cookie, Value: v, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

// Request is Negotiate, Remember and For in one call: the printer for the
// page r asks for.
func Request(w http.ResponseWriter, r *http.Request, secure bool) *Printer {
	Remember(w, r, secure)
	return For(Negotiate(r))
}

// SwitchURL is the current page's URL with lang set to the other
// language, for the visible switch (a GET link: it works without
// JavaScript and repeats nothing the page had posted).
func (p *Printer) SwitchURL(r *http.Request) string {
	u := *r.URL
	q := u.Query()
	q.Set("lang", p.Other())
	u.RawQuery = q.Encode()
	if r.Method != http.MethodGet {
		u.RawQuery = "lang=" + p.Other()
	}
	return u.RequestURI()
}

// Supported reports whether tag is one of the two languages.
func Supported(tag language.Tag) bool { return slices.Contains(tags, tag) }
