package access

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// PlainText reports whether s, a text from outside (a form field, a URL, a
// file, a command-line argument), is valid UTF-8 without control
// characters: no NUL (PostgreSQL refuses it, SQLite's LIKE reads it as the
// end of the pattern), no C0 or C1 control (a TAB or CR in a redirect
// target, an escape sequence on an operator's terminal). Every edge checks
// its texts with it before they go anywhere.
func PlainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// StripControl removes control characters and invalid UTF-8 from s, for
// texts that are kept but need not be exact (an uploaded file's name).
func StripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}
