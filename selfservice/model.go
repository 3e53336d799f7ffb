package selfservice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// What the pages and the API show, computed once for both.

// areaStatus is one billed area as the overview explains it.
type areaStatus struct {
	Name       string
	Fee        access.Fen
	CycleDays  int
	Active     bool         // a cycle is running
	Cycle      access.Cycle // the active cycle, when Active
	DaysLeft   int
	Open       bool       // the area lets this account in now
	AfterSettl access.Fen // balance after this cycle's fee is charged
	Warning    string     // Chinese / English; "" when all is well
	Note       string
}

// overview is the account's money situation.
type overview struct {
	Account    access.Account
	Balance    access.Fen
	Committed  access.Fen // fees of running cycles, charged at their settlement
	Areas      []areaStatus
	PaymentURL string
}

func (s *Service) overview(ctx context.Context, acc access.Account) (overview, error) {
	ov := overview{Account: acc, Balance: acc.Balance, PaymentURL: s.cfg.PaymentURL}
	cycles, err := s.st.CyclesByAccount(ctx, acc.ID, 50)
	if err != nil {
		return ov, err
	}
	active := map[string]access.Cycle{}
	for _, c := range cycles {
		if c.Status == "active" {
			active[c.Area] = c
			ov.Committed += c.Fee
		}
	}
	now := s.now()
	for _, a := range s.cfg.Areas {
		if !a.Billed() || !a.OpenTo(acc.Role) {
			continue
		}
		// The fee and length that open the area are the next cycle's: the
		// plan the student chose, or the default (docs/plans.md).
		next, err := s.st.NextPlan(ctx, acc.ID, a)
		if err != nil {
			return ov, err
		}
		fee := next.Fee
		st := areaStatus{Name: a.Name, Fee: fee, CycleDays: int(next.Cycle / (24 * time.Hour))}
		zhName, enName := a.Names()
		c, ok := active[a.Name]
		st.Active, st.Cycle = ok, c
		st.Open = access.DormOpen(acc.Balance, fee, ok)
		if ok {
			left := access.FromMillis(c.EndsAt).Sub(now)
			st.DaysLeft = max(0, int((left+24*time.Hour-1)/(24*time.Hour)))
			st.AfterSettl = acc.Balance - ov.Committed
			end := s.day(c.EndsAt)
			if st.AfterSettl < fee {
				st.Warning = fmt.Sprintf("结算日 %s 将扣除本周期 %s 元，之后余额 %s 元不足下一周期的 %s 元，届时%s网络将断开：请在结算日前充值。 / On %s this cycle's %s yuan is charged; the %s yuan left will not cover the next cycle's %s yuan and the %s network will close: recharge before then.",
					end, c.Fee, st.AfterSettl, fee, zhName, end, c.Fee, st.AfterSettl, fee, enName)
			} else {
				st.Note = fmt.Sprintf("结算日 %s 扣除 %s 元后自动开始下一周期。 / On %s the %s yuan fee is charged and the next cycle starts by itself.", end, c.Fee, end, c.Fee)
			}
		} else if st.Open {
			st.Note = fmt.Sprintf("余额足够：下次在%s登录时开始新周期（%d 天），结算日扣除 %s 元。 / The balance covers the fee: a %d-day cycle starts at your next login in %s, and %s yuan is charged at its end.",
				zhName, st.CycleDays, fee, st.CycleDays, enName, fee)
		} else {
			st.Warning = access.RefuseArrears(acc.Balance, fee, s.cfg.PaymentURL).Message
		}
		ov.Areas = append(ov.Areas, st)
	}
	return ov, nil
}

// deviceView is one known device and whether it is online.
type deviceView struct {
	access.Device
	Online   bool
	Sessions []access.Session // its live sessions
}

// devicesPage is everything the devices page shows.
type devicesPage struct {
	Devices   []deviceView
	Live      []access.Session // every live session of the account
	Bound     int
	BindLimit int
}

func live(sess access.Session) bool {
	return sess.Status == access.SessionOnline || sess.Status == access.SessionReserved
}

func (s *Service) devices(ctx context.Context, acc access.Account) (devicesPage, error) {
	var p devicesPage
	devs, err := s.st.DevicesByAccount(ctx, acc.ID)
	if err != nil {
		return p, err
	}
	sessions, err := s.st.SessionsByAccount(ctx, acc.ID, true)
	if err != nil {
		return p, err
	}
	for _, se := range sessions {
		if live(se) {
			p.Live = append(p.Live, se)
		}
	}
	for _, d := range devs {
		v := deviceView{Device: d}
		for _, se := range p.Live {
			if se.MAC == d.MAC {
				v.Online = true
				v.Sessions = append(v.Sessions, se)
			}
		}
		if d.Bound {
			p.Bound++
		}
		p.Devices = append(p.Devices, v)
	}
	p.BindLimit = s.bindLimit()
	return p, nil
}

