package selfservice

import "github.com/campusnet/campusnet/internal/i18n"

// The trace page's messages.
func init() {
	i18n.Register(
		[3]string{"selfservice.admin.trace", "地址追溯", "Trace an address"},
		[3]string{"selfservice.nav.trace", "追溯", "Trace"},
		[3]string{"selfservice.trace.intro", "查询某一时刻或某一时段持有某个 IPv4 地址、IPv6 地址或前缀（会话的 /64、Framed-IPv6-Prefix 或委派前缀内的地址即指向该会话）或 MAC 的会话：账号、姓名、设备、BAS 与端口、起止时间。每次查询连同操作员与事由记入审计日志。",
			"Which sessions held an IPv4 address, an IPv6 address or prefix (an address inside a session's /64, Framed-IPv6-Prefix or delegated prefix names it) or a MAC at a moment or in an interval: account, name, device, BAS and port, start and end. Every trace is written to the audit log with the operator and the reason."},
		[3]string{"selfservice.trace.key", "IP 地址、IPv6 前缀或 MAC", "IPv4/IPv6 address, IPv6 prefix or MAC"},
		[3]string{"selfservice.trace.at", "时刻", "Moment"},
		[3]string{"selfservice.trace.from", "开始", "From"},
		[3]string{"selfservice.trace.to", "结束", "To"},
		[3]string{"selfservice.trace.time_hint", "时间按校园时区 %s 读取，例如 2026-12-02 14:05、2026-12-02T14:05:00+08:00、yesterday 14:05。填写时刻，或开始与结束；都不填即现在。",
			"Times are read in the campus zone, %s: 2026-12-02 14:05, 2026-12-02T14:05:00+08:00, yesterday 14:05. Give a moment, or a start and an end; neither means now."},
		[3]string{"selfservice.trace.reason", "事由（案件或工单编号，必填）", "Reason (case or ticket number, required)"},
		[3]string{"selfservice.trace.submit", "查询", "Trace"},
		[3]string{"selfservice.trace.csv", "下载 CSV", "Download CSV"},
		[3]string{"selfservice.trace.csv_note", "CSV 为带 BOM 的 UTF-8 文件，Excel、WPS 直接打开即可正确显示中文姓名；时间带时区偏移。下载同样记入审计日志。",
			"The CSV is UTF-8 with a byte-order mark: Excel and WPS open it with Chinese names intact; times carry their offset. A download is audited too."},
		[3]string{"selfservice.trace.result", "%s %s：%d 个会话", "%s %s: %d session(s)"},
		[3]string{"selfservice.trace.none", "%s %s 没有会话持有该地址。", "No session held %s %s."},
		[3]string{"selfservice.trace.at_moment", "在 %s", "at %s"},
		[3]string{"selfservice.trace.between", "从 %s 到 %s", "from %s to %s"},
		[3]string{"selfservice.trace.rule", "会话从 Accounting-Start 起持有地址，到 Stop 为止；没有 Stop 的会话只计到最后一次 Interim-Update（BAS 最后一次报告它的时间）；在线的会话计到现在。",
			"A session holds the address from its Accounting-Start to its Stop; one with no Stop counts only up to its last Interim-Update (the last the BAS said of it); one online now, up to now."},
		[3]string{"selfservice.trace.timeline", "时间轴", "Timeline"},
		[3]string{"selfservice.trace.timeline_desc", "每行一个会话；虚线结尾表示没有 Stop 或仍在线；阴影为查询的时刻或时段。", "One session a row; a dashed end means no Stop or still online; the shade is the moment or interval asked."},
		[3]string{"selfservice.trace.col.until", "截至", "Until"},
		[3]string{"selfservice.trace.col.ended", "结束方式", "How it ended"},
		[3]string{"selfservice.trace.col.nas_port", "BAS 端口", "NAS port"},
		[3]string{"selfservice.trace.col.traffic", "流量（上行 / 下行）", "Traffic (up / down)"},
		[3]string{"selfservice.trace.end.stop", "收到 Stop", "Stop"},
		[3]string{"selfservice.trace.end.no_stop", "未收到 Stop（%s）：计至最后一次 Interim-Update", "no Stop (%s): counted to the last Interim-Update"},
		[3]string{"selfservice.trace.end.online", "当前在线", "online now"},
		[3]string{"selfservice.input.field.trace_key", "IP 地址、IPv6 前缀或 MAC", "address, prefix or MAC"},
		[3]string{"selfservice.input.field.trace_time", "时间", "time"},
	)
}
