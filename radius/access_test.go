package radius_test

import (
	"context"
	"crypto/md5"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/radius"
)

// chapResponse is MD5(ident ‖ secret ‖ challenge), what a BAS computes.
func chapResponse(ident byte, secret string, challenge []byte) []byte {
	h := md5.New()
	h.Write([]byte{ident})
	h.Write([]byte(secret))
	h.Write(challenge)
	return h.Sum(nil)
}

func TestAccessPolicy(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startEnv(t, kind)
			dorm := e.bas("dorm-bras-1")
			lab := e.bas("lab-ac")
			rich := e.account("2026001", "pass-one", access.RoleStudent, 5000)
			e.account("2026002", "pass-two", access.RoleStudent, 1000)
			e.account("2026003", "pass-three", access.RoleStudent, 5000)
			if err := e.st.SetDisabled(context.Background(), "op", "2026003", true, "欠费违规"); err != nil {
				t.Fatal(err)
			}
			fresh := e.account("2026004", "123456", access.RoleStudent, 5000)
			if err := e.st.SetPasswordHash(context.Background(), fresh.Username, mustHash(t, "123456"), true); err != nil {
				t.Fatal(err)
			}
			e.account("t001", "staff-pass", access.RoleStaff, 0)
			e.bind(rich, "00-10-A4-23-19-C0", access.ClassPC)

			tests := []struct {
				name       string
				b          *bas.BAS
				req        bas.AuthRequest
				accept     bool
				reason     access.Reason
				user       string   // the reply's User-Name on accept
				msgContain []string // in the Reply-Messages of a refusal
			}{
				{name: "pap identity", b: e.bas("office-ac"), req: bas.AuthRequest{UserName: "2026001", Password: "pass-one", MAC: "02:00:00:00:00:01", UserIP: addr("10.0.0.1")},
					accept: true, user: "2026001"},
				{name: "pap wrong password", b: dorm, req: bas.AuthRequest{UserName: "2026001", Password: "nope"},
					reason: access.ReasonBadCredentials, msgContain: []string{"用户名或密码错误", "Wrong user name or password"}},
				{name: "pap unknown user", b: dorm, req: bas.AuthRequest{UserName: "nobody", Password: "x"}, reason: access.ReasonBadCredentials},
				{name: "chap without token", b: dorm, req: bas.AuthRequest{UserName: "2026001", CHAPID: 7,
					CHAPPassword: chapResponse(7, "pass-one", []byte("0123456789abcdef")), CHAPChallenge: []byte("0123456789abcdef")},
					reason: access.ReasonBadCredentials},
				{name: "disabled", b: dorm, req: bas.AuthRequest{UserName: "2026003", Password: "pass-three"},
					reason: access.ReasonAccountDisabled, msgContain: []string{"账户已被停用（欠费违规）"}},
				{name: "must change initial password", b: dorm, req: bas.AuthRequest{UserName: "2026004", Password: "123456"},
					reason: access.ReasonMustChangePassword},
				{name: "arrears", b: dorm, req: bas.AuthRequest{UserName: "2026002", Password: "pass-two", MAC: "02:00:00:00:00:02"},
					reason: access.ReasonArrears, msgContain: []string{"余额 10.00 元", "不足本周期 20.00 元", "balance 10.00 yuan"}},
				{name: "arrears does not matter in a free area", b: e.bas("office-ac"), req: bas.AuthRequest{UserName: "2026002", Password: "pass-two"},
					accept: true, user: "2026002"},
				{name: "role not allowed", b: lab, req: bas.AuthRequest{UserName: "2026001", Password: "pass-one"},
					reason: access.ReasonRoleNotAllowed},
				{name: "role allowed", b: lab, req: bas.AuthRequest{UserName: "t001", Password: "staff-pass"}, accept: true, user: "t001"},
				{name: "mac auth dashes", b: dorm, req: bas.AuthRequest{UserName: "00-10-A4-23-19-C0", MAC: "00-10-A4-23-19-C0"},
					accept: true, user: "2026001"},
				{name: "mac auth h3c", b: dorm, req: bas.AuthRequest{UserName: "0010-a423-19c0", MAC: "0010-a423-19c0"},
					accept: true, user: "2026001"},
				{name: "mac auth colons", b: dorm, req: bas.AuthRequest{UserName: "00:10:a4:23:19:c0"}, accept: true, user: "2026001"},
				{name: "mac auth by calling-station-id", b: dorm, req: bas.AuthRequest{MAC: "00:10:A4:23:19:C0"}, accept: true, user: "2026001"},
				{name: "mac not bound", b: dorm, req: bas.AuthRequest{UserName: "00-10-A4-23-19-C1", MAC: "00-10-A4-23-19-C1"},
					reason: access.ReasonMACNotBound, msgContain: []string{"未绑定", "is not bound"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					res := mustAuth(t, tt.b, tt.req)
					if res.Accepted != tt.accept {
						t.Fatalf("accepted = %v, want %v (reply: %q)", res.Accepted, tt.accept, res.ReplyMessage)
					}
					if tt.accept {
						if res.UserName != tt.user {
							t.Errorf("User-Name = %q, want %q", res.UserName, tt.user)
						}
						if !strings.HasPrefix(string(res.Class), "cn:") {
							t.Errorf("Class = %q, want a session correlation", res.Class)
						}
						if res.InterimInterval != interim || res.SessionTimeout != 8*time.Hour {
							t.Errorf("interim %v, session timeout %v", res.InterimInterval, res.SessionTimeout)
						}
						return
					}
					if res.ReplyMessage == "" {
						t.Fatal("a refusal without Reply-Message")
					}
					first, _, _ := strings.Cut(res.ReplyMessage, "\n")
					if !hasHan(first) {
						t.Errorf("first Reply-Message %q is not Chinese", first)
					}
					for _, m := range tt.msgContain {
						if !strings.Contains(res.ReplyMessage, m) {
							t.Errorf("Reply-Message %q lacks %q", res.ReplyMessage, m)
						}
					}
				})
			}
			e.stop()
			// Every decision is in the authentication log, with its reason.
			for _, tt := range tests {
				user := tt.user
				if user == "" {
					user = tt.req.UserName
				}
				if user == "" || strings.Contains(user, "-") && !tt.accept {
					continue
				}
				found := false
				for _, l := range e.authLog(user) {
					want := "accept"
					if !tt.accept {
						want = "reject"
					}
					if l.Result == want && (tt.accept || l.Reason == tt.reason) {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: no authentication log entry for %s", tt.name, user)
				}
			}
		})
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

