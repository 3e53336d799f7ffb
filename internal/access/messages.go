package access

import "github.com/campusnet/campusnet/internal/i18n"

// The vocabulary's labels on pages, one catalogue entry each (id, Chinese,
// English): device classes (ClassMessage).
func init() {
	i18n.Register(
		[3]string{"access.class.pc", "电脑", "PC"},
		[3]string{"access.class.mobile", "移动设备", "mobile"},
		[3]string{"access.class.unknown", "未知", "unknown"},
	)
}
