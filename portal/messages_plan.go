package portal

import "github.com/campusnet/campusnet/internal/i18n"

// The plan block of the online and status pages (plan.go, templates/plan.html).
func init() {
	i18n.Register(
		[3]string{"portal.plan.title", "本周期流量", "Traffic this cycle"},
		[3]string{"portal.plan.used", "已用 %[1]s，共 %[2]s（%[3]d%%）", "Used %[1]s of %[2]s (%[3]d %%)"},
		[3]string{"portal.plan.packs", "其中流量包 %s", "of which packs: %s"},
		[3]string{"portal.plan.left", "剩余 %s", "%s left"},
		[3]string{"portal.plan.next_slow", "用到 100%% 后网速降为 %s", "at 100 %% your speed drops to %s"},
		[3]string{"portal.plan.next_slow_both", "用到 100%% 后网速降为下行 %[1]s、上行 %[2]s", "at 100 %% your speed drops to %[1]s down and %[2]s up"},
		[3]string{"portal.plan.next_block", "用到 100%% 后只能访问自助服务和缴费页面，购买流量包后恢复", "at 100 %% only self-service and payment stay reachable until you buy a pack"},
		[3]string{"portal.plan.next_per_gb", "超出后每用 1 GB（不足 1 GB 按 1 GB 计）从余额扣 %s 元", "past 100 %% each GB begun costs %s yuan from your balance"},
		[3]string{"portal.plan.slow_now", "本周期流量已用完，网速已降为 %[1]s；购买流量包后或新周期（%[2]s）开始时恢复。",
			"You have used this cycle's traffic: your speed is lowered to %[1]s until you buy a pack or the next cycle starts (%[2]s)."},
		[3]string{"portal.plan.slow_now_both", "本周期流量已用完，网速已降为下行 %[1]s、上行 %[2]s；购买流量包后或新周期（%[3]s）开始时恢复。",
			"You have used this cycle's traffic: your speed is lowered to %[1]s down and %[2]s up until you buy a pack or the next cycle starts (%[3]s)."},
		[3]string{"portal.plan.restricted_block", "本周期流量已用完，网络受限：只能访问自助服务和缴费页面，购买流量包后恢复。",
			"You have used this cycle's traffic: only self-service and payment are reachable until you buy a pack."},
		[3]string{"portal.plan.restricted_per_gb", "余额不足以支付超出的流量，网络受限：只能访问自助服务和缴费页面，充值后恢复。",
			"Your balance cannot pay for the traffic past your allowance: only self-service and payment are reachable until you recharge."},
		[3]string{"portal.plan.choose", "流量包与套餐", "Packs and plans"},
		[3]string{"portal.plan.as_of", "流量按接入设备的计费报文统计，比实际晚几分钟。", "Counted from the BAS's accounting, a few minutes behind."},
	)
}
