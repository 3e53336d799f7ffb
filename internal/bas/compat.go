package bas

// The PortalSide under its former names, still used by the tests of portal.
type (
	Portal       = PortalSide
	PortalConfig = PortalSideConfig
)

// NewPortal is NewPortalSide.
var NewPortal = NewPortalSide
