package access

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// DocumentTailLen is how many characters of a document number the NOC
// search finds a person by: the last six, the initial password's length.
const DocumentTailLen = 6

// DocumentTailHash is what accounts.doc_tail keeps of a document number:
// a SHA-256 of its last DocumentTailLen characters in upper case (tail may
// be the whole number or just those characters), "" for a shorter one.
// Like the initial password's hash it keeps the characters from a reader
// of the table, not from someone who tries all of them.
func DocumentTailHash(number string) string {
	number = strings.ToUpper(strings.TrimSpace(number))
	if len(number) < DocumentTailLen {
		return ""
	}
	sum := sha256.Sum256([]byte("campusnet document tail v1\x00" + number[len(number)-DocumentTailLen:]))
	return hex.EncodeToString(sum[:])
}

// Kinds of a FoundAccount's match, strongest first.
const (
	FoundAccount  = "account"  // the user name itself
	FoundAddress  = "address"  // holds the address now
	FoundMAC      = "mac"      // a device of the account, or a live session of the MAC
	FoundPhone    = "phone"    // the phone number
	FoundDocument = "document" // the document number's tail
	FoundPrefix   = "prefix"   // the user name starts with the text
	FoundName     = "name"     // the name starts with the text
)

// FindQuery is what the NOC search looks for; empty fields are not
// searched. Text is a user name (exact or prefix) or a name (prefix).
type FindQuery struct {
	Text    string
	Phone   string // digits, with a leading + if any: matches a phone stored with spaces or dashes
	DocTail string // DocumentTailHash of the tail
	// DocFacts, when set, also finds accounts imported before doc_tail
	// existed by their hashed document facts (identity.FactsHaveTail).
	DocFacts func(username, facts string) bool
	MAC      string // canonical
	IP       string // canonical
}

// Found is an account the NOC search found, and why: for an address or a
// MAC, the live session that holds it (zero Session.ID when the match is a
// device of the account).
type Found struct {
	Account Account
	Match   string
	Session Session
	MAC     string
}
