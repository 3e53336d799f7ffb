package selfservice

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
	"github.com/campusnet/campusnet/internal/identity"
)

// The NOC operator's pages. Every change is made in the operator's name
// with a reason: kicks and unbinds are audited by the Disconnector and
// UnbindDevice, money changes by billing.

// adminUserData is the operator's view of one account.
type adminUserData struct {
	Account   access.Account
	Overview  overview
	Devices   devicesPage
	Sessions  []access.Session
	Refusals  []refusal
	Ledger    []access.LedgerEntry
	Audit     []access.AuditEntry
	Reference string // for the money form: a resubmitted form changes nothing
	HasMoney  bool
	// CanResetPassword: passwords are local (not a directory's), so the
	// desk can give a temporary one; TempPassword is the one just given,
	// shown on this response only.
	CanResetPassword bool
	TempPassword     string
	// Plans is the account's plan in each billed area (plan.go).
	Plans []nocPlan
}

func (s *Service) targetAccount(r *http.Request) (access.Account, error) {
	name, err := outsideText(mux.Vars(r)["username"], maxUsernameLen)
	if err != nil {
		return access.Account{}, errNotFound()
	}
	return s.st.AccountByUsername(r.Context(), name)
}

func (s *Service) adminUser(w http.ResponseWriter, r *http.Request, q *request) error {
	acc, err := s.targetAccount(r)
	if err != nil {
		return err
	}
	return s.adminUserPage(w, r, q, acc, "")
}

// adminUserPage renders an account's NOC page; tempPassword, when not
// empty, is a reset's temporary password, shown once.
func (s *Service) adminUserPage(w http.ResponseWriter, r *http.Request, q *request, acc access.Account, tempPassword string) error {
	ctx := r.Context()
	var err error
	d := adminUserData{Account: acc, Reference: "noc:" + newNonce(), HasMoney: s.deps.Money != nil,
		CanResetPassword: s.deps.Passwords != nil, TempPassword: tempPassword}
	if d.Overview, err = s.overview(ctx, acc); err != nil {
		return err
	}
	if d.Devices, err = s.devices(ctx, acc); err != nil {
		return err
	}
	if d.Plans, err = s.accountPlans(ctx, i18n.For(i18n.Negotiate(r)), acc); err != nil {
		return err
	}
	if d.Sessions, err = s.st.SessionsByAccount(ctx, acc.ID, false); err != nil {
		return err
	}
	if len(d.Sessions) > 50 {
		d.Sessions = d.Sessions[:50]
	}
	logs, err := s.st.AccountRefusals(ctx, acc.ID, acc.Username, 50)
	if err != nil {
		return err
	}
	for _, e := range logs {
		d.Refusals = append(d.Refusals, refusal{AuthLogEntry: e, Fix: pageFix(e.Reason)})
	}
	if d.Ledger, err = s.st.LedgerByAccount(ctx, acc.ID, 50); err != nil {
		return err
	}
	if d.Audit, err = s.st.AuditLog(ctx, acc.Username, 50); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "admin_user", q, acc.Username, d)
	return nil
}

func (s *Service) userURL(acc access.Account) string {
	return "/admin/users/" + url.PathEscape(acc.Username)
}

// operatorReason reads the reason an operator must give.
func operatorReason(r *http.Request) (string, error) {
	reason, err := outsideText(r.PostFormValue("reason"), maxReasonInput)
	if err != nil {
		return "", badField("selfservice.input.field.reason")
	}
	if reason == "" {
		return "", errBadRequest("请填写原因（会记入审计日志） / Give a reason (it goes into the audit log)")
	}
	if len(reason) > 500 {
		return "", errBadRequest("原因太长 / The reason is too long")
	}
	return reason, nil
}

func (s *Service) adminKick(w http.ResponseWriter, r *http.Request, q *request) error {
	acc, err := s.targetAccount(r)
	if err != nil {
		return err
	}
	var res disconnectResult
	reason, err := operatorReason(r)
	var id int64
	if err == nil {
		id, err = parseID(r.PostFormValue("session"))
	}
	if err == nil {
		res, err = s.kick(r.Context(), acc, id, q.acc.Username, closeOperNOC+": "+reason, "operator")
	}
	return s.formResult(w, r, q, s.userURL(acc), kickFlash(res), err)
}

func (s *Service) adminUnbind(w http.ResponseWriter, r *http.Request, q *request) error {
	acc, err := s.targetAccount(r)
	if err != nil {
		return err
	}
	var res unbindResult
	reason, err := operatorReason(r)
	if err == nil {
		res, err = s.unbind(r.Context(), acc, r.PostFormValue("mac"), q.acc.Username, reason, "operator")
	}
	return s.formResult(w, r, q, s.userURL(acc), unbindFlash(res), err)
}

