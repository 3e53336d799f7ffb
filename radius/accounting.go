package radius

// Accounting: each Accounting-Request is recorded, through a group commit,
// before the Accounting-Response goes out.

import (
	"context"
	"strconv"

	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// ServeAccounting implements Handler: it records the Accounting-Request
// (idempotently, on (BAS, Acct-Session-Id)) before the Accounting-Response
// goes out; an error means no answer, and the BAS sends it again.
func (s *Service) ServeAccounting(ctx context.Context, r *radiusproto.Request) error {
	rec, ok := s.acctRecord(r)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.acct.do(ctx, rec)
	return s.acctDone(r, rec, res, err)
}

// ServeAccountingAsync implements AsyncHandler: ServeAccounting, answered
// from the batch's goroutine.
func (s *Service) ServeAccountingAsync(ctx context.Context, r *radiusproto.Request, done func(error)) {
	rec, ok := s.acctRecord(r)
	if !ok {
		done(nil)
		return
	}
	s.acct.submit(ctx, r.Received.Add(s.cfg.RequestTimeout), rec, func(res access.AcctResult, err error) {
		defer s.recoverAnswer(r, func() { done(radiusproto.ErrHandlerPanic) })
		done(s.acctDone(r, rec, res, err))
	})
}

// acctRecord reads an Accounting-Request; false means there is nothing to
// record, and the request is acknowledged as it is.
func (s *Service) acctRecord(r *radiusproto.Request) (access.AcctRecord, bool) {
	s.nasSeen(r.NAS, r.Received)
	p := r.Packet
	st, err := rfc2866.AcctStatusType_Lookup(p)
	kind, ok := acctStatus(st)
	if err != nil || !ok {
		// Nothing we record (tunnel accounting, Failed…): acknowledge it so
		// the BAS does not resend it forever.
		s.metrics.request("accounting", "ok", "ignored")
		return access.AcctRecord{}, false
	}
	rec := access.AcctRecord{Kind: kind, NAS: r.NAS.Name, Area: r.NAS.Area}
	rec.AcctSessionID, _ = rfc2866.AcctSessionID_LookupString(p)
	if (kind == access.AcctStart || kind == access.AcctInterim || kind == access.AcctStop) && (rec.AcctSessionID == "" || len(rec.AcctSessionID) > 253) {
		s.metrics.request("accounting", "ok", "no_session_id")
		return access.AcctRecord{}, false
	}
	if c, err := rfc2865.Class_Lookup(p); err == nil && len(c) <= 64 {
		rec.Correlation = string(c)
	}
	rec.Username, _ = rfc2865.UserName_LookupString(p)
	if csid, err := rfc2865.CallingStationID_LookupString(p); err == nil {
		rec.MAC, _ = access.NormalizeMAC(csid)
	}
	if ip, err := rfc2865.FramedIPAddress_Lookup(p); err == nil {
		if addr, ok := netipFrom(ip); ok {
			rec.IP = addr
		}
	}
	rec.IPv6 = ipv6Of(p)
	// Where the subscriber is on the BAS, for trace: NAS-Port-Id as the
	// BAS wrote it (text from outside: kept only when plain and short),
	// else NAS-Port's number.
	if id, err := rfc2869.NASPortID_LookupString(p); err == nil && id != "" && len(id) <= 128 && access.PlainText(id) {
		rec.NASPort = id
	} else if n, err := rfc2865.NASPort_Lookup(p); err == nil {
		rec.NASPort = strconv.FormatUint(uint64(n), 10)
	}
	in, _ := rfc2866.AcctInputOctets_Lookup(p)
	out, _ := rfc2866.AcctOutputOctets_Lookup(p)
	ing, _ := rfc2869.AcctInputGigawords_Lookup(p)
	outg, _ := rfc2869.AcctOutputGigawords_Lookup(p)
	rec.InputOctets = int64(ing)<<32 | int64(in)
	rec.OutputOctets = int64(outg)<<32 | int64(out)
	if tc, err := rfc2866.AcctTerminateCause_Lookup(p); err == nil {
		rec.TerminateCause = tc.String()
	}
	if area, ok := s.area(r.NAS.Area); ok && area.Billed() {
		rec.Fee, rec.CycleLength, rec.Plans = area.Fee, area.Cycle, area.Plans
	}
	return rec, true
}

// acctDone counts and logs the outcome of recording rec.
func (s *Service) acctDone(r *radiusproto.Request, rec access.AcctRecord, res access.AcctResult, err error) error {
	kind := rec.Kind
	if err != nil {
		s.metrics.request("accounting", "error", kind)
		return err
	}
	s.metrics.request("accounting", "ok", kind+"_"+res.Outcome)
	switch {
	case res.Outcome == access.AcctUnknown:
		s.log.Debug("accounting for an unknown session or account", "nas", r.NAS.Name, "kind", kind, "user", rec.Username, "mac", rec.MAC)
	case res.Outcome == access.AcctClosedAll:
		s.log.Info("BAS restarted; its sessions closed", "nas", r.NAS.Name, "kind", kind, "closed", res.Closed)
	case res.Arrears:
		s.log.Warn("session started in arrears (no active cycle, balance below the fee)", "nas", r.NAS.Name, "user", rec.Username, "session", res.SessionID)
	}
	return nil
}

// acctStatus names an Acct-Status-Type for the store.
func acctStatus(t rfc2866.AcctStatusType) (string, bool) {
	switch t {
	case rfc2866.AcctStatusType_Value_Start:
		return access.AcctStart, true
	case rfc2866.AcctStatusType_Value_InterimUpdate:
		return access.AcctInterim, true
	case rfc2866.AcctStatusType_Value_Stop:
		return access.AcctStop, true
	case rfc2866.AcctStatusType_Value_AccountingOn:
		return access.AcctOn, true
	case rfc2866.AcctStatusType_Value_AccountingOff:
		return access.AcctOff, true
	}
	return "", false
}
