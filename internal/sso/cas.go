package sso

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/identity"
)

// casService is the CAS service URL of one login: the callback with the
// state in its query. The CAS server sends the browser back to it with
// &ticket=, and the ticket is validated for exactly this service.
func casService(callback, state string) string {
	return callback + "?" + url.Values{"state": {state}}.Encode()
}

// casServiceResponse is the CAS 2.0/3.0 serviceValidate answer
// (https://apereo.github.io/cas/6.6.x/protocol/CAS-Protocol-Specification.html,
// sections 2.5 and 2.6 and appendix A).
type casServiceResponse struct {
	XMLName xml.Name `xml:"serviceResponse"`
	Success *struct {
		User       string `xml:"user"`
		Attributes struct {
			Values []casValue `xml:",any"`
		} `xml:"attributes"`
	} `xml:"authenticationSuccess"`
	Failure *struct {
		Code string `xml:"code,attr"`
		Text string `xml:",chardata"`
	} `xml:"authenticationFailure"`
}

type casValue struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// casAttr is the first value of a CAS attribute (attributes with several
// values repeat the element).
func casAttr(vals []casValue, name string) string {
	for _, v := range vals {
		if strings.EqualFold(v.XMLName.Local, name) {
			return strings.TrimSpace(v.Value)
		}
	}
	return ""
}

// casReachable checks that the CAS server answers before a browser is
// sent there: a captive browser sent to a dead host sees only the
// browser's own error. A success is remembered for a minute, a failure
// for five seconds.
func (c *Client) casReachable(ctx context.Context, p *provider) error {
	p.mu.Lock()
	ok, bad := p.casOK, p.failedAt
	p.mu.Unlock()
	now := c.now()
	if now.Sub(ok) < time.Minute {
		return nil
	}
	if now.Sub(bad) < 5*time.Second {
		return fmt.Errorf("%w: %s", ErrUnavailable, p.ServerURL)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.ServerURL+"/login", nil)
	resp, err := c.http.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil || resp.StatusCode >= 500 {
		p.failedAt = now
		c.log.Warn("sso: CAS server unreachable", "provider", p.Name, "err", err)
		return fmt.Errorf("%w: %s", ErrUnavailable, p.ServerURL)
	}
	p.casOK = now
	return nil
}

// casValidate validates a service ticket at serviceValidate (v2) or
// p3/serviceValidate (v3).
func (c *Client) casValidate(ctx context.Context, p *provider, service, ticket string) (identity.Person, error) {
	if ticket == "" || len(ticket) > 256 {
		return identity.Person{}, fmt.Errorf("%w: no ticket", ErrDenied)
	}
	path := "/serviceValidate"
	if p.Version == 3 {
		path = "/p3/serviceValidate"
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := p.ServerURL + path + "?" + url.Values{"service": {service}, "ticket": {ticket}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := c.http.Do(req)
	if err != nil {
		// The error names the URL, which holds the ticket: not logged.
		c.log.Warn("sso: CAS validation unreachable", "provider", p.Name, "err", errors.Unwrap(err))
		return identity.Person{}, fmt.Errorf("%w: %s", ErrUnavailable, p.ServerURL)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	if err != nil || resp.StatusCode != http.StatusOK {
		return identity.Person{}, fmt.Errorf("%w: %s answered %d", ErrUnavailable, p.ServerURL, resp.StatusCode)
	}
	var sr casServiceResponse
	if err := xml.Unmarshal(body, &sr); err != nil {
		return identity.Person{}, fmt.Errorf("%w: unreadable serviceValidate answer: %v", ErrDenied, err)
	}
	if sr.Failure != nil {
		return identity.Person{}, fmt.Errorf("%w: CAS %s: %s", ErrDenied, cleanCode(sr.Failure.Code), cut(strings.TrimSpace(sr.Failure.Text), 200))
	}
	if sr.Success == nil {
		return identity.Person{}, fmt.Errorf("%w: neither success nor failure in the CAS answer", ErrDenied)
	}
	vals := sr.Success.Attributes.Values
	id := sr.Success.User
	if p.AccountAttribute != "" {
		id = casAttr(vals, p.AccountAttribute)
	}
	name, role := "", ""
	if p.NameAttribute != "" {
		name = casAttr(vals, p.NameAttribute)
	}
	if p.RoleAttribute != "" {
		role = casAttr(vals, p.RoleAttribute)
	}
	return personFrom(p.Name, id, name, role)
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
