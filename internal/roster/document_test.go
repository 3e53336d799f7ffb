package roster

import (
	"context"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestCheckDocument: each document type by its own rule; the GB 11643
// check only for id cards and residence permits.
func TestCheckDocument(t *testing.T) {
	good := []struct {
		t      DocType
		number string
		pw     string
	}{
		{DocIDCard, "44030520050609112X", "609112"},
		{DocIDCard, "440305200506091", "506091"},
		{DocResidence, "810000199001000005", "000005"},
		{DocPassport, "e12345678", "345678"},
		{DocPassport, "K1234", "K1234"},
		{DocHKMacauPermit, "H12345678", "345678"},
		{DocHKMacauPermit, "M1234567890", "567890"},
		{DocTaiwanPermit, "12345678", "345678"},
		{DocTaiwanPermit, "1234567890", "567890"},
		{DocOther, "ab12cd34ef", "CD34EF"},
	}
	for _, g := range good {
		n, err := CheckDocument(g.t, g.number)
		if err != nil {
			t.Errorf("%s %s: %v", g.t, g.number, err)
			continue
		}
		if pw := DocumentInitialPassword(g.t, n, TrailingXDrop); pw != g.pw {
			t.Errorf("%s %s: initial password %s, want %s", g.t, g.number, pw, g.pw)
		}
	}
	bad := []struct {
		t      DocType
		number string
		why    string
	}{
		{DocIDCard, "440305200506091120", "checksum"},
		{DocResidence, "440305200506091120", "81, 82 or 83"},
		{DocResidence, "810000199001000006", "checksum"},
		{DocPassport, "E1234-5678", "letters and digits"},
		{DocPassport, "E12", "5 to 20"},
		{DocHKMacauPermit, "C12345678", "H or M"},
		{DocTaiwanPermit, "1234567", "8 digits"},
		{DocOther, "ab\x00cd", "letters and digits"},
		{DocPassport, "", "empty"},
	}
	for _, b := range bad {
		if _, err := CheckDocument(b.t, b.number); err == nil || !strings.Contains(err.Error(), b.why) {
			t.Errorf("%s %q: %v, want an error saying %q", b.t, b.number, err, b.why)
		}
	}
	for _, s := range []string{"护照", "Passport", "港澳台居民居住证", "台湾居民来往大陆通行证", "港澳居民来往内地通行证", "其他", ""} {
		if _, err := ParseDocType(s); err != nil {
			t.Errorf("ParseDocType(%q): %v", s, err)
		}
	}
	if _, err := ParseDocType("驾驶证"); err == nil {
		t.Error("an unknown document type was accepted")
	}
}

// TestImportClassWithDocuments: a class with a passport holder, a
// residence-permit holder, an X id card and a duplicate id number gives
// the right accounts and one bad row naming both lines; a later import of
// the same document for another id is a bad row naming the account; an
// old five-column file still imports.
func TestImportClassWithDocuments(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		text := "id,name,number,phone,role,document type\n" +
			"2026101,John Smith,E12345678,,student,passport\n" + // line 2
			"2026102,陈大文,810000199001000005,,学生,港澳台居民居住证\n" + // line 3
			"2026103,张三,44030520050609112X,,,居民身份证\n" + // line 4
			"2026104,李四,44030520050609112x,,,\n" // line 5: the same id card
		p, err := ParsePeople(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Bad) != 1 || p.Bad[0].Line != 5 || !strings.Contains(p.Bad[0].Reason, "line 4") || !strings.Contains(p.Bad[0].Reason, "2026103") {
			t.Fatalf("bad rows: %v", p.Bad)
		}
		rep, err := ImportPeople(ctx, st, p, Options{TrailingX: TrailingXDrop, Workers: 2, Params: identity.InitialParams})
		if err != nil || rep.Created != 3 {
			t.Fatalf("import: %+v %v", rep, err)
		}
		for user, pw := range map[string]string{"2026101": "345678", "2026102": "000005", "2026103": "609112"} {
			a, err := st.AccountByUsername(ctx, user)
			if err != nil || !a.MustChange || a.DocFacts == "" {
				t.Fatalf("%s: %+v %v", user, a, err)
			}
			if ok, _ := identity.VerifyPassword(a.PasswordHash, pw); !ok {
				t.Errorf("%s: initial password is not %s", user, pw)
			}
		}
		again, err := ParsePeople(strings.NewReader("2026199,王五,44030520050609112X,,\n2026101,John Smith,E12345678,,student,护照\n"))
		if err != nil {
			t.Fatal(err)
		}
		plan, err := PlanPeople(ctx, st, again)
		if err != nil || len(plan.Bad) != 1 || plan.Unchanged != 1 || !strings.Contains(plan.Bad[0].Reason, "account 2026103") {
			t.Fatalf("plan of a taken document: %+v %v", plan, err)
		}
		rep, err = ImportPeople(ctx, st, again, Options{Params: identity.InitialParams})
		if err != nil || rep.Created != 0 || len(rep.Bad) != 1 {
			t.Fatalf("import of a taken document: %+v %v", rep, err)
		}
		if _, err := st.AccountByUsername(ctx, "2026199"); err == nil {
			t.Fatal("a second account was opened with a taken document")
		}
	})
}
