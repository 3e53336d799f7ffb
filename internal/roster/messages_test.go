package roster

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/campusnet/campusnet/internal/i18n"
)

var (
	badID = regexp.MustCompile(`"(roster\.bad\.[a-z0-9_]+)"`)
	verb  = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[a-zA-Z%]`)
)

// TestCatalogue: every roster.bad.* id the code uses is registered with a
// Chinese and an English text taking the same fmt verbs in the same
// order, the Chinese text is Chinese, and every registered one is used.
func TestCatalogue(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "messages.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range badID.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 25 {
		t.Fatalf("found %d roster.bad ids in the code: the pattern is wrong", len(used))
	}
	for id := range used {
		zh, en, ok := i18n.Texts(id)
		if !ok || zh == "" || en == "" {
			t.Errorf("%s is used but not registered with both texts", id)
			continue
		}
		if !strings.ContainsFunc(zh, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s: Chinese text %q has no Chinese", id, zh)
		}
		if vz, ve := verb.FindAllString(zh, -1), verb.FindAllString(en, -1); !slices.Equal(vz, ve) {
			t.Errorf("%s: Chinese verbs %v, English %v", id, vz, ve)
		}
	}
	for _, id := range i18n.Keys() {
		if strings.HasPrefix(id, "roster.bad.") && !used[id] {
			t.Errorf("%s is registered but no code uses it", id)
		}
	}
}

// TestReasonsEnglish: Reason (what the CLI prints) is, byte for byte, the
// English text it was before the reasons were catalogue messages, Text
// in English is the same, and Text in Chinese is the Chinese text.
func TestReasonsEnglish(t *testing.T) {
	text := "id,name,idcard,phone,role\n" +
		"2026001,张三," + CompleteIDCard("42010220000101001") + ",,\n" + // line 2: good
		",空,1,,\n" + // line 3
		"bad id,坏,1,,\n" + // line 4
		"2026004,,1,,\n" + // line 5
		"2026005," + strings.Repeat("长", 70) + ",1,,\n" + // line 6
		"2026006,坏,12345,,\n" + // line 7
		"2026007,坏," + CompleteIDCard("42010220000101007") + ",phone,\n" + // line 8
		"2026008,坏," + CompleteIDCard("42010220000101008") + ",,dean\n" + // line 9
		"2026009,only two\n" + // line 10
		"2026001,重复," + CompleteIDCard("42010220000101011") + ",,\n" + // line 11
		"2026012,同证," + CompleteIDCard("42010220000101001") + ",,\n" + // line 12
		"2026013,坏,,,\n" + // line 13
		"2026014,坏,X1,,,驾驶证\n" + // line 14
		"2026015,坏,1,,,passport\n" + // line 15
		"2026016,坏,Z1234567,,,hk_macau_permit\n" + // line 16
		"2026017,坏,1,,,taiwan_permit\n" + // line 17
		"2026018,坏,1,,,other\n" + // line 18
		"2026019,坏," + CompleteIDCard("42010220000101019") + ",,,residence_permit\n" + // line 19
		"2026020,\"unterminated\n" // line 20
	p, err := ParsePeople(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{
		3:  "empty id",
		4:  `id "bad id": only letters, digits and . _ @ - allowed, at most 64`,
		5:  "empty name",
		6:  "name longer than 200 bytes",
		7:  "id-card number must be 18 characters (17 digits and a digit or X) or 15 digits",
		8:  `phone "phone" is not a phone number`,
		9:  `role "dean": want student, staff or operator`,
		10: "want 5 columns (id, name, id-card number, phone, role) and an optional document type, got 2",
		11: "id 2026001 already appears on line 2",
		12: "document number of 2026012 is also on line 2 (2026001): one document, one person",
		13: "empty document number (the initial password comes from it)",
		14: `document type "驾驶证": want id_card, residence_permit, passport, hk_macau_permit, taiwan_permit, other (or 居民身份证, 港澳台居民居住证, 护照, 港澳居民来往内地通行证, 台湾居民来往大陆通行证, 其他)`,
		15: "passport number must be 5 to 20 letters and digits",
		16: "travel-permit number (港澳居民来往内地通行证) must be H or M and 8 or 10 digits",
		17: "travel-permit number (台湾居民来往大陆通行证) must be 8 digits or 10 letters and digits",
		18: "document number must be 4 to 30 letters and digits",
		19: "residence-permit number must be 18 characters starting 81, 82 or 83 (17 digits and a digit or X)",
		20: `not valid CSV: extraneous or missing " in quoted-field`,
	}
	zh, en := i18n.For(i18n.Chinese), i18n.For(i18n.English)
	for _, b := range p.Bad {
		w, ok := want[b.Line]
		if !ok {
			t.Errorf("unexpected bad row %s", b)
			continue
		}
		delete(want, b.Line)
		if b.Reason != w {
			t.Errorf("line %d: Reason %q, want %q", b.Line, b.Reason, w)
		}
		if got := b.Text(en); got != b.Reason {
			t.Errorf("line %d: English Text %q, Reason %q", b.Line, got, b.Reason)
		}
		if got := b.Text(zh); got == b.Reason || !strings.ContainsFunc(got, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("line %d: Chinese Text %q", b.Line, got)
		}
	}
	for line, w := range want {
		t.Errorf("line %d is not bad, want %q", line, w)
	}
	if got := (BadRow{Line: 1, Reason: "by hand"}).Text(zh); got != "by hand" {
		t.Errorf("a row without an id: %q", got)
	}
	if _, err := NewPerson("2026001", "张三", "", "12345", "", ""); err == nil || err.Error() != "id-card number must be 18 characters (17 digits and a digit or X) or 15 digits" {
		t.Errorf("NewPerson: %v", err)
	}
	for _, c := range []struct {
		file, en, zh string
	}{
		{"a\nb\x00", "line 2: a NUL byte: this is not a text file (save it as CSV UTF-8)", "第 2 行：有 NUL 字节"},
		{"\xd5\xc5", "line 1: not UTF-8 text (a GBK export? save it as CSV UTF-8)", "第 1 行：不是 UTF-8 文本"},
		{"a\n\n\x1b", "line 3: control character U+001B", "第 3 行：控制字符 U+001B"},
		{" \n", "the file is empty", "文件是空的"},
	} {
		err := CheckText([]byte(c.file))
		pr, ok := err.(*Problem)
		if !ok || err.Error() != c.en || pr.Text(en) != c.en || !strings.HasPrefix(pr.Text(zh), c.zh) {
			t.Errorf("CheckText(%q): %v", c.file, err)
		}
	}
}
