package selfservice

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/campusnet/campusnet/internal/access"
)

// Error codes of the JSON API ({"error": code, "message": text}). Refusals
// of a login use the access reason codes (BAD_CREDENTIALS, RATE_LIMITED,
// MUST_CHANGE_PASSWORD, PASSWORD_EXPIRED, IDENTITY_UNAVAILABLE, ACCOUNT_DISABLED).
const (
	CodeUnauthenticated  = "UNAUTHENTICATED"
	CodeForbidden        = "FORBIDDEN"
	CodeNotFound         = "NOT_FOUND"
	CodeBadRequest       = "BAD_REQUEST"
	CodeCSRF             = "CSRF"
	CodeConflict         = "CONFLICT"
	CodeMethod           = "METHOD_NOT_ALLOWED"
	CodeDisconnectFailed = "DISCONNECT_FAILED"
	CodeUnavailable      = "UNAVAILABLE"
	CodeInternal         = "INTERNAL"
)

// httpError separates what the person is told (status, code, message) from
// what is logged (err).
type httpError struct {
	status  int
	code    string
	message string // Chinese then English, safe to show
	err     error  // detail for the log; nil for expected refusals
}

func (e *httpError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.status, e.code, e.message, e.err)
	}
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message)
}

func (e *httpError) Unwrap() error { return e.err }

func errBadRequest(msg string) error {
	return &httpError{status: http.StatusBadRequest, code: CodeBadRequest, message: msg}
}

func errNotFound() error {
	return &httpError{status: http.StatusNotFound, code: CodeNotFound, message: "没有找到 / Not found"}
}

func errForbidden() error {
	return &httpError{status: http.StatusForbidden, code: CodeForbidden, message: "此页面仅对网络中心值班员开放 / Operators only"}
}

func errCSRF() error {
	return &httpError{status: http.StatusForbidden, code: CodeCSRF,
		message: "表单已过期或来源不明，请刷新页面后重试 / The form expired or did not come from this site: reload the page and try again"}
}

func errUnauthenticated() error {
	return &httpError{status: http.StatusUnauthorized, code: CodeUnauthenticated, message: "请先登录 / Please log in"}
}

func errRefusal(status int, r access.Refusal) error {
	return &httpError{status: status, code: string(r.Code), message: r.Message}
}

// asHTTPError maps any error to what the person sees: the httpError it
// wraps, the domain sentinels, or a 500 that hides the detail.
func asHTTPError(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	switch {
	case errors.Is(err, access.ErrNotFound):
		return &httpError{status: http.StatusNotFound, code: CodeNotFound, message: "没有找到 / Not found", err: err}
	case errors.Is(err, access.ErrConflict):
		return &httpError{status: http.StatusConflict, code: CodeConflict, message: "与现有记录冲突 / Conflicts with an existing record", err: err}
	case errors.Is(err, access.ErrInvalid), errors.Is(err, access.ErrBadMAC):
		return &httpError{status: http.StatusBadRequest, code: CodeBadRequest, message: "输入有误 / Invalid input", err: err}
	}
	return &httpError{status: http.StatusInternalServerError, code: CodeInternal,
		message: "服务器内部错误，请稍后再试 / Internal error: try again later", err: err}
}
