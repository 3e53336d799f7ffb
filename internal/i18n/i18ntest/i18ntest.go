// Package i18ntest holds the catalogue checks every site's tests run: each
// message of a site has both texts, its English text has no Chinese, and a
// site's templates print only registered ids and carry no page text of
// their own.
package i18ntest

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/campusnet/campusnet/internal/i18n"
)

// tID is a catalogue id a template prints: {{.L.T "portal.x"}} or
// {{$.L.T "selfservice.x"}}.
var tID = regexp.MustCompile(`\.L\.T "([^"]+)"`)

func hasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

// CheckMessages fails t for a message whose id starts with prefix and that
// lacks a text, or whose English text has no English letter, or Chinese
// once the allowed strings (a name an operator types, such as "网络信息中心-X") are removed.
func CheckMessages(t testing.TB, prefix string, allowed ...string) {
	t.Helper()
	for _, id := range i18n.Keys() {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		zh, en, _ := i18n.Texts(id)
		if zh == "" || en == "" {
			t.Errorf("%s: a text is missing", id)
		}
		for _, a := range allowed {
			en = strings.ReplaceAll(en, a, "")
		}
		if hasHan(en) {
			t.Errorf("%s: English text %q has Chinese", id, en)
		}
		if !strings.ContainsFunc(en, func(r rune) bool { return r < unicode.MaxASCII && unicode.IsLetter(r) }) {
			t.Errorf("%s: English text %q has no English", id, en)
		}
	}
}

// CheckTemplates fails t when a template under dir prints an id nobody
// registered (it would print as itself) or carries Chinese outside the
// catalogue (the language switch's "中文" and the node footer aside), and
// when fewer than min ids are found (the pattern would be wrong).
func CheckTemplates(t testing.TB, fsys fs.FS, dir string, min int) {
	t.Helper()
	n := 0
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.Replace(line, "{{if .L.English}}中文{{else}}", "", 1)
			if !strings.Contains(line, "网络信息中心-{{.Node}}") && hasHan(line) {
				t.Errorf("%s:%d has text outside the catalogue: %s", p, i+1, line)
			}
		}
		for _, m := range tID.FindAllStringSubmatch(string(b), -1) {
			n++
			if _, _, ok := i18n.Texts(m[1]); !ok {
				t.Errorf("%s prints %q, which is not registered", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < min {
		t.Fatalf("found %d catalogue ids in the templates: the pattern is wrong", n)
	}
}