// adminPasswordReset gives the account a temporary password that must be
// changed at the next login (the service desk, after checking the
// student's card), audited with the reason. The answer is the account's
// page with the password on it, not a redirect: it never goes into a
// cookie, and the page is not cached.
func (s *Service) adminPasswordReset(w http.ResponseWriter, r *http.Request, q *request) error {
	acc, err := s.targetAccount(r)
	if err != nil {
		return err
	}
	if s.deps.Passwords == nil {
		return s.formResult(w, r, q, s.userURL(acc), flash{}, &httpError{status: http.StatusConflict, code: CodeConflict,
			message: "密码在统一身份认证平台重置 / Passwords are reset on the unified identity site"})
	}
	reason, err := operatorReason(r)
	if err != nil {
		return s.formResult(w, r, q, s.userURL(acc), flash{}, err)
	}
	pw, hash, err := identity.TemporaryCredential()
	if err != nil {
		return err
	}
	if err := s.st.ResetPassword(r.Context(), q.acc.Username, acc.Username, hash, reason); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "password reset by an operator", "user", acc.Username, "actor", q.acc.Username)
	if acc, err = s.st.AccountByID(r.Context(), acc.ID); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.adminUserPage(w, r, q, acc, pw)
}

// adminDisable disables (disable = true) or enables the account, audited;
// disabling also takes its live sessions offline at their BASes.
func (s *Service) adminDisable(disable bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		acc, err := s.targetAccount(r)
		if err != nil {
			return err
		}
		reason, err := operatorReason(r)
		if err != nil {
			return s.formResult(w, r, q, s.userURL(acc), flash{}, err)
		}
		if err := s.st.SetDisabled(r.Context(), q.acc.Username, acc.Username, disable, reason); err != nil {
			return err
		}
		if !disable {
			return s.formResult(w, r, q, s.userURL(acc), flash{Kind: "ok", Text: pair("selfservice.flash.enabled")}, nil)
		}
		f := flash{Kind: "ok", Text: pair("selfservice.flash.disabled")}
		live, err := s.st.SessionsByAccount(r.Context(), acc.ID, true)
		if err != nil {
			return err
		}
		for _, se := range live {
			res, err := s.disconnect(r.Context(), se, q.acc.Username, closeOperNOC+": account disabled: "+reason, "operator")
			if err != nil {
				f.Kind, f.Text = "warn", f.Text+" "+asHTTPError(err).message
				continue
			}
			if !res.ACK {
				f.Kind = "warn"
			}
			f.Text += " " + res.text()
		}
		return s.formResult(w, r, q, s.userURL(acc), f, nil)
	}
}

var errNoMoney = errors.New("selfservice: billing is not wired")

func (s *Service) adminMoney(w http.ResponseWriter, r *http.Request, q *request) error {
	acc, err := s.targetAccount(r)
	if err != nil {
		return err
	}
	f, err := s.changeMoney(r, q, acc)
	return s.formResult(w, r, q, s.userURL(acc), f, err)
}