func mustHash(t testing.TB, pass string) string {
	t.Helper()
	h, err := identity.HashPassword(pass, identity.InitialParams)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestTokenLogin(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startEnv(t, kind)
			dorm := e.bas("dorm-bras-1")
			a := e.account("2026010", "pw-10", access.RoleStudent, 5000)

			// CHAP over the token with a CHAP-Challenge, as the portal's BAS does.
			tok, id := e.token(a, "02:00:00:00:10:01", "10.0.0.10", access.ClassPC)
			chal := []byte("challenge-16byte")
			req := bas.AuthRequest{UserName: a.Username, CHAPID: 3, CHAPPassword: chapResponse(3, tok, chal), CHAPChallenge: chal,
				MAC: "02:00:00:00:10:01", UserIP: addr("10.0.0.10")}
			if res := mustAuth(t, dorm, req); !res.Accepted {
				t.Fatalf("token CHAP refused: %q", res.ReplyMessage)
			}
			// The token is single use.
			if res := mustAuth(t, dorm, req); res.Accepted {
				t.Fatal("a used token was accepted again")
			}
			// The portal reads the decision by token at once (written in the
			// decision's transaction, not later).
			l, err := e.st.AuthLogByToken(context.Background(), id)
			if err != nil || l.Result != "accept" || l.Method != "token-chap" {
				t.Fatalf("auth log by token: %+v, %v", l, err)
			}
			// Seamless area: the MAC is now bound and logs in by itself.
			if res := mustAuth(t, dorm, bas.AuthRequest{UserName: "02-00-00-00-10-01", MAC: "02-00-00-00-10-01"}); !res.Accepted || res.UserName != a.Username {
				t.Fatalf("MAC authentication after a seamless login: %+v", res)
			}
			devs, _ := e.st.DevicesByAccount(context.Background(), a.ID)
			if len(devs) != 1 || !devs[0].Bound || devs[0].Class != access.ClassPC || devs[0].BoundBy != "portal" {
				t.Fatalf("devices after a seamless login: %+v", devs)
			}

			// PAP over the token.
			tok2, _ := e.token(a, "02:00:00:00:10:02", "10.0.0.11", access.ClassMobile)
			if res := mustAuth(t, dorm, bas.AuthRequest{UserName: a.Username, Password: tok2, MAC: "02:00:00:00:10:02"}); !res.Accepted {
				t.Fatalf("token PAP refused: %q", res.ReplyMessage)
			}

			// A refusal made with a token is readable by token at once.
			tok3, id3 := e.token(a, "02:00:00:00:10:03", "10.0.0.12", access.ClassPC)
			res := mustAuth(t, dorm, bas.AuthRequest{UserName: a.Username, Password: tok3, MAC: "02:00:00:00:10:03"})
			if res.Accepted {
				t.Fatal("a second PC was accepted in the dorm")
			}
			l, err = e.st.AuthLogByToken(context.Background(), id3)
			if err != nil || l.Reason != access.ReasonDeviceLimitPC {
				t.Fatalf("refusal by token: %+v, %v", l, err)
			}
		})
	}
}

