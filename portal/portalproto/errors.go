package portalproto

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrMalformed: bytes that are not a Portal packet.
	ErrMalformed = errors.New("portalproto: malformed packet")
	// ErrInvalidPacket: a Packet that cannot be encoded.
	ErrInvalidPacket = errors.New("portalproto: invalid packet")
	// ErrAuthenticatorSeed: a request authenticator given for a
	// request-style type, or missing for a response.
	ErrAuthenticatorSeed = errors.New("portalproto: wrong authenticator seed")
	// ErrBadAuthenticator: the v2 authenticator does not match; usually a
	// wrong shared secret.
	ErrBadAuthenticator = errors.New("portalproto: bad authenticator")
	// ErrTimeout: the BAS or portal did not answer in time.
	ErrTimeout = errors.New("portalproto: timeout")
	// ErrRejected: the BAS refused (ErrCode 1 in ACK_CHALLENGE, ACK_AUTH or
	// ACK_LOGOUT).
	ErrRejected = errors.New("portalproto: rejected by the BAS")
	// ErrInProgress: another authentication of this user is in progress
	// (ErrCode 3 in ACK_CHALLENGE or ACK_AUTH); try again shortly.
	ErrInProgress = errors.New("portalproto: authentication already in progress")
	// ErrFailed: the BAS reported a failure.
	ErrFailed = errors.New("portalproto: failed at the BAS")
	// ErrUnsupported: the BAS does not support the query (ErrCode 1 in
	// ACK_INFO).
	ErrUnsupported = errors.New("portalproto: not supported by the BAS")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("portalproto: client closed")
	// ErrServerClosed is returned by Serve after Shutdown.
	ErrServerClosed = errors.New("portalproto: server closed")
)

// BASError is a nonzero ErrCode in a BAS answer. It unwraps to ErrRejected,
// ErrInProgress, ErrFailed or ErrUnsupported according to the table in
// docs/protocols.md#portal-error-codes.
type BASError struct {
	Type Type   // the answer: ACK_CHALLENGE, ACK_AUTH, ACK_LOGOUT or ACK_INFO
	Code Code   // its ErrCode
	Text string // its TextInfo, decoded; may be empty
}

func (e *BASError) Error() string {
	s := fmt.Sprintf("portalproto: %v error code %d (%v)", e.Type, e.Code, e.Unwrap())
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// Unwrap returns the sentinel for e's Type and Code.
func (e *BASError) Unwrap() error {
	switch e.Type {
	case AckChallenge, AckAuth:
		switch e.Code {
		case CodeRejected:
			return ErrRejected
		case CodeInProgress:
			return ErrInProgress
		}
	case AckLogout:
		if e.Code == CodeLogoutRejected {
			return ErrRejected
		}
	case AckInfo:
		if e.Code == CodeInfoUnsupported {
			return ErrUnsupported
		}
	}
	return ErrFailed
}