func (s *Service) changeMoney(r *http.Request, q *request, acc access.Account) (flash, error) {
	if s.deps.Money == nil {
		return flash{}, &httpError{status: http.StatusServiceUnavailable, code: CodeUnavailable,
			message: "本节点未接入计费，无法充值或调整 / Billing is not available on this node", err: errNoMoney}
	}
	reason, err := operatorReason(r)
	if err != nil {
		return flash{}, err
	}
	amount, err := parseYuan(r.PostFormValue("amount"))
	if err != nil {
		return flash{}, errBadRequest("金额格式不对，例如 20 或 12.50 / Bad amount: write e.g. 20 or 12.50")
	}
	kind := access.LedgerKind(r.PostFormValue("kind"))
	switch {
	case kind == access.LedgerRecharge && amount <= 0:
		return flash{}, errBadRequest("充值金额须大于 0 / A recharge must be positive")
	case kind == access.LedgerAdjustment && amount == 0:
		return flash{}, errBadRequest("调整金额不能为 0 / An adjustment cannot be zero")
	case kind != access.LedgerRecharge && kind != access.LedgerAdjustment:
		return flash{}, errBadRequest("请选择充值或调整 / Choose recharge or adjustment")
	}
	ref, err := outsideText(r.PostFormValue("reference"), 100)
	if err != nil {
		return flash{}, badField("selfservice.input.field.reference")
	}
	if ref == "" {
		return flash{}, errBadRequest("表单缺少编号，请刷新页面 / The form lacks its reference: reload the page")
	}
	var e access.LedgerEntry
	if kind == access.LedgerRecharge {
		e, err = s.deps.Money.Recharge(r.Context(), acc.Username, amount, q.acc.Username, ref, reason)
	} else {
		e, err = s.deps.Money.Adjust(r.Context(), acc.Username, amount, q.acc.Username, ref, reason, false)
	}
	switch {
	case errors.Is(err, access.ErrDuplicate):
		return flash{Kind: "warn", Text: pair("selfservice.flash.already_booked")}, nil
	case errors.Is(err, access.ErrNotFound):
		return flash{}, errNotFound()
	case err != nil:
		// Billing's refusals (amount out of range, a deduction into the
		// committed cycle fee) say what is wrong; operators read them.
		return flash{}, &httpError{status: http.StatusUnprocessableEntity, code: CodeBadRequest,
			message: "未能记账 / Not booked\n" + oneLine(err), err: err}
	}
	s.log.InfoContext(r.Context(), "balance changed by operator", "user", acc.Username, "actor", q.acc.Username,
		"kind", kind, "amount", amount.String(), "reason", reason)
	zh, en := i18n.For(i18n.Chinese), i18n.For(i18n.English)
	k := kindMessage(access.LedgerKind(kind))
	return flash{Kind: "ok", Text: zh.T("selfservice.flash.booked", zh.T(k), amount.String(), e.BalanceAfter.String()) + " / " +
		en.T("selfservice.flash.booked", en.T(k), amount.String(), e.BalanceAfter.String())}, nil
}

// nodeView is a portal node row.
type nodeView struct {
	access.PortalNode
	Stale     bool
	Stopped   bool // stopped cleanly (PortalNode.StoppedAt): never stale
	Age       time.Duration
	Highlight bool
}

// nodeQuery reads what a student reported: "3", "-3", "网络信息中心-3".
func nodeQuery(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.LastIndex(v, "网络信息中心"); i >= 0 {
		v = v[i+len("网络信息中心"):]
	}
	return strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(v), "-－—"))
}

func (s *Service) adminNodes(w http.ResponseWriter, r *http.Request, q *request) error {
	nodes, err := s.st.PortalNodes(r.Context())
	if err != nil {
		return err
	}
	want := nodeQuery(r.URL.Query().Get("node"))
	now := s.now()
	var views []nodeView
	found := false
	for _, n := range nodes {
		v := nodeView{PortalNode: n, Age: now.Sub(access.FromMillis(n.HeartbeatAt)).Truncate(time.Second)}
		v.Stopped = n.StoppedAt != 0
		v.Stale = !v.Stopped && (n.HeartbeatAt == 0 || v.Age > s.cfg.NodeStale)
		if want != "" && strings.EqualFold(n.NodeID, want) {
			v.Highlight, found = true, true
		}
		views = append(views, v)
	}
	s.render(w, r, http.StatusOK, "admin_nodes", q, "selfservice.admin.nodes", struct {
		Nodes     []nodeView
		Query     string
		NotFound  bool
		StaleSecs int
	}{views, want, want != "" && !found, int(s.cfg.NodeStale / time.Second)})
	return nil
}

// nasView is a BAS row: configuration merged with what the store saw.
type nasView struct {
	access.BAS
	LastRequestAt int64
	Online        int64
	Reserved      int64
	NotInConfig   bool
}

func (s *Service) adminNAS(w http.ResponseWriter, r *http.Request, q *request) error {
	acts, err := s.st.NASActivities(r.Context())
	if err != nil {
		return err
	}
	byName := map[string]access.NASActivity{}
	for _, a := range acts {
		byName[a.Name] = a
	}
	var views []nasView
	for _, n := range s.cfg.NAS {
		a := byName[n.Name]
		delete(byName, n.Name)
		views = append(views, nasView{BAS: n, LastRequestAt: a.LastRequestAt, Online: a.Online, Reserved: a.Reserved})
	}
	for _, a := range acts {
		if _, left := byName[a.Name]; left {
			ip, _ := netip.ParseAddr(a.IP) // recorded from a configured BAS: always an address
			views = append(views, nasView{BAS: access.BAS{Name: a.Name, IP: ip, Area: a.Area}, LastRequestAt: a.LastRequestAt,
				Online: a.Online, Reserved: a.Reserved, NotInConfig: true})
		}
	}
	s.render(w, r, http.StatusOK, "admin_nas", q, "selfservice.admin.nas", views)
	return nil
}
