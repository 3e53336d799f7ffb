package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/roster"
	"github.com/campusnet/campusnet/internal/storetest"
)

func TestUsersImportBadRowsAndIdempotent(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			dsn := storetest.DSN(t, kind)
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "c.toml")
			if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("[server]\ndatabase = %q\n", dsn)), 0o600); err != nil {
				t.Fatal(err)
			}
			var csv strings.Builder
			csv.WriteString("id,name,idcard,phone,role\n")
			good := 0
			for i := 0; i < 20; i++ {
				fmt.Fprintf(&csv, "2026%04d,学生%d,%s,1380000%04d,student\n", i, i, roster.CompleteIDCard(fmt.Sprintf("4201022000010%04d", i)), i)
				good++
				if i == 5 {
					csv.WriteString("2026bad1,坏行,12345,,student\n") // line 8: id-card too short
				}
				if i == 10 {
					csv.WriteString("20260003,重复,420102200001010003,,student\n") // line 14: duplicate id
				}
				if i == 15 {
					csv.WriteString(",无学号," + roster.CompleteIDCard("42010220000109999") + ",,student\n") // line 20: empty id
				}
			}
			file := filepath.Join(dir, "students.csv")
			if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{"migrate", "--config", cfgPath}, &out, &errb); code != 0 {
				t.Fatalf("migrate: %d %s", code, errb.String())
			}
			out.Reset()
			code := run(context.Background(), []string{"users", "import", file, "--config", cfgPath, "--quiet"}, &out, &errb)
			if code != 1 {
				t.Fatalf("import with bad rows: exit %d, want 1; %s %s", code, out.String(), errb.String())
			}
			o := out.String()
			for _, want := range []string{"line 8:", "line 14:", "line 20:", fmt.Sprintf("%d created", good), "3 bad rows"} {
				if !strings.Contains(o, want) {
					t.Errorf("output lacks %q:\n%s", want, o)
				}
			}
			// The good rows are in, with the initial password and must-change.
			st := storetest.Open(t, dsn)
			a, err := st.AccountByUsername(context.Background(), "20260007")
			if err != nil || !a.MustChange {
				t.Fatalf("imported account: %+v %v", a, err)
			}
			if ok, err := identity.VerifyPassword(a.PasswordHash, roster.InitialPassword(roster.CompleteIDCard("42010220000100007"), "drop")); err != nil || !ok {
				t.Fatalf("initial password is not the last six of the id-card number")
			}
			// The person changes the password; a second import changes nothing.
			if err := st.SetPasswordHash(context.Background(), "20260007", "mine", false); err != nil {
				t.Fatal(err)
			}
			out.Reset()
			run(context.Background(), []string{"users", "import", "--quiet", "--config", cfgPath, file}, &out, &errb)
			if !strings.Contains(out.String(), "0 created, 0 updated, 20 unchanged") {
				t.Fatalf("second import changed something: %s", out.String())
			}
			a, err = st.AccountByUsername(context.Background(), "20260007")
			if err != nil {
				t.Fatal(err)
			}
			if a.PasswordHash != "mine" {
				t.Fatalf("re-import reset a changed password")
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name string
		args []string
		pos  string
		rsn  string
	}{
		{"flag after", []string{"u1", "12.50", "--reason", "cash"}, "u1 12.50", "cash"},
		{"flag before", []string{"--reason=cash", "u1", "-5"}, "u1 -5", "cash"},
		{"negative between", []string{"u1", "-5.00", "--reason", "x y"}, "u1 -5.00", "x y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlagSet()
			reason := fs.String("reason", "", "")
			pos, err := parseInterspersed(fs, tt.args)
			if err != nil || strings.Join(pos, " ") != tt.pos || *reason != tt.rsn {
				t.Fatalf("got %q %q %v", pos, *reason, err)
			}
		})
	}
}

