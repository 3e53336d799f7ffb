package identity

import (
	"context"
	"errors"
	"testing"

	"github.com/campusnet/campusnet/internal/i18n"
)

// TestCheckNewPassword: each rule refuses what it should, names itself,
// and lets a good password through.
func TestCheckNewPassword(t *testing.T) {
	facts := PersonFacts{User: "2026103", Document: DocumentFacts("2026103", "44030520050609112X", "20050609")}
	tests := []struct{ pw, rule string }{
		{"ab0609112Xcd", RuleDocumentTail}, // last eight
		{"my609112zz", RuleDocumentTail},   // the six before the X: the initial password
		{"my060911zz", ""},                 // six of the number, not a tail
		{"abc09112Xz", RuleDocumentTail},   // last six
		{"abc09112xz", RuleDocumentTail},   // lower-case x
		{"me20050609!", RuleBirthDate},
		{"pw2026103pw", RuleStudentNumber},
		{"zz111111zz", RuleRepeated},
		{"ab345678cd", RuleSequential},
		{"ab987654cd", RuleSequential},
		{"woaini1314", RuleCommon},
		{"WoAiNi520", RuleCommon},
		{"5201314a", RuleCommon},
		{"blue-kettle-17", ""},
		{"12a34b56c78", ""},
	}
	for _, tt := range tests {
		err := CheckNewPassword(tt.pw, facts)
		var re *RuleError
		switch {
		case tt.rule == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.pw, err)
		case tt.rule != "" && (!errors.As(err, &re) || re.Rule != tt.rule):
			t.Errorf("%s: %v, want rule %s", tt.pw, err, tt.rule)
		case tt.rule != "" && !errors.Is(err, ErrWeakPassword):
			t.Errorf("%s: %v does not wrap ErrWeakPassword", tt.pw, err)
		}
		if re != nil {
			if zh, en, ok := i18n.Texts(re.MessageID()); !ok || zh == "" || en == "" {
				t.Errorf("rule %s has no catalogue message", re.Rule)
			}
		}
	}
	if err := CheckNewPassword("ab0609112Xcd", PersonFacts{User: "2026103"}); err != nil {
		t.Errorf("no document on record, yet the document rule refused: %v", err)
	}
}

// TestChangePasswordKeepsTheRules: ChangePassword applies the rules with
// the stored document facts and leaves the password as it was.
func TestChangePasswordKeepsTheRules(t *testing.T) {
	st := newMemStore()
	st.add(t, "2026103", "609112", InitialParams, true, false)
	c := st.creds["2026103"]
	c.Document = DocumentFacts("2026103", "44030520050609112X", "20050609")
	st.creds["2026103"] = c
	l := NewLocal(st, InitialParams, testLogger(t))
	ctx := context.Background()
	var re *RuleError
	if err := l.ChangePassword(ctx, "2026103", "609112", "x0609112Xx"); !errors.As(err, &re) || re.Rule != RuleDocumentTail {
		t.Fatalf("tail of the id card: %v", err)
	}
	if err := l.ChangePassword(ctx, "2026103", "609112", "born20050609"); !errors.As(err, &re) || re.Rule != RuleBirthDate {
		t.Fatalf("birth date: %v", err)
	}
	if _, err := l.Authenticate(ctx, "2026103", "609112"); err != nil {
		t.Fatalf("a refused change changed the password: %v", err)
	}
	if err := l.ChangePassword(ctx, "2026103", "609112", "blue-kettle-17"); err != nil {
		t.Fatal(err)
	}
}
