package access

import (
	"strings"
	"testing"
	"time"
	"unicode"
)

func hasHanText(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

// Pages speak one language: every refusal and every explained code has a
// Chinese text with no English sentence and an English text with no Han,
// while Message and Fix (RADIUS) keep both.
func TestRefusalOneLanguageEach(t *testing.T) {
	d := OnlineDevice{MAC: "aa:bb:cc:dd:ee:ff", IP: "10.1.2.3", Since: time.Now()}
	for _, r := range []Refusal{RefuseBadCredentials(), RefuseMACNotBound("aa:bb:cc:dd:ee:ff"), RefuseDisabled(""), RefuseRole("dorm", RoleStaff),
		RefuseArrears(1000, 2000, "https://pay.example.edu/"), RefuseDeviceLimit(ClassPC, 1, d), RefuseDeviceLimit(ClassMobile, 1, d),
		RefuseMustChange(), RefusePasswordExpired(), RefuseOnlineAsAnother()} {
		mzh, fzh := r.Text(false)
		men, fen := r.Text(true)
		if !hasHanText(mzh) || !hasHanText(fzh) || strings.Contains(mzh, " / ") || strings.Contains(fzh, " / ") {
			t.Errorf("%s: Chinese texts %q, %q", r.Code, mzh, fzh)
		}
		if hasHanText(men) || hasHanText(fen) || men == "" || fen == "" {
			t.Errorf("%s: English texts %q, %q", r.Code, men, fen)
		}
		if !strings.Contains(r.Message, mzh) || !strings.Contains(r.Message, men) {
			t.Errorf("%s: Message %q lost a language", r.Code, r.Message)
		}
		// A refusal relayed from the authentication log has only Message.
		rmzh, _ := Refusal{Message: r.Message}.Text(false)
		rmen, _ := Refusal{Message: r.Message}.Text(true)
		if rmzh != mzh || rmen != men {
			t.Errorf("%s: split %q into %q / %q, want %q / %q", r.Code, r.Message, rmzh, rmen, mzh, men)
		}
	}
	for _, c := range []Reason{ReasonBadCredentials, ReasonMACNotBound, ReasonAccountDisabled, ReasonRoleNotAllowed, ReasonArrears,
		ReasonDeviceLimitPC, ReasonDeviceLimitMobile, ReasonMustChangePassword, ReasonPasswordExpired, ReasonIdentityDown,
		ReasonBASTimeout, ReasonAlreadyOnline, ReasonRateLimited, ReasonBusy} {
		zh, en := ExplainText(c)
		if !hasHanText(zh) || hasHanText(en) || en == "" {
			t.Errorf("ExplainText(%s) = %q, %q", c, zh, en)
		}
	}
	// The page asks for the node number and names the wait itself, once.
	if zh, en := ExplainText(ReasonBASTimeout); strings.Contains(zh, "网络信息中心-X") || strings.Contains(en, "number X") {
		t.Errorf("BAS timeout fix asks for the node: %q %q", zh, en)
	}
	if _, en := ExplainText(ReasonRateLimited); strings.Contains(en, "few minutes") {
		t.Errorf("rate-limit fix names a second wait: %q", en)
	}
	if zh, en := ForgotPasswordFixText(false, ""); strings.Contains(zh, "（") || strings.Contains(en, "(") {
		t.Errorf("no help desk: %q %q", zh, en)
	}
}

func TestSplitBilingualKeepsUnsplittable(t *testing.T) {
	for _, s := range []string{"ARREARS", "a / b", "只有中文"} {
		if zh, en := SplitBilingual(s); zh != s || en != s {
			t.Errorf("SplitBilingual(%q) = %q, %q", s, zh, en)
		}
	}
}
