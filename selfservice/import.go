package selfservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/roster"
)

// The NOC import page: a roster CSV (the format of `campusnet users import`)
// or a device CSV (`campusnet devices import`) is uploaded, checked without
// changing anything (the dry run shows what would be created, updated or
// bound and every bad row with its line and why), and only then applied
// from the report page, which carries the checked file back. Both go
// through internal/roster, like the CLI.

// maxImportFile bounds an uploaded CSV; maxUploadBody bounds the request
// carrying it (the report page sends the file back as a form field, where
// browsers turn every newline into CRLF).
const (
	maxImportFile = 8 << 20
	maxUploadBody = 2*maxImportFile + maxBody
)

// maxShownBadRows bounds the bad rows listed on the report page.
const maxShownBadRows = 500

// Import kinds (the {kind} of /admin/import/{kind}).
const (
	importUsers   = "users"
	importDevices = "devices"
)

// importPage is the import page's data; Kind is empty before an upload.
type importPage struct {
	Kind   string
	Error  string
	Dry    bool // a dry run: the report comes with the apply form
	Name   string
	CSV    string // the checked file, sent back by the apply form
	Reason string
	Rows   int
	// Created, Updated and Unchanged count people; Bound counts devices.
	Created, Updated, Unchanged, Bound int
	Bad                                []roster.BadRow
	BadCount                           int
}

func (s *Service) adminImportForm(w http.ResponseWriter, r *http.Request, q *request) error {
	s.renderImport(w, r, q, http.StatusOK, importPage{})
	return nil
}

func (s *Service) renderImport(w http.ResponseWriter, r *http.Request, q *request, status int, p importPage) {
	s.render(w, r, status, "admin_import", q, "selfservice.admin.import_title", p)
}

// adminImport checks (action "check") or applies (action "apply") an
// uploaded CSV of kind. A file that is not plain UTF-8 text, too large or
// empty changes nothing and is answered with what is wrong.
func (s *Service) adminImport(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		p := importPage{Kind: kind, Dry: r.PostFormValue("action") != "apply", Reason: strings.TrimSpace(r.PostFormValue("reason"))}
		fail := func(status int, msg string) error {
			p.Error, p.CSV = msg, ""
			s.renderImport(w, r, q, status, p)
			return nil
		}
		name, text, err := readUpload(r)
		p.Name = name
		if err != nil {
			he := asHTTPError(err)
			return fail(he.status, he.message)
		}
		if err := roster.CheckText(text); err != nil {
			why := err.Error()
			var pr *roster.Problem
			if errors.As(err, &pr) {
				why = pr.Text(i18n.For(i18n.Negotiate(r))) // the page's language
			}
			return fail(http.StatusBadRequest, "文件无法导入，什么都没有改动 / The file cannot be imported; nothing was changed\n"+why)
		}
		var reason string
		if !p.Dry {
			if reason, err = operatorReason(r); err != nil {
				return fail(http.StatusBadRequest, asHTTPError(err).message)
			}
		}
		// An apply runs to its end even if the operator closes the tab.
		ctx := r.Context()
		if !p.Dry {
			ctx = context.WithoutCancel(ctx)
		}
		switch kind {
		case importUsers:
			err = s.importPeople(ctx, &p, text, q.acc.Username, reason)
		case importDevices:
			var rep roster.DeviceReport
			rep, err = roster.ImportDevices(ctx, s.st, bytes.NewReader(text), q.acc.Username, reason, p.Dry)
			p.Bound = rep.Bound
			p.setBad(rep.Bad)
			if err == nil && !p.Dry {
				s.log.InfoContext(ctx, "selfservice: devices imported by an operator", "actor", q.acc.Username,
					"file", name, "bound", rep.Bound, "bad", len(rep.Bad), "reason", reason)
			}
		default:
			return errNotFound()
		}
		if err != nil {
			if !p.Dry {
				return err // some rows may be in: the log says which error
			}
			if errors.Is(err, roster.ErrTooManyRows) {
				return fail(http.StatusBadRequest, fmt.Sprintf("文件超过 %d 行，请拆分，什么都没有改动 / More than %d rows: split the file; nothing was changed",
					roster.MaxDeviceRows, roster.MaxDeviceRows))
			}
			return err
		}
		if p.Dry {
			p.CSV = string(text)
		}
		s.renderImport(w, r, q, http.StatusOK, p)
		return nil
	}
}

