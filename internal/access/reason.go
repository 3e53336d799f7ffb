package access

// Reason is the code of a login's outcome (docs/design.md#policy): OK, or
// why it was refused. The portal, RADIUS and self-service show the same
// text for the same code (Explain), and the authentication log keeps it.
type Reason string

// Reason codes.
const (
	ReasonOK                 Reason = "OK"
	ReasonBadCredentials     Reason = "BAD_CREDENTIALS"
	ReasonMACNotBound        Reason = "MAC_NOT_BOUND"
	ReasonAccountDisabled    Reason = "ACCOUNT_DISABLED"
	ReasonRoleNotAllowed     Reason = "ROLE_NOT_ALLOWED"
	ReasonArrears            Reason = "ARREARS"
	ReasonDeviceLimitPC      Reason = "DEVICE_LIMIT_PC"
	ReasonDeviceLimitMobile  Reason = "DEVICE_LIMIT_MOBILE"
	ReasonMustChangePassword Reason = "MUST_CHANGE_PASSWORD"
	ReasonPasswordExpired    Reason = "PASSWORD_EXPIRED"
	ReasonIdentityDown       Reason = "IDENTITY_UNAVAILABLE"
	ReasonTokenExpired       Reason = "TOKEN_EXPIRED"
	ReasonBASTimeout         Reason = "BAS_TIMEOUT"
	ReasonAlreadyOnline      Reason = "ALREADY_ONLINE"
	ReasonRateLimited        Reason = "RATE_LIMITED"
	ReasonUnknownBAS         Reason = "UNKNOWN_BAS"
	// ReasonUseSSO: the account logs in by single sign-on only and has
	// no network password, so a direct PAP login cannot succeed.
	ReasonUseSSO Reason = "USE_SSO"
	// ReasonSSOFailed: the single sign-on provider could not be reached
	// or did not confirm the login.
	ReasonSSOFailed Reason = "SSO_FAILED"
)
