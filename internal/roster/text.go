package roster

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// CheckText refuses a file that is not plain UTF-8 text: a NUL byte (a
// spreadsheet saved in its own format, or UTF-16), bytes that are not UTF-8
// (a GBK export: save it as "CSV UTF-8"), or control characters other than
// tab, carriage return and newline. It names the line of the first problem.
// The NOC upload calls it before parsing, so such a file changes nothing;
// the error is a *Problem, for the page's language.
func CheckText(b []byte) error {
	line := 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == 0:
			return problem("roster.bad.text_nul", line)
		case r == utf8.RuneError && size == 1:
			return problem("roster.bad.text_utf8", line)
		case r == '\n':
			line++
		case r == '\t', r == '\r':
		case unicode.IsControl(r):
			return problem("roster.bad.text_control", line, r)
		}
		i += size
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return problem("roster.bad.text_empty")
	}
	return nil
}
