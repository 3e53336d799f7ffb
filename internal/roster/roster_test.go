package roster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

func TestInitialPassword(t *testing.T) {
	tests := []struct{ name, id, mode, want string }{
		{"digits", "420102200001011234", "drop", "011234"},
		{"x dropped", "42010220000101123X", "drop", "101123"},
		{"x kept", "42010220000101123x", "keep", "01123X"},
		{"x zero", "42010220000101123X", "zero", "011230"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InitialPassword(tt.id, tt.mode); got != tt.want {
				t.Fatalf("InitialPassword(%s, %s) = %s, want %s", tt.id, tt.mode, got, tt.want)
			}
		})
	}
}

func TestIDCardChecksum(t *testing.T) {
	good := CompleteIDCard("42010220000101123")
	if !IDCardChecksumOK(good) {
		t.Fatalf("%s: checksum refused", good)
	}
	bad := good[:16] + string('0'+(good[16]-'0'+1)%10) + good[17:]
	for _, s := range []string{bad, good[:17], "4201022000010112" + "AX"} {
		if IDCardChecksumOK(s) {
			t.Errorf("%s: checksum accepted", s)
		}
	}
}

// TestParsePeople: every bad row is reported with its line and why; the
// header, a BOM and empty lines are skipped; roles are normalised.
func TestParsePeople(t *testing.T) {
	text := "\xef\xbb\xbfid,name,idcard,phone,role\n" +
		"2026001,张三," + CompleteIDCard("42010220000101001") + ",13800000001,学生\n" + // line 2
		"\n" +
		"2026002,李四," + CompleteIDCard("42010220000101002") + ",,教工\n" + // line 4
		"2026003,王五,12345,,student\n" + // line 5: short id-card number
		"2026001,重复," + CompleteIDCard("42010220000101003") + ",,\n" + // line 6: duplicate
		"bad id,坏," + CompleteIDCard("42010220000101004") + ",,\n" + // line 7
		"2026005,坏," + CompleteIDCard("42010220000101005")[:17] + "0,,\n" + // line 8: checksum (unless 0 is right)
		"2026006,坏," + CompleteIDCard("42010220000101006") + ",phone,\n" + // line 9
		"2026007,坏," + CompleteIDCard("42010220000101007") + ",,dean\n" + // line 10
		"2026008,only two\n" + // line 11
		"2026009,\"unterminated\n" // line 12
	p, err := ParsePeople(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 2 || p.Rows[0].Role != access.RoleStudent || p.Rows[1].Role != access.RoleStaff || p.Rows[1].Line != 4 {
		t.Fatalf("good rows: %+v", p.Rows)
	}
	var got []string
	for _, b := range p.Bad {
		got = append(got, b.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"line 5: id-card number must be", "line 6: id 2026001 already appears on line 2", "line 7: id \"bad id\"",
		"line 9: phone", "line 10: role \"dean\"", "line 11: want 5 columns", "line 12: not valid CSV"} {
		if !strings.Contains(all, want) {
			t.Errorf("bad rows lack %q:\n%s", want, all)
		}
	}
	if CompleteIDCard("42010220000101005")[17] != '0' && !strings.Contains(all, "line 8: id-card number checksum is wrong") {
		t.Errorf("bad rows lack the checksum:\n%s", all)
	}
}

// TestPlanPeopleThenImport: the dry run changes nothing and counts what the
// import then does; new people get the initial password, a re-import keeps
// a changed password.
func TestPlanPeopleThenImport(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, _, err := st.EnsureAccount(ctx, access.Account{Username: "2026001", Name: "旧名", Role: access.RoleStudent}); err != nil {
			t.Fatal(err)
		}
		text := "2026001,张三," + CompleteIDCard("42010220000101001") + ",,\n" +
			"2026002,李四," + CompleteIDCard("42010220000101002") + ",,\n" +
			"2026003,王五,44030520050600011X,,\n" + // ends in X
			"bad,坏,1,,\n"
		p, err := ParsePeople(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		plan, err := PlanPeople(ctx, st, p)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Created != 2 || plan.Updated != 1 || plan.Unchanged != 0 || len(plan.Bad) != 1 || plan.Rows != 4 {
			t.Fatalf("plan: %+v", plan)
		}
		if _, err := st.AccountByUsername(ctx, "2026002"); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("the dry run created an account: %v", err)
		}
		if a, err := st.AccountByUsername(ctx, "2026001"); err != nil || a.Name != "旧名" {
			t.Fatalf("the dry run changed an account: %+v %v", a, err)
		}
		rep, err := ImportPeople(ctx, st, p, Options{TrailingX: TrailingXDrop, Workers: 2, Params: identity.InitialParams})
		if err != nil {
			t.Fatal(err)
		}
		if rep.ImportResult != plan.ImportResult {
			t.Fatalf("import %+v, plan said %+v", rep.ImportResult, plan.ImportResult)
		}
		a, err := st.AccountByUsername(ctx, "2026003")
		if err != nil || !a.MustChange {
			t.Fatalf("imported account: %+v %v", a, err)
		}
		if ok, err := identity.VerifyPassword(a.PasswordHash, "600011"); err != nil || !ok {
			t.Fatalf("initial password: %v %v", ok, err)
		}
		if err := st.SetPasswordHash(ctx, "2026003", "mine", false); err != nil {
			t.Fatal(err)
		}
		again, err := PlanPeople(ctx, st, p)
		if err != nil || again.Created != 0 || again.Updated != 0 || again.Unchanged != 3 {
			t.Fatalf("second plan: %+v %v", again, err)
		}
		if _, err := ImportPeople(ctx, st, p, Options{Params: identity.InitialParams}); err != nil {
			t.Fatal(err)
		}
		if a, err := st.AccountByUsername(ctx, "2026003"); err != nil || a.PasswordHash != "mine" {
			t.Fatalf("re-import reset a changed password: %+v %v", a, err)
		}
	})
}

