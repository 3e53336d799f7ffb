package roster

import (
	"bytes"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// CheckText refuses a file that is not plain UTF-8 text: a NUL byte (a
// spreadsheet saved in its own format, or UTF-16), bytes that are not UTF-8
// (a GBK export: save it as "CSV UTF-8"), or control characters other than
// tab, carriage return and newline. It names the line of the first problem.
// The NOC upload calls it before parsing, so such a file changes nothing.
func CheckText(b []byte) error {
	line := 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == 0:
			return fmt.Errorf("line %d: a NUL byte: this is not a text file (save it as CSV UTF-8)", line)
		case r == utf8.RuneError && size == 1:
			return fmt.Errorf("line %d: not UTF-8 text (a GBK export? save it as CSV UTF-8)", line)
		case r == '\n':
			line++
		case r == '\t', r == '\r':
		case unicode.IsControl(r):
			return fmt.Errorf("line %d: control character %U", line, r)
		}
		i += size
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("the file is empty")
	}
	return nil
}
