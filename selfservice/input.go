package selfservice

import (
	"errors"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
)

// Bounds on the texts that come from outside (form fields, query strings,
// path segments, JSON): longer ones are refused, never cut.
const (
	maxUsernameLen = 128
	maxSearchLen   = 128
	maxReasonInput = 4096 // the reason's own check answers past 500 bytes
)

// errBadText is what outsideText refuses: a NUL or other control
// character, invalid UTF-8, or more bytes than allowed.
var errBadText = errors.New("text with control characters, invalid UTF-8 or too long")

// outsideText checks a text from outside before it goes anywhere near the
// database: PostgreSQL refuses NUL bytes (a 500 instead of an answer) and
// SQLite's LIKE reads them as the end of the pattern (a search matching
// everything). It returns the text trimmed of spaces, or errBadText; the
// handler turns that into a 400, or a 404 for a name in a path, since no
// account can have such a name.
func outsideText(s string, max int) (string, error) {
	if !access.PlainText(s) {
		return "", errBadText
	}
	s = strings.TrimSpace(s)
	if len(s) > max {
		return "", errBadText
	}
	return s, nil
}

// badField is the 400 for a field outsideText refused; field is a
// catalogue id naming it.
func badField(field string) error {
	zh, en := i18n.For(i18n.Chinese), i18n.For(i18n.English)
	return errBadRequest(zh.T("selfservice.input.bad", zh.T(field)) + " / " + en.T("selfservice.input.bad", en.T(field)))
}

func init() {
	i18n.Register(
		[3]string{"selfservice.input.bad", "%s含有不允许的字符（控制字符或无效编码）或太长，请重新输入",
			"The %s contains characters that are not allowed (control characters or invalid encoding) or is too long: type it again"},
		[3]string{"selfservice.input.field.username", "用户名", "user name"},
		[3]string{"selfservice.input.field.search", "搜索内容", "search"},
		[3]string{"selfservice.input.field.reason", "原因", "reason"},
		[3]string{"selfservice.input.field.reference", "编号", "reference"},
	)
}
