package bas

import (
	"encoding/binary"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
)

// Authorization is what a BAS applies to a session beyond letting it in:
// the rate limit of its vendor attributes and the Filter-Id (RFC 2865
// §5.11), the user group (Huawei) or user profile (H3C) of the session.
type Authorization struct {
	// UpKbps and DownKbps are the rate limit (0: none).
	UpKbps, DownKbps int
	// FilterID is the Filter-Id ("" = none).
	FilterID string
}

// Vendor-Specific rate attributes the simulator understands (bit/s):
// Huawei-Input-Average-Rate (2011/2), Huawei-Output-Average-Rate (2011/5),
// and the same types of H3C (25506/2, 25506/5). Input is what the user
// sends: upload.
const (
	vendorHuawei = 2011
	vendorH3C    = 25506
)

// ReadAuthorization reads the rate attributes and Filter-Id of an
// Access-Accept or CoA-Request.
func ReadAuthorization(p *radius.Packet) Authorization {
	var a Authorization
	for _, attr := range p.Attributes {
		switch attr.Type {
		case rfc2865.FilterID_Type:
			a.FilterID = string(attr.Attribute)
		case rfc2865.VendorSpecific_Type:
			id, v, err := radius.VendorSpecific(attr.Attribute)
			if err != nil || (id != vendorHuawei && id != vendorH3C) || len(v) != 6 || v[1] != 6 {
				continue
			}
			kbps := int(binary.BigEndian.Uint32(v[2:]) / 1000)
			switch v[0] {
			case 2:
				a.UpKbps = kbps
			case 5:
				a.DownKbps = kbps
			}
		}
	}
	return a
}

// SetCoANAK makes the BAS answer CoA-Requests with a NAK carrying
// Error-Cause errorCause (e.g. 405 Unsupported-Service, 504
// Session-Context-Not-Removable), as a BAS that cannot change a live
// session does, until SetCoANAK(0) restores ACKs. Disconnect-Requests are
// still answered as before.
func (b *BAS) SetCoANAK(errorCause int) { b.coaNAK.Store(int32(errorCause)) }

// CoACounts reports how many CoA-Requests were ACKed and NAKed.
func (b *BAS) CoACounts() (acks, naks int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.coaACKs, b.coaNAKs
}

// changeAuthorization answers a CoA-Request (RFC 5176 §3.1): a request
// naming a session the BAS has replaces that session's Authorization with
// the one it carries (a CoA-Request carries the whole profile: a missing
// rate or Filter-Id removes it) and is ACKed; an unknown session gets a
// NAK 503 Session-Context-Not-Found, a NAS-IP-Address of another BAS a
// NAK 403, and after SetCoANAK every request a NAK with that cause.
func (b *BAS) changeAuthorization(req *radius.Packet) (bool, int) {
	count := func(ack bool, cause int) (bool, int) {
		b.mu.Lock()
		if ack {
			b.coaACKs++
		} else {
			b.coaNAKs++
		}
		b.mu.Unlock()
		return ack, cause
	}
	if c := b.coaNAK.Load(); c != 0 {
		return count(false, int(c))
	}
	if !b.forThisNAS(req) {
		return count(false, 403)
	}
	auth := ReadAuthorization(req)
	b.mu.Lock()
	s := b.find(req)
	if s != nil {
		s.Authorization = auth
	}
	b.mu.Unlock()
	if s == nil {
		return count(false, 503)
	}
	b.log.Info("coa", "session", rfc2866.AcctSessionID_GetString(req), "up_kbps", auth.UpKbps, "down_kbps", auth.DownKbps, "filter_id", auth.FilterID)
	return count(true, 0)
}