// refusal is an auth_log refusal with what to do about it.
type refusal struct {
	access.AuthLogEntry
	Fix string
}

// whyPage is the "why can't I get online?" page.
type whyPage struct {
	Refusals []refusal
	Overview overview
	Devices  devicesPage
	Limits   []access.Area // limited areas open to the account
}

func (s *Service) why(ctx context.Context, acc access.Account) (whyPage, error) {
	var p whyPage
	logs, err := s.st.AccountRefusals(ctx, acc.ID, acc.Username, 20)
	if err != nil {
		return p, err
	}
	for _, e := range logs {
		p.Refusals = append(p.Refusals, refusal{AuthLogEntry: e, Fix: pageFix(e.Reason)})
	}
	if p.Overview, err = s.overview(ctx, acc); err != nil {
		return p, err
	}
	if p.Devices, err = s.devices(ctx, acc); err != nil {
		return p, err
	}
	for _, a := range s.cfg.Areas {
		if (a.MaxPC > 0 || a.MaxMobile > 0) && a.OpenTo(acc.Role) {
			p.Limits = append(p.Limits, a)
		}
	}
	return p, nil
}

// Reasons passed to the Disconnector (the session's close_reason).
const (
	closeKick    = "user_kick"   // the student took a session offline
	closeUnbind  = "mac_unbound" // the device's MAC was unbound
	closeOperNOC = "admin_kick"  // prefix of an operator's kick; the reason follows
)

// disconnectResult is what one Disconnect-Request came to.
type disconnectResult struct {
	SessionID int64  `json:"session_id"`
	MAC       string `json:"mac"`
	NAS       string `json:"nas"`
	ACK       bool   `json:"acknowledged"`
	Cause     int    `json:"error_cause,omitempty"`
	Detail    string `json:"detail"`
}

// text describes the result for a person.
func (d disconnectResult) text() string {
	if d.ACK {
		return fmt.Sprintf("接入设备 %s 已确认 %s 下线。 / BAS %s acknowledged: %s is offline.", d.NAS, d.MAC, d.NAS, d.MAC)
	}
	return fmt.Sprintf("接入设备 %s 未确认下线 %s：%s / BAS %s did not acknowledge the disconnect of %s: %s", d.NAS, d.MAC, d.Detail, d.NAS, d.MAC, d.Detail)
}

var errNoDisconnector = errors.New("selfservice: no Disconnect client in this process")

// disconnect asks the BAS to end one session. who is "student" or "operator"
// for the metrics.
func (s *Service) disconnect(ctx context.Context, se access.Session, actor, reason, who string) (disconnectResult, error) {
	res := disconnectResult{SessionID: se.ID, MAC: se.MAC, NAS: se.NAS}
	if s.deps.Disconnector == nil {
		s.metrics.disconnects.WithLabelValues(who, "error").Inc()
		return res, &httpError{status: http.StatusServiceUnavailable, code: CodeDisconnectFailed,
			message: "本节点无法发送下线请求，请稍后再试或联系网络中心 / This node cannot send Disconnect-Requests: try again later or call the network centre",
			err:     errNoDisconnector}
	}
	out, err := s.deps.Disconnector.DisconnectSession(ctx, se.ID, actor, reason)
	if err != nil {
		s.metrics.disconnects.WithLabelValues(who, "error").Inc()
		return res, &httpError{status: http.StatusBadGateway, code: CodeDisconnectFailed,
			message: "下线请求未能发出：" + oneLine(err) + " / The Disconnect-Request could not be sent",
			err:     err}
	}
	res.ACK, res.Cause, res.Detail = out.ACK, out.ErrorCause, out.Detail
	result := "nak"
	if out.ACK {
		result = "ack"
	}
	s.metrics.disconnects.WithLabelValues(who, result).Inc()
	s.log.DebugContext(ctx, "disconnect", "user", se.Username, "session", se.ID, "mac", se.MAC, "nas", se.NAS,
		"actor", actor, "reason", reason, "ack", out.ACK, "detail", out.Detail)
	return res, nil
}

// oneLine keeps an error's text short enough for a page.
func oneLine(err error) string {
	t := strings.Join(strings.Fields(err.Error()), " ")
	if len(t) > 200 {
		t = t[:200] + "…"
	}
	return t
}