func TestDeviceLimit(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startEnv(t, kind)
			dorm := e.bas("dorm-bras-1")
			a := e.account("2026020", "pw", access.RoleStudent, 5000)
			e.bind(a, "02:00:00:00:20:01", access.ClassPC)
			e.bind(a, "02:00:00:00:20:02", access.ClassPC)
			e.bind(a, "02:00:00:00:20:03", access.ClassMobile)
			e.bind(a, "02:00:00:00:20:04", access.ClassUnknown) // counts as a PC (unknown_as)
			ctx := context.Background()

			pc1 := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:20:01", UserIP: addr("10.0.0.21")})
			if !pc1.Accepted {
				t.Fatalf("first PC refused: %q", pc1.ReplyMessage)
			}
			if err := dorm.Start(ctx, pc1.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			// A second PC: refused, naming the PC that is online, with the
			// FAQ's desktop-mode hint.
			pc2 := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:20:02", UserIP: addr("10.0.0.22")})
			if pc2.Accepted {
				t.Fatal("a second PC was accepted")
			}
			for _, want := range []string{"02-00-00-00-20-01", "10.0.0.21", "电脑模式", "desktop mode"} {
				if !strings.Contains(pc2.ReplyMessage, want) {
					t.Errorf("device-limit message %q lacks %q", pc2.ReplyMessage, want)
				}
			}
			if unk := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:20:04"}); unk.Accepted {
				t.Fatal("a device of unknown class was accepted beside a PC (unknown counts as pc)")
			}
			// A mobile is fine beside the PC.
			if m := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:20:03"}); !m.Accepted {
				t.Fatalf("mobile refused: %q", m.ReplyMessage)
			}
			// The same PC authenticating again replaces its own session.
			again := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:20:01", UserIP: addr("10.0.0.21")})
			if !again.Accepted {
				t.Fatalf("the online PC was refused when it authenticated again: %q", again.ReplyMessage)
			}
			if err := dorm.Start(ctx, again.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			online := 0
			for _, s := range e.sessions(a, true) {
				if s.MAC == "02:00:00:00:20:01" {
					online++
				}
			}
			if online != 1 {
				t.Fatalf("%d live sessions of the PC after it started again, want 1", online)
			}
			// Stop frees the slot.
			if err := dorm.Stop(ctx, again.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			if pc2 := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:20:02"}); !pc2.Accepted {
				t.Fatalf("second PC refused after the first stopped: %q", pc2.ReplyMessage)
			}
		})
	}
}

func TestStaleSessionsNeverBlock(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startEnv(t, kind)
			dorm := e.bas("dorm-bras-1")
			ctx := context.Background()
			a := e.account("2026030", "pw", access.RoleStudent, 5000)
			e.bind(a, "02:00:00:00:30:01", access.ClassPC)
			e.bind(a, "02:00:00:00:30:02", access.ClassPC)
			e.bind(a, "02:00:00:00:30:03", access.ClassPC)

			// An online session that stops sending Interim-Updates…
			r1 := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:30:01"})
			if err := dorm.Start(ctx, r1.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(interim * 2)
			if r := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:30:02"}); r.Accepted {
				t.Fatal("accepted a second PC while the first is fresh")
			}
			// …is stale after 2.5 × the interval, before the reaper runs.
			e.clock.Advance(interim/2 + time.Second)
			r2 := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:30:02"})
			if !r2.Accepted {
				t.Fatalf("a stale session blocked the login: %q", r2.ReplyMessage)
			}
			// A reservation never started expires after reserve_timeout.
			e.clock.Advance(reserveT + time.Second)
			if r := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:30:03"}); !r.Accepted {
				t.Fatalf("an expired reservation blocked the login: %q", r.ReplyMessage)
			}
			// The reaper closes both kinds.
			stale, reserved, err := e.svc.Reap(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if stale != 1 || reserved != 1 {
				t.Fatalf("reaped %d stale, %d reservations; want 1 and 1", stale, reserved)
			}
			// An Interim-Update proves the stale session alive again.
			if err := dorm.Interim(ctx, r1.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			for _, s := range e.sessions(a, false) {
				if s.MAC == "02:00:00:00:30:01" && s.Status != access.SessionOnline {
					t.Fatalf("session after a late Interim-Update: %+v", s)
				}
			}
		})
	}
}

