package selfservice

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
)

// The JSON API for the campus app: the same session cookie and rules as the
// pages. Unsafe methods carry the session's CSRF token in X-CSRF-Token (the
// login and /me answers include it). Times are RFC 3339 in the configured
// zone, omitted when unknown; money is integer fen plus a yuan string.

type apiAccount struct {
	Username   string      `json:"username"`
	Name       string      `json:"name"`
	Role       access.Role `json:"role"`
	MustChange bool        `json:"must_change"`
	Admin      bool        `json:"admin"`
}

type apiCycle struct {
	ID        int64  `json:"id"`
	Area      string `json:"area"`
	FeeFen    int64  `json:"fee_fen"`
	StartedAt string `json:"started_at"`
	EndsAt    string `json:"ends_at"` // the settlement date
	DaysLeft  int    `json:"days_left"`
}

type apiArea struct {
	Name      string    `json:"name"`
	FeeFen    int64     `json:"fee_fen"`
	CycleDays int       `json:"cycle_days"`
	Open      bool      `json:"open"` // the area lets the account in now
	Cycle     *apiCycle `json:"cycle"`
	Warning   string    `json:"warning,omitempty"`
	Note      string    `json:"note,omitempty"`
}

type apiMe struct {
	Account      apiAccount `json:"account"`
	BalanceFen   int64      `json:"balance_fen"`
	Balance      string     `json:"balance"` // yuan, "12.50"
	CommittedFen int64      `json:"committed_fen"`
	Cycle        *apiCycle  `json:"cycle"` // the first billed area's running cycle, or null
	Areas        []apiArea  `json:"areas"`
	PaymentURL   string     `json:"payment_url,omitempty"`
	CSRFToken    string     `json:"csrf_token"`
}

type apiDevice struct {
	MAC        string       `json:"mac"`
	Class      access.Class `json:"class"`
	Signals    string       `json:"signals"` // why it has that class
	Bound      bool         `json:"bound"`   // may log in by MAC (seamless)
	BoundBy    string       `json:"bound_by,omitempty"`
	LastSeenAt string       `json:"last_seen_at,omitempty"`
	Online     bool         `json:"online"`
	SessionIDs []int64      `json:"session_ids"`
}

type apiSession struct {
	ID           int64               `json:"id"`
	NAS          string              `json:"nas"`
	Area         string              `json:"area"`
	MAC          string              `json:"mac"`
	IP           string              `json:"ip"`
	Class        access.Class        `json:"class"`
	Status       access.SessionState `json:"status"`
	StartedAt    string              `json:"started_at,omitempty"`
	LastUpdateAt string              `json:"last_update_at,omitempty"`
	InputOctets  int64               `json:"input_octets"`
	OutputOctets int64               `json:"output_octets"`
	// The IPv6 side: address, link prefix, delegated prefix, and the IPv6
	// part of the octets above (Huawei/H3C IPv6 counters).
	IP6           string `json:"ip6,omitempty"`
	IP6Prefix     string `json:"ip6_prefix,omitempty"`
	IP6Delegated  string `json:"ip6_delegated,omitempty"`
	InputOctets6  int64  `json:"input_octets6"`
	OutputOctets6 int64  `json:"output_octets6"`
}

type apiLedger struct {
	ID              int64             `json:"id"`
	Kind            access.LedgerKind `json:"kind"`
	AmountFen       int64             `json:"amount_fen"`
	BalanceAfterFen int64             `json:"balance_after_fen"`
	Reference       string            `json:"reference"`
	Reason          string            `json:"reason,omitempty"`
	CreatedAt       string            `json:"created_at"`
}

type apiRefusal struct {
	At      string        `json:"at"`
	MAC     string        `json:"mac,omitempty"`
	IP      string        `json:"ip,omitempty"`
	NAS     string        `json:"nas,omitempty"`
	Reason  access.Reason `json:"reason"`
	Message string        `json:"message"`
	Fix     string        `json:"fix"`
}

// iso formats unix ms; "" for 0.
func (s *Service) iso(ms int64) string {
	if ms == 0 {
		return ""
	}
	return access.FromMillis(ms).In(s.cfg.Location).Format(time.RFC3339)
}

