package main

import (
	"context"
	"os"
	osuser "os/user"
	"strconv"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
)

// TestDefaultActor: without --actor the operator is $SUDO_USER, then $USER,
// then the login name of the process's user; never a bare "cli".
func TestDefaultActor(t *testing.T) {
	login := strconv.Itoa(os.Getuid())
	if u, err := osuser.Current(); err == nil && u.Username != "" {
		login = u.Username
	}
	for _, tt := range []struct {
		name, sudo, user, want string
	}{
		{"sudo", "alice", "root", "alice"},
		{"user", "", "bob", "bob"},
		{"blank user", "", "  ", login},
		{"neither", "", "", login},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SUDO_USER", tt.sudo)
			t.Setenv("USER", tt.user)
			if tt.sudo == "" {
				os.Unsetenv("SUDO_USER")
			}
			if tt.user == "" {
				os.Unsetenv("USER")
			}
			if got := defaultActor(); got != tt.want || got == "cli" || got == "" {
				t.Fatalf("defaultActor() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCommandAuditsTheOperator: a real command run without --actor writes
// its audit row under the operator's login name.
func TestCommandAuditsTheOperator(t *testing.T) {
	login := strconv.Itoa(os.Getuid())
	if u, err := osuser.Current(); err == nil && u.Username != "" {
		login = u.Username
	}
	for _, tt := range []struct {
		name, sudo, user, want string
	}{
		{"sudo", "carol", "root", "carol"},
		{"unset", "", "", login},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SUDO_USER", tt.sudo)
			t.Setenv("USER", tt.user)
			if tt.sudo == "" {
				os.Unsetenv("SUDO_USER")
				os.Unsetenv("USER")
			}
			c := newCLIEnv(t, "sqlite", nil)
			ctx := context.Background()
			if _, _, err := c.st.EnsureAccount(ctx, access.Account{Username: "2020002"}); err != nil {
				t.Fatal(err)
			}
			if code, out := c.run("account", "disable", "2020002", "--reason", "left"); code != 0 {
				t.Fatalf("disable: %d\n%s", code, out)
			}
			log, err := c.st.AuditLog(ctx, "2020002", 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(log) != 1 || log[0].Actor != tt.want {
				t.Fatalf("audit actor: %+v, want %q", log, tt.want)
			}
		})
	}
}
