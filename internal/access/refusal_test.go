package access

import (
	"strings"
	"testing"
	"time"
)

// TestExplainEveryRefusal: the pages that show an authentication-log row
// derive the fix from the code alone, so every refusal's code must explain
// to the same words the refusal itself gave — an expired directory password
// must not come back as the local initial-password advice.
func TestExplainEveryRefusal(t *testing.T) {
	for _, rf := range []Refusal{
		RefuseBadCredentials(),
		RefuseMACNotBound("00:10:a4:23:19:c0"),
		RefuseDisabled("graduated"),
		RefuseRole("visitor", "dorm"),
		RefuseArrears(1000, 2000, ""),
		RefuseDeviceLimit(ClassPC, 1, OnlineDevice{MAC: "00:10:a4:23:19:c0", IP: "10.1.2.3", Since: time.Now()}),
		RefuseDeviceLimit(ClassMobile, 2, OnlineDevice{}),
		RefuseMustChange(),
		RefusePasswordExpired(),
	} {
		if rf.Fix == "" || Explain(rf.Code) != rf.Fix {
			t.Errorf("%s: Explain gives %q, the refusal said %q", rf.Code, Explain(rf.Code), rf.Fix)
		}
	}
	if Explain(ReasonPasswordExpired) == Explain(ReasonMustChangePassword) ||
		strings.Contains(Explain(ReasonPasswordExpired), "身份证") {
		t.Errorf("an expired directory password is explained as the initial password: %q", Explain(ReasonPasswordExpired))
	}
}