// TestDisableMissingGuards: never with bad rows, never more than half of
// the roles' enabled accounts unless forced, never another role.
func TestDisableMissingGuards(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	var all strings.Builder
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&all, "2026%03d,学生%d,%s,,\n", i, i, CompleteIDCard(fmt.Sprintf("42010220000101%03d", i)))
	}
	p, err := ParsePeople(strings.NewReader(all.String()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ImportPeople(ctx, st, p, Options{Params: identity.InitialParams}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.EnsureAccount(ctx, access.Account{Username: "noc-op", Role: access.RoleOperator}); err != nil {
		t.Fatal(err)
	}
	parse := func(text string) Report {
		t.Helper()
		p, err := ParsePeople(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := PlanPeople(ctx, st, p)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	lines := strings.SplitAfter(all.String(), "\n")
	if _, err := DisableMissing(ctx, st, parse(lines[0]+"x,y,1,,\n"), "op", "left", true, nil); !errors.Is(err, ErrBadRows) {
		t.Fatalf("with a bad row: %v", err)
	}
	var tm *TooManyMissing
	if _, err := DisableMissing(ctx, st, parse(lines[0]), "op", "left", false, nil); !errors.As(err, &tm) || tm.Missing != 3 || tm.Enabled != 4 {
		t.Fatalf("3 of 4 missing: %v", err)
	}
	var gone []string
	n, err := DisableMissing(ctx, st, parse(lines[0]+lines[1]), "op", "left", false, func(m Missing) { gone = append(gone, m.User) })
	if err != nil || n != 2 || strings.Join(gone, ",") != "2026002,2026003" {
		t.Fatalf("2 of 4 missing: %d %v %v", n, gone, err)
	}
	if a, err := st.AccountByUsername(ctx, "noc-op"); err != nil || a.Disabled {
		t.Fatalf("the operator: %+v %v", a, err)
	}
	if a, err := st.AccountByUsername(ctx, "2026003"); err != nil || !a.Disabled || a.DisabledReason != "left" {
		t.Fatalf("a graduate: %+v %v", a, err)
	}
}

// TestImportDevicesDryRun: the dry run stores nothing and reports the
// conflicts the import then meets.
func TestImportDevicesDryRun(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var ids []int64
		for _, u := range []string{"lab", "other"} {
			a, _, err := st.EnsureAccount(ctx, access.Account{Username: u})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
		}
		if _, err := st.BindDevice(ctx, ids[1], "02:00:00:00:00:09", access.ClassPC, "op", "", 0); err != nil {
			t.Fatal(err)
		}
		text := "account,mac,class\nlab,02-00-00-00-00-01,pc\nlab,02:00:00:00:00:09,pc\nother,02:00:00:00:00:01,mobile\n" +
			"lab,zz,pc\nnobody,02:00:00:00:00:04,pc\n# comment\nlab,02:00:00:00:00:05,tv\n"
		dry, err := ImportDevices(ctx, st, strings.NewReader(text), "op", "fleet", true)
		if err != nil {
			t.Fatal(err)
		}
		lines := func(r DeviceReport) string {
			var s []string
			for _, b := range r.Bad {
				s = append(s, fmt.Sprint(b.Line))
			}
			return strings.Join(s, ",")
		}
		if dry.Bound != 1 || lines(dry) != "3,4,5,6,8" {
			t.Fatalf("dry run: %+v", dry)
		}
		if devs, err := st.DevicesByAccount(ctx, ids[0]); err != nil || len(devs) != 0 {
			t.Fatalf("the dry run bound %+v %v", devs, err)
		}
		rep, err := ImportDevices(ctx, st, strings.NewReader(text), "op", "fleet", false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Bound != dry.Bound || lines(rep) != lines(dry) {
			t.Fatalf("import %+v, dry run said %+v", rep, dry)
		}
		if d, err := st.BoundDeviceByMAC(ctx, "02:00:00:00:00:01"); err != nil || d.AccountID != ids[0] || d.BoundBy != "op" {
			t.Fatalf("bound: %+v %v", d, err)
		}
	})
}

func TestCheckText(t *testing.T) {
	for _, tt := range []struct {
		name, text, want string
	}{
		{"ok", "\xef\xbb\xbfid,name\r\n2026001,张三\t\n", ""},
		{"nul", "id\n2026001,\x00\n", "line 2: a NUL byte"},
		{"gbk", "id\n\xd5\xc5\xc8\xfd\n", "line 2: not UTF-8"},
		{"control", "id\x1b[2J\n", "line 1: control character U+001B"},
		{"empty", " \n\n", "empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckText([]byte(tt.text))
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("CheckText: %v, want %q", err, tt.want)
			}
		})
	}
}
