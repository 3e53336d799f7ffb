package access

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Refusal is what a person is told when a login is refused: the reason
// code, the message and what to do about it. Message and Fix carry both
// languages, Chinese then English ("中文 / English"): they are the RADIUS
// Reply-Message, which the BAS shows to whoever is there. Pages speak one
// language at a time and read the texts apart: MessageZH/MessageEN and
// FixZH/FixEN (Text picks them).
type Refusal struct {
	Code    Reason
	Message string // "中文 / English", one line, fits a RADIUS Reply-Message
	Fix     string // the next step, Chinese then English

	MessageZH, MessageEN string
	FixZH, FixEN         string
}

// Text is the refusal's message and fix in one language (english or
// Chinese), for pages. A refusal built without the split texts (one
// relayed from the authentication log) is split with SplitBilingual.
func (r Refusal) Text(english bool) (msg, fix string) {
	mzh, men := r.MessageZH, r.MessageEN
	if mzh == "" && men == "" {
		mzh, men = SplitBilingual(r.Message)
	}
	fzh, fen := r.FixZH, r.FixEN
	if fzh == "" && fen == "" {
		fzh, fen = SplitBilingual(r.Fix)
	}
	if english {
		return men, fen
	}
	return mzh, fzh
}

// newRefusal is a refusal from its texts apart; Message and Fix join
// them as "中文 / English".
func newRefusal(code Reason, mzh, men, fzh, fen string) Refusal {
	return Refusal{Code: code, Message: mzh + " / " + men, Fix: fzh + " / " + fen,
		MessageZH: mzh, MessageEN: men, FixZH: fzh, FixEN: fen}
}

