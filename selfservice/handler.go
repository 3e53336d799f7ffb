package selfservice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// opts say who may reach a handler.
type opts uint8

const (
	// public handlers need no session.
	public opts = 1 << iota
	// adminOnly handlers need an account listed in Config.Admins.
	adminOnly
	// mustChangeOK handlers stay reachable while a local account still has
	// its initial password (the password form, logout, /api/v1/me).
	mustChangeOK
)

// maxBody bounds every request body (forms, JSON, the webhook) but the
// NOC import's uploads (maxUploadBody).
const maxBody = 64 << 10

// uploadRoutes are the routes whose bodies may be up to maxUploadBody.
var uploadRoutes = map[string]bool{"admin_import_users": true, "admin_import_devices": true}

// request is what a handler knows about its caller.
type request struct {
	sess  session
	acc   access.Account
	csrf  string
	admin bool
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, q *request) error

var errMustChange = errors.New("selfservice: password must be changed first")

// authorize checks the session, the account behind it and o. POSTs and
// other unsafe methods must carry the session's CSRF token (form field or
// header).
func (s *Service) authorize(w http.ResponseWriter, r *http.Request, o opts, api bool) (*request, error) {
	sess, ok := s.readSession(r)
	if !ok {
		return nil, errUnauthenticated()
	}
	acc, err := s.st.AccountByID(r.Context(), sess.Account)
	if errors.Is(err, access.ErrNotFound) {
		s.endSession(w, r)
		return nil, errUnauthenticated()
	}
	if err != nil {
		return nil, err
	}
	if acc.Username != sess.User || s.keys.pwTag(acc) != sess.PW || acc.Disabled {
		// Password changed elsewhere, or account disabled: log in again.
		s.endSession(w, r)
		return nil, errUnauthenticated()
	}
	q := &request{sess: sess, acc: acc, csrf: s.keys.csrfToken(sess.Nonce), admin: s.isAdmin(acc.Username)}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		got := r.Header.Get(csrfHeader)
		if !api && got == "" {
			if err := parsePostForm(r); err != nil {
				return nil, err
			}
			got = r.PostFormValue(csrfField)
		}
		if !tokenEqual(got, q.csrf) {
			return nil, errCSRF()
		}
	}
	if s.mustChange(acc) && o&mustChangeOK == 0 {
		return q, errMustChange
	}
	if o&adminOnly != 0 && !q.admin {
		return q, errForbidden()
	}
	s.touch(w, r, sess)
	return q, nil
}

// mustChange reports whether the account has to replace its initial
// password before anything else (local backend only).
func (s *Service) mustChange(a access.Account) bool { return s.deps.Passwords != nil && a.MustChange }

// parsePostForm parses a urlencoded or multipart form (an upload stays in
// memory: the body is bounded). A body over its bound is refused as too
// large; other malformed forms just lack the CSRF token.
func parsePostForm(r *http.Request) error {
	err := r.ParseMultipartForm(maxUploadBody)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		msg := "提交的内容太大，什么都没有改动 / The request is too large; nothing was changed"
		if mbe.Limit > maxBody {
			msg = fmt.Sprintf("文件太大（最多 %d MiB），什么都没有改动 / The file is too large (at most %d MiB); nothing was changed", maxImportFile>>20, maxImportFile>>20)
		}
		return &httpError{status: http.StatusRequestEntityTooLarge, code: CodeBadRequest, message: msg, err: err}
	}
	return nil
}

// page adapts a page handler: authorization, CSRF, and an error page.
func (s *Service) page(o opts, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &request{}
		if o&public == 0 {
			var err error
			q, err = s.authorize(w, r, o, false)
			switch {
			case errors.Is(err, errMustChange):
				http.Redirect(w, r, "/password", http.StatusSeeOther)
				return
			case err != nil && asHTTPError(err).status == http.StatusUnauthorized:
				target := "/login"
				if r.Method == http.MethodGet && r.URL.Path != "/" {
					target += "?next=" + url.QueryEscape(r.URL.RequestURI())
				}
				http.Redirect(w, r, target, http.StatusSeeOther)
				return
			case err != nil:
				s.pageError(w, r, q, err)
				return
			}
		} else if sess, ok := s.readSession(r); ok {
			// Public pages still show who is logged in, when someone is.
			q.sess = sess
		}
		if err := h(w, r, q); err != nil {
			s.pageError(w, r, q, err)
		}
	})
}

