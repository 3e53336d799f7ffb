package portal

import "github.com/campusnet/campusnet/internal/i18n"

// The online page's notice of the walled garden (docs/plans.md).
func init() {
	i18n.Register(
		[3]string{"portal.online.garden", "余额 %s 元不足本周期费用 %s 元：现在只能访问校园网登录、自服务和缴费平台。充值后立即恢复上网，无需重新登录。",
			"Your balance of %s yuan does not cover the cycle fee of %s yuan: for now only the campus network login, self-service and the payment site can be reached. Recharge and the network opens at once, without logging in again."},
	)
}