// SplitBilingual splits a "中文 / English" text (a Reply-Message from the
// authentication log) at the first " / " that has Chinese before it and
// an ASCII letter or digit right after it. A text without such a split is
// returned whole as both halves.
func SplitBilingual(s string) (zh, en string) {
	for i := 0; ; {
		j := strings.Index(s[i:], " / ")
		if j < 0 {
			return s, s
		}
		j += i
		before, after := s[:j], s[j+3:]
		if hasHan(before) && after != "" && after[0] < 0x80 && (unicode.IsLetter(rune(after[0])) || unicode.IsDigit(rune(after[0]))) {
			return strings.TrimSpace(before), strings.TrimSpace(after)
		}
		i = j + 3
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// OnlineDevice names the device that holds a device-limit slot.
type OnlineDevice struct {
	MAC string
	IP  string
	// Since is printed in its own location, with its offset: give it in
	// the campus zone.
	Since time.Time
}

// The FAQ's advice for phones counted as PCs, in each language.
const (
	DesktopModeHintZH = "手机浏览器设为“电脑模式/桌面版”时会被识别为电脑：请在浏览器设置中把浏览器标识改为 iPhone 或 Android 后重新登录。"
	DesktopModeHintEN = "A phone browser in \"desktop mode\" is counted as a PC: set the browser's identity (UA) to iPhone or Android and log in again."
)

// DesktopModeHint is the FAQ's advice for phones counted as PCs, both
// languages (RADIUS).
const DesktopModeHint = DesktopModeHintZH + " / " + DesktopModeHintEN

// RefuseBadCredentials: wrong user name, password or expired token.
func RefuseBadCredentials() Refusal {
	return newRefusal(ReasonBadCredentials,
		"用户名或密码错误", "Wrong user name or password",
		"校园网密码与统一身份认证密码相同；忘记密码请到统一身份认证平台重置。", "The network password is your unified-identity password; reset it on the unified identity site if you forgot it.")
}

// ForgotPasswordFix is what a wrong password's page tells a person who
// forgot it: the unified identity site's reset when there is one
// (resetSite), otherwise the network centre's service desk, named by
// helpdesk when it is configured. Both languages; ForgotPasswordFixText
// gives them apart.
func ForgotPasswordFix(resetSite bool, helpdesk string) string {
	zh, en := ForgotPasswordFixText(resetSite, helpdesk)
	return zh + " / " + en
}

// ForgotPasswordFixText is ForgotPasswordFix in Chinese and in English.
// Pages whose footer names the help desk pass helpdesk "" so that it is
// named once.
func ForgotPasswordFixText(resetSite bool, helpdesk string) (zh, en string) {
	if resetSite {
		r := RefuseBadCredentials()
		return r.FixZH, r.FixEN
	}
	hz, he := "", ""
	if helpdesk != "" {
		hz, he = "（"+helpdesk+"）", " ("+helpdesk+")"
	}
	return "忘记密码请携带校园卡到网络信息中心服务台" + hz + "重置。", "If you forgot your password, bring your campus card to the network centre's service desk" + he + " to have it reset."
}

// RefuseMACNotBound: MAC authentication of a device that is not bound.
func RefuseMACNotBound(mac string) Refusal {
	return newRefusal(ReasonMACNotBound,
		fmt.Sprintf("设备 %s 未绑定，请打开浏览器访问 1.1.1.1 登录", mac), fmt.Sprintf("Device %s is not bound: open a browser at 1.1.1.1 and log in", mac),
		"在门户页面登录一次即可绑定本设备；没有浏览器的设备（游戏机、电视）请在自服务系统登记。", "Log in once on the portal to bind this device; register devices without a browser (consoles, TVs) in self-service.")
}

// RefuseDisabled: an operator disabled the account.
func RefuseDisabled(reason string) Refusal {
	zh, en := "账户已被停用，请联系网络信息中心", "Account disabled: contact the network centre"
	if reason != "" {
		zh, en = fmt.Sprintf("账户已被停用（%s），请联系网络信息中心", reason), fmt.Sprintf("Account disabled (%s): contact the network centre", reason)
	}
	return newRefusal(ReasonAccountDisabled, zh, en, "请携带校园卡到网络信息中心服务台处理。", "Bring your campus card to the network centre's service desk.")
}

// RefuseRole: the area is not open to the account's role.
func RefuseRole(area string, role Role) Refusal {
	return newRefusal(ReasonRoleNotAllowed,
		fmt.Sprintf("%s 区域不对 %s 身份开放", area, role), fmt.Sprintf("Area %s is not open to role %s", area, role),
		"请连接您身份可用的网络。", "Use a network open to your role.")
}

// RefuseArrears: the balance does not cover the area's cycle fee.
func RefuseArrears(balance, fee Fen, rechargeURL string) Refusal {
	where := "请在缴费平台充值后重新登录"
	whereEN := "recharge on the payment platform and log in again"
	if rechargeURL != "" {
		where += "（" + rechargeURL + "）"
		whereEN += " (" + rechargeURL + ")"
	}
	return newRefusal(ReasonArrears,
		fmt.Sprintf("账户欠费：余额 %s 元，不足本周期 %s 元，%s", balance, fee, where), fmt.Sprintf("Account in arrears: balance %s yuan, below this cycle's %s yuan; %s", balance, fee, whereEN),
		"宿舍区网络在余额不少于周期费用时自动开通，充值到账后立即可以登录，无需联系网络中心。", "The dorm network opens by itself once the balance covers the cycle fee: log in again right after recharging, no need to call the network centre.")
}

// RefuseDeviceLimit: the area's limit for this class is reached by dev.
func RefuseDeviceLimit(class Class, limit int, dev OnlineDevice) Refusal {
	code, zh, en := ReasonDeviceLimitPC, "电脑", "PC"
	if class == ClassMobile {
		code, zh, en = ReasonDeviceLimitMobile, "移动设备", "mobile device"
	}
	since := dev.Since.Format("01-02 15:04 -07:00")
	// A reservation whose Accounting-Start has not come yet may have no MAC
	// or address: it is a device still being authenticated.
	onlineZH, onlineEN := "正在认证的设备", "a device being authenticated"
	switch {
	case dev.MAC != "" && dev.IP != "":
		onlineZH, onlineEN = dev.MAC+"（"+dev.IP+"，", dev.MAC+" ("+dev.IP+", "
	case dev.MAC != "" || dev.IP != "":
		onlineZH, onlineEN = dev.MAC+dev.IP+"（", dev.MAC+dev.IP+" ("
	default:
		onlineZH, onlineEN = onlineZH+"（", onlineEN+" ("
	}
	r := newRefusal(code,
		fmt.Sprintf("宿舍区同时只允许 %d 台%s在线，已在线：%s%s 起）", limit, zh, onlineZH, since),
		fmt.Sprintf("Only %d %s may be online at once; online now: %ssince %s)", limit, en, onlineEN, since),
		"请先在已在线的设备上注销，或在自服务系统下线该设备。", "Log out on the device that is online, or take it offline in self-service.")
	if class != ClassMobile {
		r.Fix += " " + DesktopModeHint
		r.FixZH += DesktopModeHintZH
		r.FixEN += " " + DesktopModeHintEN
	}
	return r
}

// RefuseMustChange: the local account still has its initial password.
func RefuseMustChange() Refusal {
	return newRefusal(ReasonMustChangePassword,
		"初始密码需先修改", "Change your initial password first",
		"请在门户或自服务系统修改初始密码（身份证后六位）后再登录。", "Change the initial password (last six of your id-card number) on the portal or in self-service, then log in.")
}

// RefusePasswordExpired: unified identity says the password has expired (or
// was reset by an administrator and must be changed). Its own code, apart
// from the local initial password's MUST_CHANGE_PASSWORD: the change is made
// on unified identity's password page, not here, and every page that derives
// the fix from the code alone (the refusals in self-service, the operator's
// list, the API, the portal relaying a RADIUS refusal) must say so.
func RefusePasswordExpired() Refusal {
	return newRefusal(ReasonPasswordExpired,
		"统一身份认证密码已过期，需先修改", "Your unified identity password has expired: change it first",
		"请到统一身份认证的密码修改页面修改密码，再回来登录。", "Change it on unified identity's password page, then log in again.")
}

// RefuseUseSSO: a direct password login (RADIUS PAP, a password form) for
// an account that logs in by single sign-on only and has no network
// password of its own.
func RefuseUseSSO() Refusal {
	return newRefusal(ReasonUseSSO,
		"该账号通过统一身份认证（单点登录）登录，没有单独的校园网密码", "This account logs in with single sign-on and has no network password",
		"请打开浏览器访问 1.1.1.1，点击“统一身份认证登录”。", "Open a browser at 1.1.1.1 and choose \"Log in with single sign-on\".")
}

// Explain returns the plain-language fix for a reason code in both
// languages, for RADIUS and the JSON API.
func Explain(code Reason) string {
	switch code {
	case ReasonDeviceLimitPC:
		return RefuseDeviceLimit(ClassPC, 1, OnlineDevice{}).Fix
	case ReasonBASTimeout:
		return "接入设备无响应（portal not response）：断开网络重连、清理浏览器缓存后刷新；仍不行请把页面底部“网络信息中心-X”中的数字告诉我们。 / The access device did not answer (portal not response): reconnect, clear the browser cache and reload; if it persists, tell us the number X at the bottom of the page."
	case ReasonRateLimited:
		return "尝试次数过多，请稍后再试。 / Too many attempts; wait a few minutes."
	}
	zh, en := ExplainText(code)
	if zh == "" {
		return ""
	}
	return zh + " / " + en
}

// ExplainText is the fix for a reason code in Chinese and in English, for
// pages, which speak one language. Where Explain names a wait or the
// node number, ExplainText leaves them to the page, which says each once:
// the rate-limited page its one wait, the portal's "portal not response"
// the node number.
func ExplainText(code Reason) (zh, en string) {
	var r Refusal
	switch code {
	case ReasonBadCredentials:
		r = RefuseBadCredentials()
	case ReasonMACNotBound:
		r = RefuseMACNotBound("")
	case ReasonAccountDisabled:
		r = RefuseDisabled("")
	case ReasonRoleNotAllowed:
		r = RefuseRole("", "")
	case ReasonArrears:
		r = RefuseArrears(0, 0, "")
	case ReasonDeviceLimitPC:
		r = RefuseDeviceLimit(ClassPC, 1, OnlineDevice{})
	case ReasonDeviceLimitMobile:
		r = RefuseDeviceLimit(ClassMobile, 1, OnlineDevice{})
	case ReasonMustChangePassword:
		r = RefuseMustChange()
	case ReasonPasswordExpired:
		r = RefusePasswordExpired()
	case ReasonUseSSO:
		r = RefuseUseSSO()
	case ReasonSSOFailed:
		return "统一身份认证未能确认本次登录：请返回登录页重新点击“统一身份认证登录”；如仍失败，可改用校园网密码登录（如已开放），或把页面底部“网络信息中心-X”中的数字告诉我们。", "Single sign-on did not confirm this login: go back to the login page and try single sign-on again; if it still fails, use the password form where there is one, or tell us the number X at the bottom of the page."
	case ReasonIdentityDown:
		return "统一身份认证暂时不可用，请稍后再试。", "Unified identity is unavailable; try again in a minute."
	case ReasonBusy:
		return "现在登录的人很多，请几秒后再试；密码无需更改。", "Many people are logging in at once; try again in a few seconds. Your password was not refused."
	case ReasonBASTimeout:
		return "接入设备无响应（portal not response）：断开网络重连、清理浏览器缓存后刷新。", "The access device did not answer (portal not response): reconnect, clear the browser cache and reload."
	case ReasonAlreadyOnline:
		return "该地址已在线，可直接上网；如需更换账号请先注销。", "This address is already online; log out first to switch accounts."
	case ReasonRateLimited:
		return "尝试次数过多，请稍后再试。", "Too many attempts; try again later."
	default:
		return "", ""
	}
	return r.FixZH, r.FixEN
}

// RefuseOnlineAsAnother is the portal's refusal when the BAS already has
// the address online under another account: the page says what to do, not
// whose account it is.
func RefuseOnlineAsAnother() Refusal {
	return newRefusal(ReasonAlreadyOnline,
		"该地址已由另一个账号在线", "This address is already online under another account",
		"如需改用自己的账号，请先在状态页注销该地址上的账号，再重新登录。", "To use your own account, log out the account on this address on the status page first, then log in again.")
}

// DisconnectOutcome is what a Disconnect-Request (RFC 5176) to a BAS came to.
// A NAK or silence is never reported as success.
type DisconnectOutcome struct {
	ACK        bool
	ErrorCause int    // RFC 5176 Error-Cause of a NAK, 0 if none
	Detail     string // "acknowledged by dorm-bras-1", "NAK 503 session context not found", "no answer after 3 tries"
}

// Cycle is a billing cycle of one account in one billed area.
type Cycle struct {
	ID        int64  `db:"id"`
	AccountID int64  `db:"account_id"`
	Area      string `db:"area"`
	Fee       Fen    `db:"fee_fen"`
	StartedAt int64  `db:"started_at"`
	EndsAt    int64  `db:"ends_at"`
	Status    string `db:"status"` // "active" or "settled"
	SettledAt int64  `db:"settled_at"`
	// Plan is the plan the cycle runs under ("" for cycles from before
	// plans: the area's flat plan), Allowance the bytes it gave, Used the
	// counted traffic the meter added, ChargedGB the GB a per-GB plan has
	// charged past the allowance, and Profile what its traffic calls for.
	Plan      string  `db:"plan"`
	Allowance int64   `db:"allowance_bytes"`
	Used      int64   `db:"used_bytes"`
	ChargedGB int64   `db:"charged_gb"`
	Profile   Profile `db:"profile"`
}

// DormOpen is billing's rule for a billed area: an active cycle, or a
// balance that covers the cycle fee.
func DormOpen(balance, fee Fen, activeCycle bool) bool {
	return fee <= 0 || activeCycle || balance >= fee
}

// LoginToken is the portal's one-time token row (see internal/logintoken).
type LoginToken struct {
	ID        int64  `db:"id"`
	Nonce     string `db:"nonce"`
	AccountID int64  `db:"account_id"`
	Username  string `db:"username"`
	IP        string `db:"ip"`
	MAC       string `db:"mac"`
	UserAgent string `db:"user_agent"`
	Class     Class  `db:"class"`
	Signals   string `db:"signals"`
	NAS       string `db:"nas"`
	CreatedAt int64  `db:"created_at"`
	ExpiresAt int64  `db:"expires_at"`
	UsedAt    int64  `db:"used_at"`
}

// AuthLogEntry is one authentication decision.
type AuthLogEntry struct {
	ID        int64  `db:"id"`
	At        int64  `db:"at"`
	Username  string `db:"username"`
	AccountID *int64 `db:"account_id"`
	NAS       string `db:"nas"`
	MAC       string `db:"mac"`
	IP        string `db:"ip"`
	Method    string `db:"method"`
	Result    string `db:"result"`
	Reason    Reason `db:"reason"`
	Message   string `db:"message"`
	Node      string `db:"node"`
	TokenID   *int64 `db:"token_id"`
}
