package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestUsersImportDocumentsAndAdd: `users import` of a class with a
// passport holder, a residence-permit holder, an X id card and a
// duplicate id number creates three accounts and reports one bad row
// naming both lines; `users add` creates one more person the same way,
// audited, and refuses a taken user name, a taken document and a bad
// number, creating nothing.
func TestUsersImportDocumentsAndAdd(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { testUsersImportDocumentsAndAdd(t, kind) })
	}
}

func testUsersImportDocumentsAndAdd(t *testing.T, kind string) {
	c := newCLIEnv(t, kind, nil)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "class.csv")
	csv := "学号,姓名,证件号码,电话,角色,证件类型\n" +
		"2026101,John Smith,E12345678,,student,护照\n" +
		"2026102,陈大文,810000199001000005,,学生,港澳台居民居住证\n" +
		"2026103,张三,44030520050609112X,,,\n" +
		"2026104,李四,44030520050609112X,,,id_card\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := c.run("users", "import", file, "--quiet")
	if code != 1 || !strings.Contains(out, "3 created") || !strings.Contains(out, "1 bad rows") ||
		!strings.Contains(out, "line 5: document number of 2026104 is also on line 4 (2026103)") {
		t.Fatalf("import: %d\n%s", code, out)
	}
	local := identity.NewLocal(identity.FromAccounts(c.st), identity.InitialParams, nil)
	for user, pw := range map[string]string{"2026101": "345678", "2026102": "000005", "2026103": "609112"} {
		if p, err := local.Authenticate(ctx, user, pw); err != nil || !p.MustChange {
			t.Fatalf("%s with %s: %+v %v", user, pw, p, err)
		}
	}

	if code, out := c.run("users", "add", "2026201", "--name", "Anna Müller", "--id-type", "passport", "--id-number", "c01x00t47", "--reason", "exchange student, passport checked", "--actor", "desk1"); code != 0 || !strings.Contains(out, "created 2026201") || strings.Contains(out, "X00T47") {
		t.Fatalf("users add: %d\n%s", code, out)
	}
	if p, err := local.Authenticate(ctx, "2026201", "X00T47"); err != nil || !p.MustChange {
		t.Fatalf("the added person's initial password: %+v %v", p, err)
	}
	log, err := c.st.AuditLog(ctx, "2026201", 1)
	if err != nil || len(log) != 1 || log[0].Action != "account.add" || log[0].Actor != "desk1" || strings.Contains(log[0].Detail, "C01X00T47") {
		t.Fatalf("audit: %+v %v", log, err)
	}
	refused := []struct {
		args []string
		want string
	}{
		{[]string{"2026201", "--name", "x", "--id-type", "passport", "--id-number", "G99999999"}, "already exists"},
		{[]string{"2026202", "--name", "x", "--id-number", "44030520050609112X"}, "belongs to account 2026103"},
		{[]string{"2026203", "--name", "x", "--id-type", "passport", "--id-number", "c01x00t47"}, "belongs to account 2026201"},
		{[]string{"2026204", "--name", "x", "--id-number", "440305200506091120"}, "checksum"},
		{[]string{"2026205", "--name", "x", "--id-type", "驾驶证", "--id-number", "123456"}, "document type"},
		{[]string{"2026206", "--name", "x\x00y", "--id-number", "44030520050600011X"}, "control characters"},
	}
	for _, r := range refused {
		code, out := c.run(append([]string{"users", "add"}, append(r.args, "--reason", "desk")...)...)
		if code == 0 || !strings.Contains(out, r.want) {
			t.Errorf("users add %v: %d, want a refusal saying %q\n%s", r.args, code, r.want, out)
		}
		if _, err := c.st.AccountByUsername(ctx, r.args[0]); r.args[0] != "2026201" && err == nil {
			t.Errorf("users add %v created the account", r.args)
		}
	}
	if code, out := c.run("users", "add", "2026207", "--name", "x", "--id-number", "44030520050600011X"); code != 2 || !strings.Contains(out, "--reason is required") {
		t.Fatalf("without a reason: %d\n%s", code, out)
	}
}
