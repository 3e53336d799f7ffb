package store

import "github.com/campusnet/campusnet/internal/access"

// Names the RADIUS service still uses while its files move; removed once
// it names internal/access directly.
type (
	LoginRequest  = access.LoginRequest
	LoginState    = access.LoginState
	LoginDecision = access.LoginDecision
	DecideFunc    = access.DecideFunc
	AcctRecord    = access.AcctRecord
	AcctResult    = access.AcctResult
	NASSeen       = access.NASSeen
)

const (
	AcctClosedAll       = access.AcctClosedAll
	AcctInterim         = access.AcctInterim
	AcctOff             = access.AcctOff
	AcctOn              = access.AcctOn
	AcctStart           = access.AcctStart
	AcctStop            = access.AcctStop
	AcctUnknown         = access.AcctUnknown
	BoundByPortal       = access.BoundByPortal
	CloseReserveTimeout = access.CloseReserveTimeout
	CloseStale          = access.CloseStale
)

var NewCorrelation = access.NewCorrelation