// TestUsersImportDisableMissing: with --disable-missing, the accounts of
// the file's roles that it no longer lists (a graduated year) are disabled
// with a reason; other roles are left alone; a file with bad rows or one
// that would disable more than half of those roles disables nobody.
func TestUsersImportDisableMissing(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, "sqlite")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("[server]\ndatabase = %q\n", dsn)), 0o600); err != nil {
		t.Fatal(err)
	}
	roster := func(name string, from, to int, extra string) string {
		var b strings.Builder
		b.WriteString("id,name,idcard,phone,role\n")
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "2026%04d,学生%d,%s,,student\n", i, i, roster.CompleteIDCard(fmt.Sprintf("4201022000010%04d", i)))
		}
		b.WriteString(extra)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cli := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		args = append(args, "--config", cfgPath)
		if args[0] == "users" {
			args = append(args, "--quiet")
		}
		code := run(context.Background(), args, &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := cli("migrate"); code != 0 {
		t.Fatalf("migrate: %s", out)
	}
	if code, out := cli("users", "import", roster("2025.csv", 0, 10, "")); code != 0 {
		t.Fatalf("first roster: %s", out)
	}
	st := storetest.Open(t, dsn)
	ctx := context.Background()
	if _, _, err := st.EnsureAccount(ctx, access.Account{Username: "noc-op", Role: "operator"}); err != nil {
		t.Fatal(err)
	}
	disabled := func() []string {
		var out []string
		for i := 0; i < 10; i++ {
			a, err := st.AccountByUsername(ctx, fmt.Sprintf("2026%04d", i))
			if err != nil {
				t.Fatal(err)
			}
			if a.Disabled {
				out = append(out, a.Username+":"+a.DisabledReason)
			}
		}
		a, err := st.AccountByUsername(ctx, "noc-op")
		if err != nil {
			t.Fatal(err)
		}
		if a.Disabled {
			out = append(out, "noc-op")
		}
		return out
	}
	// A file with a bad row disables nobody.
	code, out := cli("users", "import", roster("bad.csv", 3, 10, "2026bad,坏行,123,,student\n"), "--disable-missing")
	if code != 1 || !strings.Contains(out, "nobody disabled") || len(disabled()) != 0 {
		t.Fatalf("with a bad row: %d %v\n%s", code, disabled(), out)
	}
	// One year's file is not the roster: 8 of 10 missing.
	code, out = cli("users", "import", roster("freshmen.csv", 8, 10, ""), "--disable-missing")
	if code != 1 || !strings.Contains(out, "more than half") || len(disabled()) != 0 {
		t.Fatalf("most missing: %d %v\n%s", code, disabled(), out)
	}
	// Three graduated: disabled, with the default reason; the operator is not a student.
	code, out = cli("users", "import", roster("2026.csv", 3, 10, ""), "--disable-missing", "--actor", "desk1")
	want := []string{"20260000:not in the roster 2026.csv", "20260001:not in the roster 2026.csv", "20260002:not in the roster 2026.csv"}
	if code != 0 || strings.Join(disabled(), ",") != strings.Join(want, ",") || !strings.Contains(out, "disabled 3 accounts") {
		t.Fatalf("graduates: %d %v\n%s", code, disabled(), out)
	}
	if log, err := st.AuditLog(ctx, "20260000", 1); err != nil || len(log) != 1 || log[0].Action != "account.disable" || log[0].Actor != "desk1" {
		t.Fatalf("audit: %+v", log)
	}
	// Again: nothing more to do.
	if code, out = cli("users", "import", roster("2026.csv", 3, 10, ""), "--disable-missing"); code != 0 || !strings.Contains(out, "disabled 0 accounts") {
		t.Fatalf("repeated: %d\n%s", code, out)
	}
	// A year later three more leave: 3 of the 7 enabled, though with the
	// earlier graduates 6 of the 10 are not listed.
	code, out = cli("users", "import", roster("2027.csv", 6, 10, ""), "--disable-missing")
	if code != 0 || !strings.Contains(out, "disabled 3 accounts") || len(disabled()) != 6 {
		t.Fatalf("the next year: %d %v\n%s", code, disabled(), out)
	}
}
