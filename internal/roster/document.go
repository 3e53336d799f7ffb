package roster

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// DocType is the kind of identity document a person's number comes from.
type DocType string

// The document types of a roster's sixth column (see the package doc).
const (
	DocIDCard          DocType = "id_card"          // 居民身份证
	DocResidence       DocType = "residence_permit" // 港澳台居民居住证
	DocPassport        DocType = "passport"         // 护照
	DocHKMacauPermit   DocType = "hk_macau_permit"  // 港澳居民来往内地通行证
	DocTaiwanPermit    DocType = "taiwan_permit"    // 台湾居民来往大陆通行证
	DocOther           DocType = "other"            // 其他
	docTypeListForErrs         = "id_card, residence_permit, passport, hk_macau_permit, taiwan_permit, other"
)

// docTypeNames maps what a registrar writes in the column (lower-cased)
// to the type: the English key, the Chinese name and common short names.
var docTypeNames = map[string]DocType{
	"": DocIDCard, "id_card": DocIDCard, "idcard": DocIDCard, "居民身份证": DocIDCard, "身份证": DocIDCard,
	"residence_permit": DocResidence, "港澳台居民居住证": DocResidence, "居住证": DocResidence,
	"passport": DocPassport, "护照": DocPassport,
	"hk_macau_permit": DocHKMacauPermit, "港澳居民来往内地通行证": DocHKMacauPermit, "回乡证": DocHKMacauPermit,
	"taiwan_permit": DocTaiwanPermit, "台湾居民来往大陆通行证": DocTaiwanPermit, "台胞证": DocTaiwanPermit,
	"other": DocOther, "其他": DocOther,
}

// ParseDocType reads a document-type column value, in English or Chinese;
// empty is the resident id card (old rosters have no such column).
// The error is a *Problem.
func ParseDocType(s string) (DocType, error) {
	t, pr := parseDocType(s)
	if pr != nil {
		return t, pr
	}
	return t, nil
}

func parseDocType(s string) (DocType, *Problem) {
	t, ok := docTypeNames[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return "", problem("roster.bad.doc_type", s, docTypeListForErrs)
	}
	return t, nil
}

var (
	rePassport       = regexp.MustCompile(`^[A-Z0-9]{5,20}$`)
	reHKMacauPermit  = regexp.MustCompile(`^[HM]([0-9]{8}|[0-9]{10})$`)
	reTaiwanPermit   = regexp.MustCompile(`^([0-9]{8}|[0-9A-Z]{10})$`)
	reOtherDocument  = regexp.MustCompile(`^[A-Z0-9]{4,30}$`)
	reResidencePrefx = regexp.MustCompile(`^8[123]`)
)

// CheckDocument normalises number (trimmed, upper case) and checks it by
// the rule of its type; the error (a *Problem) says what is wrong, for a
// bad row.
func CheckDocument(t DocType, number string) (string, error) {
	n, pr := checkDocument(t, number)
	if pr != nil {
		return n, pr
	}
	return n, nil
}

func checkDocument(t DocType, number string) (string, *Problem) {
	n := strings.ToUpper(strings.TrimSpace(number))
	if n == "" {
		return n, problem("roster.bad.doc_empty")
	}
	switch t {
	case DocIDCard:
		if reIDCard18.MatchString(n) {
			if !IDCardChecksumOK(n) {
				return n, problem("roster.bad.idcard_checksum")
			}
		} else if !reIDCard15.MatchString(n) {
			return n, problem("roster.bad.idcard_form")
		}
	case DocResidence:
		if !reIDCard18.MatchString(n) || !reResidencePrefx.MatchString(n) {
			return n, problem("roster.bad.residence_form")
		}
		if !IDCardChecksumOK(n) {
			return n, problem("roster.bad.residence_checksum")
		}
	case DocPassport:
		if !rePassport.MatchString(n) {
			return n, problem("roster.bad.passport")
		}
	case DocHKMacauPermit:
		if !reHKMacauPermit.MatchString(n) {
			return n, problem("roster.bad.hk_macau_permit")
		}
	case DocTaiwanPermit:
		if !reTaiwanPermit.MatchString(n) {
			return n, problem("roster.bad.taiwan_permit")
		}
	case DocOther:
		if !reOtherDocument.MatchString(n) {
			return n, problem("roster.bad.other_document")
		}
	default:
		return n, problem("roster.bad.doc_unknown", string(t))
	}
	return n, nil
}

// DocumentInitialPassword is the initial password of a document: its last
// six characters, letters kept; an 18-character id-card or residence-permit
// number ending in X follows trailingX (InitialPassword).
func DocumentInitialPassword(t DocType, number, trailingX string) string {
	if t == DocIDCard || t == DocResidence {
		return InitialPassword(number, trailingX)
	}
	if len(number) <= 6 {
		return number
	}
	return number[len(number)-6:]
}

// BirthDate is the yyyymmdd birth date an id-card or residence-permit
// number carries (positions 7–14; 7–12 with "19" before them in an old
// 15-digit card), or "" for other documents.
func BirthDate(t DocType, number string) string {
	switch {
	case t != DocIDCard && t != DocResidence:
		return ""
	case len(number) == 18:
		return number[6:14]
	case len(number) == 15:
		return "19" + number[6:12]
	}
	return ""
}

// DocumentHash is what the store keeps of a document number to find the
// same document on two people: hex SHA-256 of "campusnet document v1",
// the type and the number. It is a plain hash, not a keyed one, so that
// it works without [server] token_key, survives a change of that key and
// is the same on every node and in `campusnet users add`. It is not a
// secret against someone who holds the database and tries every plausible
// id-card number (region, birth date, sequence); such a person already
// holds the name and the initial-password hash of everybody.
func DocumentHash(t DocType, number string) string {
	sum := sha256.Sum256([]byte("campusnet document v1\x00" + string(t) + "\x00" + number))
	return hex.EncodeToString(sum[:])
}
