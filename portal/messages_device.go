package portal

import "github.com/campusnet/campusnet/internal/i18n"

// The refusal page's account of a device counted as a PC (refused.html);
// the signal phrases themselves are internal/device's (device.SignalMessage).
func init() {
	i18n.Register(
		[3]string{"portal.refused.counted_pc", "这台设备被计为电脑，依据：", "This device was counted as a PC because of:"},
		[3]string{"portal.refused.phone_lost", "以下手机或平板的迹象排位较低，没有被采用：", "These signs of a phone or tablet ranked lower and lost:"},
		[3]string{"portal.refused.change_desktop",
			"如果这是手机或平板：在浏览器设置里关闭“电脑版/桌面版网站”（iPhone、iPad：关闭“请求桌面网站”），然后重新登录。",
			"If this is a phone or tablet: turn off desktop mode (“Desktop site”) in the browser's settings (iPhone, iPad: turn off “Request Desktop Website”), then log in again."},
		[3]string{"portal.refused.change_script",
			"本页的脚本没有运行，门户看不到触摸屏和屏幕尺寸：请允许浏览器运行 JavaScript 后重新登录。",
			"The page's script did not run, so the portal could not see the touch screen or the screen size: allow JavaScript and log in again."},
		[3]string{"portal.refused.change_register_mac",
			"仍被计为电脑时，可在自服务系统把这台设备（MAC %s）登记为移动设备，或请网络信息中心设定。",
			"If it still counts as a PC, register this device (MAC %s) as a mobile device in self-service, or ask the network centre to set it."},
		[3]string{"portal.refused.change_register",
			"仍被计为电脑时，可在自服务系统把这台设备登记为移动设备，或请网络信息中心设定。",
			"If it still counts as a PC, register this device as a mobile device in self-service, or ask the network centre to set it."},
	)
}