func (s *Service) apiAccount(q *request) apiAccount {
	return apiAccount{Username: q.acc.Username, Name: q.acc.Name, Role: q.acc.Role, MustChange: s.mustChange(q.acc), Admin: q.admin}
}

type loginBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Service) apiLogin(w http.ResponseWriter, r *http.Request, _ *request) error {
	var b loginBody
	if err := readJSON(r, &b); err != nil {
		return err
	}
	if s.cfg.NoPasswordLogin {
		// Single sign-on only ([identity.sso] password_login = false).
		return errRefusal(http.StatusForbidden, access.RefuseUseSSO())
	}
	acc, err := s.login(r.Context(), r, b.Username, b.Password)
	if err != nil {
		return err
	}
	sess := s.startSession(w, r, acc)
	q := &request{sess: sess, acc: acc, csrf: s.keys.csrfToken(sess.Nonce), admin: s.isAdmin(acc.Username)}
	writeJSON(w, http.StatusOK, struct {
		Account   apiAccount `json:"account"`
		CSRFToken string     `json:"csrf_token"`
	}{s.apiAccount(q), q.csrf})
	return nil
}

func (s *Service) apiLogout(w http.ResponseWriter, r *http.Request, q *request) error {
	s.endSession(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) apiMe(w http.ResponseWriter, r *http.Request, q *request) error {
	ov, err := s.overview(r.Context(), q.acc)
	if err != nil {
		return err
	}
	me := apiMe{Account: s.apiAccount(q), BalanceFen: int64(ov.Balance), Balance: ov.Balance.String(),
		CommittedFen: int64(ov.Committed), Areas: []apiArea{}, PaymentURL: ov.PaymentURL, CSRFToken: q.csrf}
	for _, a := range ov.Areas {
		aa := apiArea{Name: a.Name, FeeFen: int64(a.Fee), CycleDays: a.CycleDays, Open: a.Open, Warning: a.Warning, Note: a.Note}
		if a.Active {
			aa.Cycle = &apiCycle{ID: a.Cycle.ID, Area: a.Name, FeeFen: int64(a.Cycle.Fee),
				StartedAt: s.iso(a.Cycle.StartedAt), EndsAt: s.iso(a.Cycle.EndsAt), DaysLeft: a.DaysLeft}
			if me.Cycle == nil {
				me.Cycle = aa.Cycle
			}
		}
		me.Areas = append(me.Areas, aa)
	}
	writeJSON(w, http.StatusOK, me)
	return nil
}

type passwordBody struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

func (s *Service) apiPassword(w http.ResponseWriter, r *http.Request, q *request) error {
	var b passwordBody
	if err := readJSON(r, &b); err != nil {
		return err
	}
	if err := s.changePassword(w, r, q, b.OldPassword, b.NewPassword); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Account   apiAccount `json:"account"`
		CSRFToken string     `json:"csrf_token"`
	}{s.apiAccount(q), q.csrf})
	return nil
}

func (s *Service) apiDevice(d access.Device, sessions []access.Session) apiDevice {
	v := apiDevice{MAC: d.MAC, Class: d.Class, Signals: d.Signals, Bound: d.Bound, BoundBy: d.BoundBy,
		LastSeenAt: s.iso(d.LastSeenAt), SessionIDs: []int64{}}
	for _, se := range sessions {
		v.SessionIDs = append(v.SessionIDs, se.ID)
	}
	v.Online = len(v.SessionIDs) > 0
	return v
}

