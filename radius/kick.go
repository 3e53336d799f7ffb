package radius

import (
	"context"

	"github.com/campusnet/campusnet/internal/access"
)

// KickStore is a DisconnectStore that closes an acknowledged kick together
// with its device_kicked notification (internal/store's Store has it).
type KickStore interface {
	CloseKickedSession(ctx context.Context, sess access.Session, reason, by string) (bool, error)
}

// Close reasons and actors that are not a kick of the student's device:
// arrears (billing's settlement sends the arrears event) and an unbound MAC
// (device_unbound says it).
const (
	actorBilling    = "billing"
	reasonUnbound   = "mac_unbound" // selfservice's close reason of an unbind
	reasonUnboundCL = "mac unbound" // campusnet device unbind's default reason
)

// kickedBy says who kicked a session, for its device_kicked event: the
// student (self-service), a device limit (on_limit = "replace_oldest") or
// an operator (campusnet kick, the NOC, account disable --kick); ok is
// false for a disconnect that is not a kick.
func kickedBy(sess access.Session, actor, reason string) (by string, ok bool) {
	switch {
	case actor == actorBilling || reason == string(access.ReasonArrears) || reason == reasonUnbound || reason == reasonUnboundCL:
		return "", false
	case actor == "radius" && reason == access.OnLimitReplaceOldest:
		return "device_limit", true
	case actor == sess.Username:
		return "student", true
	}
	return "operator", true
}

// closeSession closes a session its BAS no longer has; an acknowledged
// kick also records its device_kicked event, in the same transaction.
func (d *Disconnector) closeSession(ctx context.Context, sess access.Session, actor, reason string, ack bool) error {
	if ks, ok := d.st.(KickStore); ok && ack {
		if by, kick := kickedBy(sess, actor, reason); kick {
			_, err := ks.CloseKickedSession(ctx, sess, reason, by)
			return err
		}
	}
	_, err := d.st.CloseSession(ctx, sess.ID, reason)
	return err
}
