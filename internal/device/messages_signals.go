package device

import "github.com/campusnet/campusnet/internal/i18n"

// SignalMessage is the catalogue id (internal/i18n) of a Signal* kind: a
// short phrase for a student, in Chinese or English.
func SignalMessage(kind string) string { return "device.signal." + kind }

func init() {
	i18n.Register(
		[3]string{SignalMessage(SignalOverride), "网络信息中心为这台设备设定了类别", "the network centre set this device's class"},
		[3]string{SignalMessage(SignalCHPhone), "浏览器的客户端提示说这是手机或平板", "the browser's client hints say it is a phone or tablet"},
		[3]string{SignalMessage(SignalPlatformPhone), "页面脚本读到的平台（navigator.platform）是手机或平板的，如 ARM Linux、iPhone",
			"the platform the page's script read (navigator.platform) is a phone's or tablet's, such as ARM Linux or iPhone"},
		[3]string{SignalMessage(SignalPlatformAppleTouch), "平台为 MacIntel 且有触摸屏：iPad，或开启“请求桌面网站”的 iPhone",
			"platform MacIntel with a touch screen: an iPad, or an iPhone asking for desktop websites"},
		[3]string{SignalMessage(SignalPlatformComputer), "页面脚本读到的平台是电脑的：Windows、没有触摸屏的 Mac 或 Linux、Chromebook",
			"the platform the page's script read is a computer's: Windows, a Mac or Linux without a touch screen, a Chromebook"},
		[3]string{SignalMessage(SignalUAPhone), "浏览器标识（UA）写的是手机系统或手机浏览器", "the browser's identity (User-Agent) names a phone OS or a phone browser"},
		[3]string{SignalMessage(SignalUAComputer), "浏览器标识（UA）写的是只有电脑才有的系统或程序", "the browser's identity (User-Agent) names a system or program only computers have"},
		[3]string{SignalMessage(SignalScreenSmallTouch), "小尺寸触摸屏（较短边不超过 600 像素）", "a small touch screen (shorter side at most 600 px)"},
		[3]string{SignalMessage(SignalScreenLarge), "没有触摸屏，且屏幕较大", "no touch screen, and a large screen"},
		[3]string{SignalMessage(SignalCHPlatformDesktop), "客户端提示 Sec-CH-UA-Platform 写的是电脑系统（Windows、macOS、Linux、Chrome OS）",
			"the client hint Sec-CH-UA-Platform names a computer OS (Windows, macOS, Linux, Chrome OS)"},
		[3]string{SignalMessage(SignalCHMobileNo), "浏览器要求电脑版页面（Sec-CH-UA-Mobile ?0）", "the browser asks for the desktop layout (Sec-CH-UA-Mobile ?0)"},
		[3]string{SignalMessage(SignalUADesktop), "浏览器标识（UA）写的是电脑系统（Windows、Mac、Linux）；手机的“电脑模式”也这样写",
			"the browser's identity (User-Agent) names a computer OS (Windows, Mac, Linux), as a phone in desktop mode does"},
		[3]string{SignalMessage(SignalMACRandom), "随机 MAC 地址（手机和平板默认使用）", "a randomised MAC address (phones and tablets use one by default)"},
	)
}
