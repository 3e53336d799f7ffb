package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/portal/portalproto"
)

// TestRunPortalSide runs `bassim run --portal-listen` and logs in through it
// with the Portal protocol, as a campusnet portal would: the BAS turns
// REQ_AUTH into an Access-Request and answers ACK_AUTH with the server's
// Reply-Message.
func TestRunPortalSide(t *testing.T) {
	st := storetest.NewSQLite(t)
	auth, acct := startRADIUS(t, st)
	ctx, cancel := context.WithCancel(context.Background())

	pr, pw := io.Pipe()
	ran := make(chan int, 1)
	go func() {
		ran <- run(ctx, []string{"run", "--portal-listen", "127.0.0.1:0", "--coa", "", "--portal-notify", "127.0.0.1:9",
			"--auth", auth, "--acct", acct}, pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		if code := <-ran; code != 0 {
			t.Errorf("bassim run exited %d", code)
		}
	}()
	var portalAddr string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "answering the Portal protocol on "); ok {
			portalAddr = strings.Fields(a)[0]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if portalAddr == "" {
		t.Fatal("bassim run did not say where the Portal side listens")
	}
	c, err := portalproto.NewClient(portalproto.ClientConfig{BASAddr: portalAddr, Secret: "testing123", Auth: "chap",
		Timeout: 3 * time.Second, BASIP: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
	defer lcancel()
	_, err = c.Login(lctx, netip.MustParseAddr("10.0.0.5"), "00:11:22:33:44:55", "nobody", []byte("wrong-token"))
	var be *portalproto.BASError
	if !errors.As(err, &be) || !errors.Is(err, portalproto.ErrRejected) || !strings.Contains(be.Text, "用户名或密码错误") {
		t.Fatalf("login through bassim's Portal side: %v", err)
	}
}