func TestAccountingOnFreesLimit(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startEnv(t, kind)
			dorm := e.bas("dorm-bras-1")
			office := e.bas("office-ac")
			ctx := context.Background()
			a := e.account("2026040", "pw", access.RoleStudent, 5000)
			e.bind(a, "02:00:00:00:40:01", access.ClassPC)
			e.bind(a, "02:00:00:00:40:02", access.ClassPC)
			r := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:40:01"})
			if err := dorm.Start(ctx, r.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			or := mustAuth(t, office, bas.AuthRequest{UserName: a.Username, Password: "pw"})
			if err := office.Start(ctx, or.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			if r := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:40:02"}); r.Accepted {
				t.Fatal("second PC accepted")
			}
			if err := dorm.AccountingOn(ctx); err != nil {
				t.Fatal(err)
			}
			if r := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:40:02"}); !r.Accepted {
				t.Fatalf("refused after the BAS rebooted: %q", r.ReplyMessage)
			}
			// Only that BAS's sessions were closed.
			for _, s := range e.sessions(a, false) {
				if s.NAS == "office-ac" && s.Status != access.SessionOnline {
					t.Fatalf("the office session was closed by the dorm BAS's reboot: %+v", s)
				}
				if s.NAS == "dorm-bras-1" && s.MAC == "02:00:00:00:40:01" && s.CloseReason != "nas_reboot" {
					t.Fatalf("dorm session after Accounting-On: %+v", s)
				}
			}
		})
	}
}

func TestReplaceOldest(t *testing.T) {
	e := startEnv(t, "sqlite")
	b := e.bas("dorm2-bras")
	gone := make(chan string, 1)
	b.OnDisconnect = func(_, _ netip.Addr, mac string) { gone <- mac }
	e.serveCoA(b)
	ctx := context.Background()
	a := e.account("2026050", "pw", access.RoleStudent, 0)
	e.bind(a, "02:00:00:00:50:01", access.ClassPC)
	e.bind(a, "02:00:00:00:50:02", access.ClassPC)
	old := mustAuth(t, b, bas.AuthRequest{MAC: "02:00:00:00:50:01", UserIP: addr("10.4.0.1")})
	if err := b.Start(ctx, old.AcctSessionID); err != nil {
		t.Fatal(err)
	}
	nw := mustAuth(t, b, bas.AuthRequest{MAC: "02:00:00:00:50:02"})
	if !nw.Accepted {
		t.Fatalf("replace_oldest refused: %q", nw.ReplyMessage)
	}
	select {
	case mac := <-gone:
		if mac != "02:00:00:00:50:01" {
			t.Fatalf("disconnected %s, want the oldest PC", mac)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the oldest PC was not disconnected")
	}
}

// expiredDirectory is a unified identity whose one person's password has
// expired there.
type expiredDirectory struct{}

func (expiredDirectory) Authenticate(_ context.Context, user, password string) (identity.Person, error) {
	if user == "d2026" && password == "right-pass" {
		return identity.Person{}, fmt.Errorf("%w: password expired", identity.ErrPasswordExpired)
	}
	return identity.Person{}, identity.ErrBadCredentials
}

// TestPAPDirectoryPasswordExpired: a direct login whose password unified
// identity says has expired is refused with PASSWORD_EXPIRED and words
// that send the student to change it there — not "wrong password", not
// "account disabled, bring your campus card".
func TestPAPDirectoryPasswordExpired(t *testing.T) {
	e := startEnv(t, "sqlite", func(c *radius.Config) { c.Identity = expiredDirectory{} })
	defer e.stop()
	dorm := e.bas("dorm-bras-1")
	res := mustAuth(t, dorm, bas.AuthRequest{UserName: "d2026", Password: "right-pass"})
	if res.Accepted {
		t.Fatal("accepted a login whose password has expired")
	}
	for _, want := range []string{"密码已过期", "has expired", "统一身份认证"} {
		if !strings.Contains(res.ReplyMessage, want) {
			t.Errorf("Reply-Message %q lacks %q", res.ReplyMessage, want)
		}
	}
	if strings.Contains(res.ReplyMessage, "停用") {
		t.Errorf("Reply-Message %q calls it a disabled account", res.ReplyMessage)
	}
	wrong := mustAuth(t, dorm, bas.AuthRequest{UserName: "d2026", Password: "wrong-pass"})
	if wrong.Accepted || strings.Contains(wrong.ReplyMessage, "过期") {
		t.Errorf("a wrong password: accepted %v, %q (must not tell it has expired)", wrong.Accepted, wrong.ReplyMessage)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var reasons []access.Reason
		for _, l := range e.authLog("d2026") {
			reasons = append(reasons, l.Reason)
		}
		if slices.Contains(reasons, access.ReasonPasswordExpired) && slices.Contains(reasons, access.ReasonBadCredentials) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("authentication log reasons %v, want %s and %s", reasons, access.ReasonPasswordExpired, access.ReasonBadCredentials)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
