package ssotest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// OIDCUser is a person the test OpenID Provider knows (any password).
type OIDCUser struct {
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
}

// OIDCClient is a client the provider registers.
type OIDCClient struct {
	ID, Secret   string
	RedirectURIs []string
	// PostLogoutRedirectURIs are where end-session may send the browser back.
	PostLogoutRedirectURIs []string
	// Public registers a public client (token_endpoint_auth_method none,
	// no secret) instead of a confidential one (client_secret_basic).
	Public bool
	// PKCEOptional lets the client log in without PKCE (by default the
	// provider requires it).
	PKCEOptional bool
}

func (c OIDCClient) MarshalJSON() ([]byte, error) {
	auth := "client_secret_basic"
	if c.Public {
		auth = "none"
	}
	return json.Marshal(map[string]any{"client_id": c.ID, "client_secret": c.Secret, "redirect_uris": c.RedirectURIs,
		"post_logout_redirect_uris": c.PostLogoutRedirectURIs, "token_endpoint_auth_method": auth, "pkce_optional": c.PKCEOptional})
}

// OIDC is a running oidc-provider (testdata/oidc/server.mjs under Node.js).
type OIDC struct {
	Issuer string
	cmd    *exec.Cmd
}

// Dir is the folder of the provider's package.json, lock file and server.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "oidc")
}

func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(what)
	}
	t.Skip(what)
}

// NewOIDC starts the provider on a free loopback port and stops it when
// the test ends. Without Node.js or the installed package it skips, saying
// what to install (fails when CI=true).
func NewOIDC(t testing.TB, client OIDCClient, users map[string]OIDCUser) *OIDC {
	t.Helper()
	return NewOIDCClients(t, []OIDCClient{client}, users)
}

// NewOIDCClients is NewOIDC with several clients registered.
func NewOIDCClients(t testing.TB, clients []OIDCClient, users map[string]OIDCUser) *OIDC {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not found: install Node.js 20 or later (apt-get install -y nodejs npm)")
	}
	dir := Dir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		missing(t, "oidc-provider not installed: run npm ci in "+dir)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	u, err := json.Marshal(users)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := json.Marshal(clients)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "CLIENTS="+string(cl), "USERS="+string(u))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "ready ") {
				ready <- strings.TrimPrefix(line, "ready ")
			}
		}
	}()
	select {
	case issuer := <-ready:
		return &OIDC{Issuer: issuer, cmd: cmd}
	case <-time.After(20 * time.Second):
		t.Fatalf("oidc-provider did not start: %s", stderr.String())
	}
	return nil
}

// WrongAudienceNext makes the next token response carry an ID token for
// another client (signed with the provider's key).
func (o *OIDC) WrongAudienceNext(t testing.TB) { o.tamperNext(t, "wrong-audience") }

// WrongNonceNext makes the next token response carry an ID token with a
// nonce the client never sent (the audience right, signed with the
// provider's key): a token of another login.
func (o *OIDC) WrongNonceNext(t testing.TB) { o.tamperNext(t, "wrong-nonce") }

func (o *OIDC) tamperNext(t testing.TB, what string) {
	t.Helper()
	resp, err := http.Post(o.Issuer+"/test/"+what, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("%s switch: %s", what, resp.Status)
	}
}