// pageError renders an error page and logs what the person is not shown.
func (s *Service) pageError(w http.ResponseWriter, r *http.Request, q *request, err error) {
	he := asHTTPError(err)
	s.logError(r, q, he)
	if q == nil {
		q = &request{}
	}
	s.render(w, r, he.status, "error", q, "selfservice.error.title", struct {
		Status  int
		Code    string
		Message string
	}{he.status, he.code, he.message})
}

func (s *Service) logError(r *http.Request, q *request, he *httpError) {
	user := ""
	if q != nil {
		user = q.acc.Username
	}
	switch {
	case he.status >= 500:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "user", user, "err", he)
	case he.err != nil:
		s.log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "user", user, "err", he)
	}
}

// api adapts a JSON API handler: the same authorization, JSON errors.
func (s *Service) api(o opts, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &request{}
		if o&public == 0 {
			var err error
			q, err = s.authorize(w, r, o, true)
			if errors.Is(err, errMustChange) {
				err = errRefusal(http.StatusForbidden, access.RefuseMustChange())
			}
			if err != nil {
				s.apiError(w, r, q, err)
				return
			}
		}
		if err := h(w, r, q); err != nil {
			s.apiError(w, r, q, err)
		}
	})
}

func (s *Service) apiError(w http.ResponseWriter, r *http.Request, q *request, err error) {
	he := asHTTPError(err)
	s.logError(r, q, he)
	if he.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "60")
	}
	writeJSON(w, he.status, map[string]string{"error": he.code, "message": he.message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"INTERNAL","message":"encoding failed"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// readJSON decodes a JSON request body into v. The body must be JSON:
// browsers cannot send that cross-site without a CORS preflight, which is
// never granted.
func readJSON(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if strings.TrimSpace(strings.ToLower(ct)) != "application/json" {
		return &httpError{status: http.StatusUnsupportedMediaType, code: CodeBadRequest, message: "请求体须为 JSON / The body must be application/json"}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &httpError{status: http.StatusBadRequest, code: CodeBadRequest, message: "JSON 格式错误 / Malformed JSON", err: err}
	}
	return nil
}

// common wraps every response: node header, security headers, bounded
// bodies and the request counter.
func (s *Service) common(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Portal-Node", s.cfg.NodeID)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		// The logout form's answer may go on to a single sign-on
		// provider's logout, which form-action must allow.
		formAction := "'self'"
		if o := s.deps.SSO.Origins(); len(o) > 0 {
			formAction += " " + strings.Join(o, " ")
		}
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
		if route != "static" {
			hd.Set("Cache-Control", "no-store")
		}
		if r.Body != nil {
			limit := int64(maxBody)
			if uploadRoutes[route] {
				limit = maxUploadBody
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		h.ServeHTTP(sw, r)
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		s.metrics.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// localPath keeps a post-login redirect on this site: next must parse as
// a path (with an optional query) and nothing more; anything else, or any
// control character or backslash, which browsers drop or read as a slash
// ("/\t/evil.example/" is "//evil.example/" to them), gives "/". The
// path is given back as url.URL writes it, not as it came.
func localPath(next string) string {
	if next == "" || strings.ContainsAny(next, "\\") {
		return "/"
	}
	if !access.PlainText(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.ContainsAny(u.Path, "\\") {
		return "/"
	}
	if !access.PlainText(u.Path + u.RawQuery) {
		return "/"
	}
	out := (&url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}).String()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		return "/"
	}
	return out
}