// importPeople checks or applies a roster. An applied import is audited
// once ("accounts.import", target the file name) with what it did.
func (s *Service) importPeople(ctx context.Context, p *importPage, text []byte, actor, reason string) error {
	people, err := roster.ParsePeople(bytes.NewReader(text))
	if err != nil {
		return err
	}
	var rep roster.Report
	if p.Dry {
		rep, err = roster.PlanPeople(ctx, s.st, people)
	} else {
		rep, err = roster.ImportPeople(ctx, s.st, people, roster.Options{TrailingX: s.cfg.TrailingX,
			Workers: runtime.NumCPU(), Params: identity.InitialParams})
	}
	p.Rows, p.Created, p.Updated, p.Unchanged = rep.Rows, rep.Created, rep.Updated, rep.Unchanged
	p.setBad(rep.Bad)
	if err != nil || p.Dry {
		return err
	}
	s.log.InfoContext(ctx, "selfservice: roster imported by an operator", "actor", actor, "file", p.Name,
		"created", rep.Created, "updated", rep.Updated, "unchanged", rep.Unchanged, "bad", len(rep.Bad))
	return s.st.Audit(ctx, actor, "accounts.import", p.Name, reason,
		fmt.Sprintf("%d created, %d updated, %d unchanged, %d bad rows", rep.Created, rep.Updated, rep.Unchanged, len(rep.Bad)))
}

func (p *importPage) setBad(bad []roster.BadRow) {
	p.BadCount = len(bad)
	if len(bad) > maxShownBadRows {
		bad = bad[:maxShownBadRows]
	}
	p.Bad = bad
}

// readUpload returns the uploaded file (field "file") or, from the report
// page's apply form, the checked file sent back (fields "csv" and "name").
func readUpload(r *http.Request) (string, []byte, error) {
	tooLarge := &httpError{status: http.StatusRequestEntityTooLarge, code: CodeBadRequest,
		message: fmt.Sprintf("文件太大（最多 %d MiB），什么都没有改动 / The file is too large (at most %d MiB); nothing was changed", maxImportFile>>20, maxImportFile>>20)}
	f, h, err := r.FormFile("file")
	switch {
	case err == nil:
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxImportFile+1))
		if err != nil {
			return "", nil, err
		}
		if len(b) > maxImportFile {
			return "", nil, tooLarge
		}
		name := uploadName(h.Filename)
		if len(b) == 0 {
			return name, nil, errBadRequest("文件是空的 / The file is empty")
		}
		return name, b, nil
	case !errors.Is(err, http.ErrMissingFile) && !errors.Is(err, http.ErrNotMultipart):
		return "", nil, errBadRequest("上传不完整，请重试 / The upload is incomplete: try again")
	}
	text := r.PostFormValue("csv")
	if text == "" {
		return "", nil, errBadRequest("请选择一个 CSV 文件 / Choose a CSV file")
	}
	if len(text) > maxImportFile+maxImportFile/8 {
		return "", nil, tooLarge
	}
	return uploadName(r.PostFormValue("name")), []byte(text), nil
}

// uploadName is the base name of an uploaded file, safe to audit and show.
func uploadName(n string) string {
	n = path.Base(strings.ReplaceAll(n, `\`, "/"))
	n = access.StripControl(n)
	if n == "." || n == "/" || n == "" {
		n = "upload.csv"
	}
	if len(n) > 100 {
		n = n[:100]
		for !utf8.ValidString(n) {
			n = n[:len(n)-1]
		}
	}
	return n
}
