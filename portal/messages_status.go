package portal

import "github.com/campusnet/campusnet/internal/i18n"

// The messages of the held-address status page, the online page's warnings
// and the pages a POST redirects to.
func init() {
	i18n.Register(
		[3]string{"portal.held.title", "该地址已被其他设备使用", "This address is in use by another device"},
		[3]string{"portal.held.body", "地址 %s 已在线，但不是在本设备（本浏览器）上登录的，本页不显示它的账号。",
			"Address %s is online, but not from a login on this device (this browser), so this page does not show its account."},
		[3]string{"portal.held.intro", "本设备多半拿到了别人正在使用的地址（DHCP 重新分配或设置了固定地址）。请按以下步骤处理：",
			"This device most likely got an address someone else is using (given again by DHCP, or set by hand). Do this:"},
		[3]string{"portal.held.step1", "检查网络设置是否为自动获取 IP 地址和自动获取 DNS，如果不是请设置成自动获取；",
			"Check that the network settings obtain the IP address and the DNS server automatically; if not, set them to automatic;"},
		[3]string{"portal.held.step2", "先断开网络再重新连接（或将网卡先禁用再启用）；",
			"Disconnect from the network and connect again (or disable the network adapter and enable it again);"},
		[3]string{"portal.held.step3", "仍不行：在“开始”菜单的“搜索”或“运行”中输入 cmd 回车，在提示符 > 后输入 ipconfig /release 回车，再输入 ipconfig /renew 回车；",
			"If that does not help: type cmd in the Start menu's search (or Run) and press Enter, then at the > prompt type ipconfig /release and press Enter, then ipconfig /renew and Enter;"},
		[3]string{"portal.held.step4", "再打开 http://1.1.1.1 正常登录。", "Then open http://1.1.1.1 and log in as usual."},
		[3]string{"portal.held.mine", "如果是你自己在另一个浏览器登录的：用上线页面收藏的状态链接注销，或在自服务系统下线。",
			"If it is your own login from another browser: log out with the status link you bookmarked on the online page, or go offline in self-service."},
		[3]string{"portal.password.saved", "新密码已保存：以后用新密码登录校园网和统一身份认证。",
			"Your new password is saved: use it from now on for the campus network and unified identity."},
		[3]string{"portal.online.low", "结算日 %s 将扣除本周期 %s 元，之后余额 %s 元不足下一周期的 %s 元，届时网络将断开：请在结算日前充值。",
			"On %s this cycle's %s yuan is charged; the %s yuan left will not cover the next cycle's %s yuan and the network will close then: recharge before that day."},
		[3]string{"portal.online.recharge", "去充值", "Recharge"},
		[3]string{"portal.result.expired.title", "页面已过期", "Page expired"},
		[3]string{"portal.online.invalid.title", "链接无效", "Invalid link"},
		[3]string{"portal.online.invalid", "状态链接无效或已过期。", "The status link is invalid or expired."},
		[3]string{"portal.result.expired", "这个结果页面已过期，请重新登录。", "This result page has expired: log in again."},
	)
}
