package radius

import "github.com/campusnet/campusnet/radius/radiusproto"

// Protocol names that the tests of portal, selfservice and billing still
// reach through this package. They are the radiusproto ones; new code
// imports radiusproto.
type (
	NAS          = radiusproto.NAS
	Server       = radiusproto.Server
	Request      = radiusproto.Request
	CoAClient    = radiusproto.CoAClient
	SessionIdent = radiusproto.SessionIdent
)

var (
	NewStaticNAS     = radiusproto.NewStaticNAS
	VerifyCHAP       = radiusproto.VerifyCHAP
	CHAPChallenge    = radiusproto.CHAPChallenge
	ListenDisconnect = radiusproto.ListenDisconnect
)

// The Disconnector under its former spelling, still used by the tests of
// selfservice and billing.
type (
	Disconnecter       = Disconnector
	DisconnecterConfig = DisconnectorConfig
)

// NewDisconnecter is NewDisconnector.
var NewDisconnecter = NewDisconnector
