package portal

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/campusnet/campusnet/internal/i18n"
)

// tID is a catalogue id a template prints: {{.L.T "portal.x"}}.
var tID = regexp.MustCompile(`\.L\.T "([^"]+)"`)

// TestCatalogue: every id in the catalogue has a Chinese text with Chinese
// in it and an English text without, and every id a template prints is
// registered (an unknown id would print as itself).
func TestCatalogue(t *testing.T) {
	for _, id := range i18n.Keys() {
		zh, en, _ := i18n.Texts(id)
		if zh == "" || en == "" {
			t.Errorf("%s: a text is missing", id)
		}
		if strings.HasPrefix(id, "portal.") && !strings.ContainsFunc(en, func(r rune) bool { return r < unicode.MaxASCII && unicode.IsLetter(r) }) {
			t.Errorf("%s: English text %q has no English", id, en)
		}
		if strings.HasPrefix(id, "portal.") && strings.ContainsFunc(en, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s: English text %q has Chinese", id, en)
		}
	}
	n := 0
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, p)
		if err != nil {
			return err
		}
		// Page text is in the catalogue: no Chinese in a template but the
		// switch (中文) and the node footer.
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.Replace(line, "{{if .L.English}}中文{{else}}", "", 1)
			if !strings.Contains(line, "网络信息中心-{{.Node}}") && strings.ContainsFunc(line, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
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
	if n < 50 {
		t.Fatalf("found %d catalogue ids in the templates: the pattern is wrong", n)
	}
}
