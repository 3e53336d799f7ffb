package selfservice

import "github.com/campusnet/campusnet/internal/i18n"

// The NOC's plan views (plan.go): an account's plan and the traffic by plan.
func init() {
	i18n.Register(
		[3]string{"selfservice.nocplan.title", "套餐与流量", "Plan and traffic"},
		[3]string{"selfservice.nocplan.next", "下个周期：%s", "Next cycle: %s"},
		[3]string{"selfservice.nocplan.chosen", "（学生选择）", "(the student's choice)"},
		[3]string{"selfservice.nocplan.default", "（默认）", "(the default)"},
		[3]string{"selfservice.nocplan.no_cycle_now", "没有进行中的周期。", "No cycle is running."},
		[3]string{"selfservice.nocplan.cycle", "周期 %[1]s 至 %[2]s", "Cycle %[1]s to %[2]s"},
		[3]string{"selfservice.nocplan.used", "已用 %[1]s，上限 %[2]s（套餐 %[3]s 加流量包），剩余 %[4]s，%[5]d%%", "Used %[1]s of %[2]s (allowance %[3]s plus packs), %[4]s left, %[5]d %%"},
		[3]string{"selfservice.nocplan.used_flat", "已用 %s（不限量）", "Used %s (no allowance)"},
		[3]string{"selfservice.nocplan.profile", "当前速率", "Profile now"},
		[3]string{"selfservice.nocplan.profile.full", "正常速率", "full rate"},
		[3]string{"selfservice.nocplan.profile.slow", "已降速（超出流量）", "slowed (past the allowance)"},
		[3]string{"selfservice.nocplan.profile.restricted", "受限（只能访问自助服务和缴费）", "restricted (self-service and payment only)"},
		[3]string{"selfservice.nocplan.over_rule", "超出后", "Past the limit"},
		[3]string{"selfservice.nocplan.over.slow", "降速", "slowed down"},
		[3]string{"selfservice.nocplan.over.block", "受限，购买流量包后恢复", "restricted until a pack is bought"},
		[3]string{"selfservice.nocplan.over.per_gb", "按 GB 从余额扣费", "charged per GB from the balance"},
		[3]string{"selfservice.nocplan.over.flat", "不限量", "no allowance"},
		[3]string{"selfservice.nocplan.packs", "流量包", "Packs"},
		[3]string{"selfservice.nocplan.no_packs", "没有有效的流量包。", "No pack in force."},
		[3]string{"selfservice.nocplan.col.pack", "流量包", "Pack"},
		[3]string{"selfservice.nocplan.col.size", "容量", "Size"},
		[3]string{"selfservice.nocplan.col.used", "已用", "Used"},
		[3]string{"selfservice.nocplan.col.bought", "购买时间", "Bought"},
		[3]string{"selfservice.nocplan.col.until", "有效期至", "Until"},
		[3]string{"selfservice.nocplan.last_30d", "最近 30 天流量（按套餐）", "Traffic of the last 30 days, by plan"},
		[3]string{"selfservice.nocplan.chart", "%[1]s 至 %[2]s 每日流量（按套餐）", "Traffic per day by plan, %[1]s to %[2]s"},
		[3]string{"selfservice.nocplan.chart_desc", "每根柱为全校当天的上下行流量，按账号当天所在周期的套餐分段。", "Each bar is the campus's traffic of the day, both directions, stacked by the plan of each account's cycle that day."},
		[3]string{"selfservice.nocplan.no_traffic", "最近 30 天没有流量记录。", "No traffic in the last 30 days."},
		[3]string{"selfservice.nocplan.no_cycle", "无计费周期", "no cycle"},
		[3]string{"selfservice.nocplan.flat", "%s（包月）", "%s (flat)"},
	)
}
