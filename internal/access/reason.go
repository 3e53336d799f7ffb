package access

// Reason codes of a refusal (docs/design.md#policy). The portal, RADIUS and
// self-service show the same text for the same code.
const (
	ReasonOK                 = "OK"
	ReasonBadCredentials     = "BAD_CREDENTIALS"
	ReasonMACNotBound        = "MAC_NOT_BOUND"
	ReasonAccountDisabled    = "ACCOUNT_DISABLED"
	ReasonRoleNotAllowed     = "ROLE_NOT_ALLOWED"
	ReasonArrears            = "ARREARS"
	ReasonDeviceLimitPC      = "DEVICE_LIMIT_PC"
	ReasonDeviceLimitMobile  = "DEVICE_LIMIT_MOBILE"
	ReasonMustChangePassword = "MUST_CHANGE_PASSWORD"
	ReasonPasswordExpired    = "PASSWORD_EXPIRED"
	ReasonIdentityDown       = "IDENTITY_UNAVAILABLE"
	ReasonTokenExpired       = "TOKEN_EXPIRED"
	ReasonBASTimeout         = "BAS_TIMEOUT"
	ReasonAlreadyOnline      = "ALREADY_ONLINE"
	ReasonRateLimited        = "RATE_LIMITED"
	ReasonUnknownBAS         = "UNKNOWN_BAS"
)
