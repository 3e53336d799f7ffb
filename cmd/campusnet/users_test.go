package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/storetest"
)

// idCard makes a valid 18-character id-card number from 17 digits.
func idCard(seventeen string) string {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(seventeen[i]-'0') * weights[i]
	}
	return seventeen + string("10X98765432"[sum%11])
}

func TestInitialPassword(t *testing.T) {
	tests := []struct{ name, id, mode, want string }{
		{"digits", "420102200001011234", "drop", "011234"},
		{"x dropped", "42010220000101123X", "drop", "101123"},
		{"x kept", "42010220000101123x", "keep", "01123X"},
		{"x zero", "42010220000101123X", "zero", "011230"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := initialPassword(tt.id, tt.mode); got != tt.want {
				t.Fatalf("initialPassword(%s, %s) = %s, want %s", tt.id, tt.mode, got, tt.want)
			}
		})
	}
}

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
				fmt.Fprintf(&csv, "2026%04d,学生%d,%s,1380000%04d,student\n", i, i, idCard(fmt.Sprintf("4201022000010%04d", i)), i)
				good++
				if i == 5 {
					csv.WriteString("2026bad1,坏行,12345,,student\n") // line 8: id-card too short
				}
				if i == 10 {
					csv.WriteString("20260003,重复,420102200001010003,,student\n") // line 14: duplicate id
				}
				if i == 15 {
					csv.WriteString(",无学号," + idCard("42010220000109999") + ",,student\n") // line 20: empty id
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
			if ok, _ := identity.VerifyPassword(a.PasswordHash, initialPassword(idCard("42010220000100007"), "drop")); !ok {
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
			a, _ = st.AccountByUsername(context.Background(), "20260007")
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
