package portal

import (
	"context"
	"net/netip"
	"time"

	"github.com/campusnet/campusnet/radius/radiusproto"
)

// disconnect sends a Disconnect-Request for ip to the named simulated BAS,
// as radius's Disconnector does for an operator's kick.
func disconnect(h *harness, nasName, ip string) (bool, error) {
	b := h.bas[nasName]
	ap, err := b.ListenCoA()
	if err != nil {
		return false, err
	}
	var nip netip.Addr
	for _, n := range h.cfg.NAS {
		if n.Name == nasName {
			nip = n.IP
		}
	}
	c := &radiusproto.CoAClient{Retry: 200 * time.Millisecond, MaxTries: 3}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, _, err := c.Disconnect(ctx, &radiusproto.NAS{Name: nasName, IP: ap.Addr(), Secret: []byte("testing123"), CoAPort: int(ap.Port())},
		radiusproto.SessionIdent{FramedIP: netip.MustParseAddr(ip), NASIP: nip})
	if err != nil {
		return false, err
	}
	ack, _ := radiusproto.DisconnectAnswer(reply)
	return ack, nil
}
