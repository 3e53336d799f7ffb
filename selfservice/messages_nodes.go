package selfservice

import "github.com/campusnet/campusnet/internal/i18n"

func init() {
	i18n.Register(
		[3]string{"selfservice.admin.node_stopped", "已停止（%s）", "stopped (%s)"},
	)
}