func (s *Service) apiDevices(w http.ResponseWriter, r *http.Request, q *request) error {
	p, err := s.devices(r.Context(), q.acc)
	if err != nil {
		return err
	}
	out := struct {
		Devices   []apiDevice `json:"devices"`
		Bound     int         `json:"bound"`
		BindLimit int         `json:"bind_limit"`
	}{Devices: []apiDevice{}, Bound: p.Bound, BindLimit: p.BindLimit}
	for _, d := range p.Devices {
		out.Devices = append(out.Devices, s.apiDevice(d.Device, d.Sessions))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type registerBody struct {
	MAC   string       `json:"mac"`
	Class access.Class `json:"class"`
}

func (s *Service) apiRegister(w http.ResponseWriter, r *http.Request, q *request) error {
	var b registerBody
	if err := readJSON(r, &b); err != nil {
		return err
	}
	d, err := s.register(r.Context(), q.acc, b.MAC, b.Class, q.acc.Username)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.apiDevice(d, nil))
	return nil
}

func (s *Service) apiUnbind(w http.ResponseWriter, r *http.Request, q *request) error {
	res, err := s.unbind(r.Context(), q.acc, mux.Vars(r)["mac"], q.acc.Username, "self-service unbind", "student")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Service) apiSession(se access.Session) apiSession {
	return apiSession{ID: se.ID, NAS: se.NAS, Area: se.Area, MAC: se.MAC, IP: se.IP, Class: se.Class, Status: se.Status,
		StartedAt: s.iso(se.StartedAt), LastUpdateAt: s.iso(se.LastUpdateAt), InputOctets: se.InputOctets, OutputOctets: se.OutputOctets,
		IP6: se.IP6, IP6Prefix: se.IP6Prefix, IP6Delegated: se.IP6Delegated, InputOctets6: se.InputOctets6, OutputOctets6: se.OutputOctets6}
}

func (s *Service) apiSessions(w http.ResponseWriter, r *http.Request, q *request) error {
	sessions, err := s.st.SessionsByAccount(r.Context(), q.acc.ID, true)
	if err != nil {
		return err
	}
	out := struct {
		Sessions []apiSession `json:"sessions"`
	}{[]apiSession{}}
	for _, se := range sessions {
		if live(se) {
			out.Sessions = append(out.Sessions, s.apiSession(se))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) apiKick(w http.ResponseWriter, r *http.Request, q *request) error {
	id, err := parseID(mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	res, err := s.kick(r.Context(), q.acc, id, q.acc.Username, closeKick, "student")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Service) apiLedger(w http.ResponseWriter, r *http.Request, q *request) error {
	entries, err := s.st.LedgerByAccount(r.Context(), q.acc.ID, 200)
	if err != nil {
		return err
	}
	out := struct {
		BalanceFen int64       `json:"balance_fen"`
		Entries    []apiLedger `json:"entries"`
	}{int64(q.acc.Balance), []apiLedger{}}
	for _, e := range entries {
		out.Entries = append(out.Entries, apiLedger{ID: e.ID, Kind: e.Kind, AmountFen: int64(e.Amount),
			BalanceAfterFen: int64(e.BalanceAfter), Reference: e.Reference, Reason: e.Reason, CreatedAt: s.iso(e.CreatedAt)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// apiUsage is the traffic per day of the overview's chart: the current
// cycle, or the last 30 days without one.
func (s *Service) apiUsage(w http.ResponseWriter, r *http.Request, q *request) error {
	ov, err := s.overview(r.Context(), q.acc)
	if err != nil {
		return err
	}
	tr, err := s.traffic(r.Context(), i18n.For(i18n.Chinese), q.acc, ov)
	if err != nil {
		return err
	}
	type day struct {
		Day           string `json:"day"`
		DownloadBytes int64  `json:"download_bytes"`
		UploadBytes   int64  `json:"upload_bytes"`
	}
	out := struct {
		From          string `json:"from"`
		To            string `json:"to"`
		DownloadBytes int64  `json:"download_bytes"`
		UploadBytes   int64  `json:"upload_bytes"`
		Days          []day  `json:"days"`
	}{tr.From, tr.To, tr.Download, tr.Upload, []day{}}
	for i, d := range tr.Days {
		out.Days = append(out.Days, day{Day: d, DownloadBytes: tr.Chart.Series[0].Values[i], UploadBytes: tr.Chart.Series[1].Values[i]})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) apiRefusals(w http.ResponseWriter, r *http.Request, q *request) error {
	logs, err := s.st.AccountRefusals(r.Context(), q.acc.ID, q.acc.Username, 20)
	if err != nil {
		return err
	}
	out := struct {
		Refusals []apiRefusal `json:"refusals"`
	}{[]apiRefusal{}}
	for _, e := range logs {
		out.Refusals = append(out.Refusals, apiRefusal{At: s.iso(e.At), MAC: e.MAC, IP: e.IP, NAS: e.NAS,
			Reason: e.Reason, Message: e.Message, Fix: access.Explain(e.Reason)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) apiNotFound(w http.ResponseWriter, r *http.Request, q *request) error {
	return errNotFound()
}
