package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius/rfc3576"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// DisconnectStore is what the Disconnector needs of the database.
type DisconnectStore interface {
	SessionByID(ctx context.Context, id int64) (access.Session, error)
	CloseSession(ctx context.Context, id int64, reason string) (bool, error)
	Audit(ctx context.Context, actor, action, target, reason, detail string) error
}

// DisconnectorConfig configures NewDisconnector.
type DisconnectorConfig struct {
	Store DisconnectStore
	NAS   []access.BAS
	// Timeout is the wait for an answer before resending ([radius]
	// coa_timeout, default 1 s); Tries the number of sends (coa_tries,
	// default 3).
	Timeout time.Duration
	Tries   int
	// LocalAddr is the address to send from ("" = any).
	LocalAddr  string
	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Disconnector ends sessions at their BAS with a Disconnect-Request
// (RFC 5176) and records who asked, why and what the BAS answered in the
// audit log. It is safe for concurrent use.
type Disconnector struct {
	st      DisconnectStore
	nas     map[string]*radiusproto.NAS
	client  *radiusproto.CoAClient
	tries   int
	log     *slog.Logger
	results *prometheus.CounterVec
}

// NewDisconnector returns a Disconnector for the configured BASes.
func NewDisconnector(cfg DisconnectorConfig) *Disconnector {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Tries <= 0 {
		cfg.Tries = radiusproto.DefaultMaxTries
	}
	d := &Disconnector{st: cfg.Store, nas: map[string]*radiusproto.NAS{}, tries: cfg.Tries, log: cfg.Log,
		client: &radiusproto.CoAClient{Retry: cfg.Timeout, MaxTries: cfg.Tries, LocalAddr: cfg.LocalAddr}}
	for _, n := range cfg.NAS {
		d.nas[n.Name] = protocolNAS(n)
	}
	d.results = register(cfg.Registerer, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_radius_disconnects_total",
		Help: "Disconnect-Requests sent, by outcome (ack, nak, timeout, error)."}, []string{"outcome"}))
	return d
}

// Close releases the client's sockets.
func (d *Disconnector) Close() error { return d.client.Close() }

// DisconnectSession asks the session's BAS to end it, identifying it by
// User-Name, Acct-Session-Id, Framed-IP-Address, Framed-IPv6-Address,
// Framed-IPv6-Prefix, Calling-Station-Id and NAS-IP-Address, signed with a Message-Authenticator and resent on
// timeout. On an ACK the session row is closed with reason. A NAK, or no
// answer, is an outcome with ACK false and says which; it is never success.
// Every attempt is audited (actor, reason, outcome). The error is for a
// request that could not be sent at all (unknown session or BAS).
func (d *Disconnector) DisconnectSession(ctx context.Context, sessionID int64, actor, reason string) (access.DisconnectOutcome, error) {
	sess, err := d.st.SessionByID(ctx, sessionID)
	if err != nil {
		return access.DisconnectOutcome{}, err
	}
	return d.disconnect(ctx, sess, actor, reason)
}

func (d *Disconnector) disconnect(ctx context.Context, sess access.Session, actor, reason string) (access.DisconnectOutcome, error) {
	nas, ok := d.nas[sess.NAS]
	if !ok {
		d.results.WithLabelValues("error").Inc()
		return access.DisconnectOutcome{}, fmt.Errorf("radius: disconnect session #%d: BAS %q is not configured: %w", sess.ID, sess.NAS, access.ErrNotFound)
	}
	id := sessionIdent(nas, sess)
	reply, _, err := d.client.Disconnect(ctx, nas, id)
	var out access.DisconnectOutcome
	label := "ack"
	switch {
	case errors.Is(err, radiusproto.ErrNoResponse):
		label = "timeout"
		out.Detail = fmt.Sprintf("no answer from %s after %d tries", nas.Name, d.tries)
	case err != nil:
		d.results.WithLabelValues("error").Inc()
		d.audit(sess, actor, reason, "error: "+err.Error())
		return out, fmt.Errorf("radius: disconnect session #%d: %w", sess.ID, err)
	default:
		out.ACK, out.ErrorCause = radiusproto.DisconnectAnswer(reply)
		switch {
		case out.ACK:
			out.Detail = "acknowledged by " + nas.Name
		case out.ErrorCause != 0:
			label = "nak"
			out.Detail = fmt.Sprintf("NAK %d %s from %s", out.ErrorCause, errorCauseName(out.ErrorCause), nas.Name)
		default:
			label = "nak"
			out.Detail = fmt.Sprintf("NAK from %s", nas.Name)
		}
	}
	d.results.WithLabelValues(label).Inc()
	// The session is gone at the BAS: after an ACK, and after a NAK that
	// says the BAS has no such session (its Accounting-Stop was lost).
	if out.ACK || out.ErrorCause == int(rfc3576.ErrorCause_Value_SessionContextNotFound) {
		if err := d.closeSession(context.WithoutCancel(ctx), sess, actor, reason, out.ACK); err != nil {
			d.log.Warn("close disconnected session", "session", sess.ID, "err", err)
		}
	}
	d.audit(sess, actor, reason, out.Detail)
	d.log.Info("disconnect", "session", sess.ID, "user", sess.Username, "nas", sess.NAS, "mac", sess.MAC,
		"actor", actor, "reason", reason, "ack", out.ACK, "detail", out.Detail)
	return out, nil
}

func (d *Disconnector) audit(sess access.Session, actor, reason, outcome string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	detail := fmt.Sprintf("session=%d nas=%s mac=%s ip=%s acct_session_id=%s outcome=%s", sess.ID, sess.NAS, sess.MAC, sess.IP, sess.AcctSessionID, outcome)
	if err := d.st.Audit(ctx, actor, "session.disconnect", sess.Username, reason, detail); err != nil {
		d.log.Error("audit disconnect", "session", sess.ID, "err", err)
	}
}

// errorCauseName names an RFC 5176 Error-Cause in lower case words.
func errorCauseName(c int) string {
	n := rfc3576.ErrorCause(c).String()
	if strings.HasPrefix(n, "ErrorCause(") {
		return "unknown error cause"
	}
	return strings.ToLower(strings.ReplaceAll(n, "-", " "))
}

// replaced disconnects, in the background, sessions that on_limit =
// "replace_oldest" closed to let a new device in.
func (s *Service) replaced(sessions []access.Session) {
	if s.cfg.Disconnector == nil {
		return
	}
	for _, sess := range sessions {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := s.cfg.Disconnector.disconnect(ctx, sess, "radius", "replace_oldest")
			if err != nil {
				s.log.Warn("disconnect of replaced session", "session", sess.ID, "user", sess.Username, "err", err)
				return
			}
			s.log.Info("replaced session disconnected", "session", sess.ID, "user", sess.Username, "mac", sess.MAC,
				"ack", out.ACK, "detail", out.Detail)
		}()
	}
}
