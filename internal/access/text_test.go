package access

import "testing"

func TestPlainText(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"2026001", true}, {"张三 Zhang San", true}, {"", true},
		{"a\x00b", false}, {"a\tb", false}, {"a\rb", false}, {"\x1b[31m", false}, {"a\x7fb", false},
		{"a\u0085b", false}, {"a\u009fb", false}, {"\xff", false}, {"\xed\xa0\x80", false},
	} {
		if got := PlainText(tt.in); got != tt.want {
			t.Errorf("PlainText(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := StripControl("a\x00b\tc\xffd\u0085e.csv"); got != "abcde.csv" {
		t.Errorf("StripControl: %q", got)
	}
}
