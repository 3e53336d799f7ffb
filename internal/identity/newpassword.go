package identity

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/campusnet/campusnet/internal/i18n"
)

// The rules of CheckNewPassword, as a RuleError names them. Each has a
// catalogue message "identity.password.<rule>" that says what to do.
const (
	RuleDocumentTail  = "document_tail"  // the document number's last six or eight characters
	RuleStudentNumber = "student_number" // the user name (the student or staff number)
	RuleBirthDate     = "birth_date"     // the birth date in the id card
	RuleRepeated      = "repeated"       // one digit repeated: 111111
	RuleSequential    = "sequential"     // a run of sequential digits: 123456, 987654
	RuleCommon        = "common"         // on the embedded list of common passwords
)

// RuleError is CheckNewPassword's refusal: Rule names the rule broken. It
// wraps ErrWeakPassword.
type RuleError struct{ Rule string }

func (e *RuleError) Error() string { return "identity: new password not allowed: " + e.Rule }

// Unwrap makes errors.Is(err, ErrWeakPassword) hold.
func (e *RuleError) Unwrap() error { return ErrWeakPassword }

// MessageID is the catalogue message that tells the person the rule.
func (e *RuleError) MessageID() string { return "identity.password." + e.Rule }

func init() {
	i18n.Register(
		[3]string{"identity.password.document_tail", "新密码不能包含证件号码的后六位或后八位（初始密码就是它们）。", "The new password may not contain the last six or eight characters of your document number (that is what the initial password is)."},
		[3]string{"identity.password.student_number", "新密码不能包含学号/工号。", "The new password may not contain your student or staff number."},
		[3]string{"identity.password.birth_date", "新密码不能包含身份证上的出生日期。", "The new password may not contain the birth date in your id card."},
		[3]string{"identity.password.repeated", "新密码不能包含一串相同的数字（如 111111）。", "The new password may not contain a run of one repeated digit (such as 111111)."},
		[3]string{"identity.password.sequential", "新密码不能包含一串连续的数字（如 123456、987654）。", "The new password may not contain a run of sequential digits (such as 123456 or 987654)."},
		[3]string{"identity.password.common", "这是最常见的密码之一，别人一猜就中，请换一个。", "This is one of the most common passwords, the first anyone would guess; choose another."},
	)
}

// commonPasswords is a short list of the passwords people choose most,
// written for campusnet from general knowledge of published leak
// rankings (the global favourites and the Chinese ones: 123456, 5201314,
// woaini1314, qq123456, …), one per line, lower case.
//
//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
}()

// PersonFacts are what CheckNewPassword knows of the person.
type PersonFacts struct {
	// User is the user name: the student or staff number.
	User string
	// Document is the stored DocumentFacts string ("" when the account
	// has no document on record: the document rules are then skipped).
	Document string
}

// Digit runs this long or longer break RuleRepeated and RuleSequential.
const minDigitRun = 6

// CheckNewPassword applies the rules a chosen password must keep beyond
// its length: it may not contain the document number's last six or eight
// characters, the student number, the id card's birth date, a run of six
// or more of one repeated digit or of sequential digits (up or down), and
// may not be on the embedded list of common passwords. The error is a
// *RuleError naming the first rule broken, or nil.
func CheckNewPassword(pw string, f PersonFacts) error {
	up := strings.ToUpper(pw)
	low := strings.ToLower(pw)
	if f.Document != "" {
		if containsHashed(up, f.User, "t6", 6, f.Document) || containsHashed(up, f.User, "t8", 8, f.Document) {
			return &RuleError{RuleDocumentTail}
		}
		if containsHashed(up, f.User, "b", 8, f.Document) {
			return &RuleError{RuleBirthDate}
		}
	}
	if len(f.User) >= 4 && strings.Contains(low, strings.ToLower(f.User)) {
		return &RuleError{RuleStudentNumber}
	}
	if rule := digitRun(pw); rule != "" {
		return &RuleError{rule}
	}
	if commonPasswords[low] {
		return &RuleError{RuleCommon}
	}
	return nil
}

// digitRun finds a run of minDigitRun digits that are all the same or
// each one more (or one less) than the one before.
func digitRun(pw string) string {
	same, up, down := 1, 1, 1
	for i := 1; i < len(pw); i++ {
		a, b := pw[i-1], pw[i]
		if a < '0' || a > '9' || b < '0' || b > '9' {
			same, up, down = 1, 1, 1
			continue
		}
		same, up, down = step(same, b == a), step(up, b == a+1), step(down, b+1 == a)
		switch {
		case same >= minDigitRun:
			return RuleRepeated
		case up >= minDigitRun, down >= minDigitRun:
			return RuleSequential
		}
	}
	return ""
}

func step(n int, ok bool) int {
	if ok {
		return n + 1
	}
	return 1
}

// DocumentFacts is what the store keeps so that CheckNewPassword can
// apply the document rules at any later change: salted SHA-256 hashes of
// the number's last six ("t6"; for a number ending in X also the six
// before the X, the initial password) and last eight ("t8") characters and of
// the id card's yyyymmdd birth date ("b", when birth is not empty), salted
// with the user name, as "t6:HEX t8:HEX b:HEX". Neither the number nor the
// date is kept in clear. These hashes keep the values from a reader of the
// table, not from someone who holds the database and tries every date or
// every six digits: such a person can already do so against the initial
// password's hash, and the tail is what everybody's initial password is.
func DocumentFacts(user, number, birth string) string {
	number = strings.ToUpper(number)
	var parts []string
	if len(number) >= 6 {
		parts = append(parts, "t6:"+factHash(user, "t6", number[len(number)-6:]))
	}
	if strings.HasSuffix(number, "X") && len(number) >= 7 {
		// The six before the X: the initial password of the WHUT rule.
		parts = append(parts, "t6:"+factHash(user, "t6", number[len(number)-7:len(number)-1]))
	}
	if len(number) >= 8 {
		parts = append(parts, "t8:"+factHash(user, "t8", number[len(number)-8:]))
	}
	if birth != "" {
		parts = append(parts, "b:"+factHash(user, "b", birth))
	}
	return strings.Join(parts, " ")
}

func factHash(user, kind, value string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("campusnet password fact v1\x00%s\x00%s\x00%s", user, kind, value)))
	return hex.EncodeToString(sum[:])
}

// containsHashed reports whether any n-character window of pw hashes to
// a fact of that kind in facts.
func containsHashed(pw, user, kind string, n int, facts string) bool {
	want := map[string]bool{}
	for _, p := range strings.Fields(facts) {
		if v, ok := strings.CutPrefix(p, kind+":"); ok {
			want[v] = true
		}
	}
	for i := 0; len(want) > 0 && i+n <= len(pw); i++ {
		if want[factHash(user, kind, pw[i:i+n])] {
			return true
		}
	}
	return false
}

// FactsHaveTail reports whether facts (DocumentFacts of user) record a
// document number whose last six characters are tail: the NOC search's
// way to find people imported before accounts.doc_tail was kept.
func FactsHaveTail(user, facts, tail string) bool {
	tail = strings.ToUpper(strings.TrimSpace(tail))
	return len(tail) == 6 && containsHashed(tail, user, "t6", 6, facts)
}