// kick takes one of acc's live sessions offline. A session of another
// account is "not found", the same as one that does not exist.
func (s *Service) kick(ctx context.Context, acc access.Account, id int64, actor, reason, who string) (disconnectResult, error) {
	se, err := s.st.SessionByID(ctx, id)
	if errors.Is(err, access.ErrNotFound) || (err == nil && se.AccountID != acc.ID) {
		return disconnectResult{}, errNotFound()
	}
	if err != nil {
		return disconnectResult{}, err
	}
	if !live(se) {
		return disconnectResult{}, &httpError{status: http.StatusConflict, code: CodeConflict,
			message: "该会话已经结束 / That session has already ended"}
	}
	return s.disconnect(ctx, se, actor, reason, who)
}

// unbindResult is what unbinding a MAC did.
type unbindResult struct {
	MAC         string             `json:"mac"`
	WasBound    bool               `json:"was_bound"`
	Disconnects []disconnectResult `json:"disconnects"`
	Errors      []string           `json:"errors,omitempty"`
}

// unbind removes acc's binding of mac and takes the device offline where it
// is online. The binding goes first, so the device cannot come straight
// back by MAC authentication.
func (s *Service) unbind(ctx context.Context, acc access.Account, rawMAC, actor, reason, who string) (unbindResult, error) {
	mac, err := access.NormalizeMAC(rawMAC)
	if err != nil {
		return unbindResult{}, errBadRequest("MAC 地址格式不对 / Not a MAC address")
	}
	res := unbindResult{MAC: mac, Disconnects: []disconnectResult{}}
	devs, err := s.st.DevicesByAccount(ctx, acc.ID)
	if err != nil {
		return res, err
	}
	i := slices.IndexFunc(devs, func(d access.Device) bool { return d.MAC == mac })
	if i < 0 {
		return res, errNotFound()
	}
	res.WasBound = devs[i].Bound
	if devs[i].Bound {
		if _, err := s.st.UnbindDevice(ctx, acc.ID, mac, actor, reason); err != nil && !errors.Is(err, access.ErrNotFound) {
			return res, err
		}
		s.metrics.devices.WithLabelValues("unbind").Inc()
	}
	sessions, err := s.st.LiveSessionsByMAC(ctx, mac)
	if err != nil {
		return res, err
	}
	for _, se := range sessions {
		if se.AccountID != acc.ID || !live(se) {
			continue
		}
		d, err := s.disconnect(ctx, se, actor, closeUnbind, who)
		if err != nil {
			res.Errors = append(res.Errors, asHTTPError(err).message)
			continue
		}
		res.Disconnects = append(res.Disconnects, d)
	}
	return res, nil
}

// register binds a device without a browser (game console, TV) to acc.
func (s *Service) register(ctx context.Context, acc access.Account, rawMAC string, class access.Class, actor string) (access.Device, error) {
	mac, err := access.NormalizeMAC(rawMAC)
	if err != nil {
		return access.Device{}, errBadRequest("MAC 地址格式不对，例如 00-1A-2B-3C-4D-5E / Not a MAC address, e.g. 00-1A-2B-3C-4D-5E")
	}
	if class != access.ClassPC && class != access.ClassMobile {
		return access.Device{}, errBadRequest("请选择设备类型：电脑或移动设备 / Choose the device class: pc or mobile")
	}
	d, err := s.st.BindDevice(ctx, acc.ID, mac, class, actor, "registered in self-service", s.bindLimit())
	if errors.Is(err, access.ErrConflict) {
		return d, &httpError{status: http.StatusConflict, code: CodeConflict, err: err,
			message: fmt.Sprintf("无法绑定 %s：该 MAC 已绑定到其他账户，或已达到绑定上限 %d 台（请先解绑不用的设备） / Cannot bind %s: it is bound to another account, or you reached the limit of %d bound devices (unbind one you no longer use)",
				mac, s.bindLimit(), mac, s.bindLimit())}
	}
	if err == nil {
		s.metrics.devices.WithLabelValues("bind").Inc()
	}
	return d, err
}

// parseID reads a positive decimal id.
func parseID(v string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadRequest("编号不对 / Bad id")
	}
	return id, nil
}

// day formats a unix-ms time as a date in the configured zone.
func (s *Service) day(ms int64) string {
	return access.FromMillis(ms).In(s.cfg.Location).Format("2006-01-02")
}

// pageFix is the fix for a reason code on a page: ExplainText's two texts
// as one "中文 / English" pair, which the page shows one of. It leaves out
// what only the portal's page has (the node footer) and a second wait.
func pageFix(code access.Reason) string {
	zh, en := access.ExplainText(code)
	if zh == "" {
		return ""
	}
	return zh + " / " + en
}
