package portalproto

import (
	"bytes"
	"crypto/md5"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// ChapPassword returns the ChapPassWord attribute value,
// MD5(byte(reqID & 0xff) ‖ password ‖ challenge): the CHAP identifier is
// the low byte of the ReqID the BAS assigned
// (docs/protocols.md#portal-login-and-logout).
func ChapPassword(reqID uint16, password, challenge []byte) []byte {
	h := md5.New()
	h.Write([]byte{byte(reqID)})
	h.Write(password)
	h.Write(challenge)
	return h.Sum(nil)
}

// DecodeText decodes a TextInfo value: UTF-8 when it is valid UTF-8,
// GB18030 otherwise, because Chinese-market devices may use GBK. Which
// character set a given BAS uses is UNVERIFIED. Trailing NUL bytes, which
// some devices add, are dropped.
func DecodeText(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	if utf8.Valid(b) {
		return string(b)
	}
	s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil {
		// Not GB18030 either: keep what is readable.
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(s)
}

// EncodeGB18030 encodes s in GB18030, as a Chinese-market BAS may send
// TextInfo. Characters GB18030 cannot hold do not occur: it covers all of
// Unicode.
func EncodeGB18030(s string) []byte {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return []byte(s)
	}
	return b
}
