package selfservice_test

import (
	"bytes"
	"context"
	"errors"
	"html"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/roster"
)

// upload posts a multipart form: fields, and file (when name is not empty).
func (c *client) upload(action string, fields map[string]string, name string, file []byte) response {
	c.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			c.e.t.Fatal(err)
		}
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			c.e.t.Fatal(err)
		}
		if _, err := fw.Write(file); err != nil {
			c.e.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		c.e.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+action, &body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

var (
	hiddenCSV  = regexp.MustCompile(`name="csv" value="([^"]*)"`)
	hiddenName = regexp.MustCompile(`name="name" value="([^"]*)"`)
)

// apply sends the report page's apply form back, as a browser would: the
// checked file from the hidden field, newlines as CRLF.
func (c *client) apply(page response, kind, reason string) response {
	c.e.t.Helper()
	m, n := hiddenCSV.FindStringSubmatch(page.body), hiddenName.FindStringSubmatch(page.body)
	if m == nil || n == nil {
		c.e.t.Fatalf("the report has no apply form:\n%s", page.body)
	}
	csv := strings.ReplaceAll(html.UnescapeString(m[1]), "\n", "\r\n")
	return c.upload("/admin/import/"+kind, map[string]string{"csrf": c.csrfOf("/admin/import"), "action": "apply",
		"name": html.UnescapeString(n[1]), "csv": csv, "reason": reason}, "", nil)
}

// TestAdminImportRoster: the operator uploads a roster, sees the dry run's
// report (counts, bad rows with their lines) with nothing changed, applies
// it, and the accounts are in with the initial password, audited.
func TestAdminImportRoster(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		ctx := context.Background()
		e.account("admin", "admin-pass", "operator", 0, false)
		e.account("student1", "student1-pass", "student", 0, false)
		noc := e.client()
		noc.login("admin", "admin-pass")

		if r := noc.get("/admin"); !strings.Contains(r.body, `href="/admin/import"`) {
			t.Fatalf("the NOC page does not link the import: %s", r.body)
		}
		page := noc.get("/admin/import")
		for _, w := range []string{`id="users-form"`, `id="devices-form"`, `enctype="multipart/form-data"`, `name="csrf"`} {
			if !strings.Contains(page.body, w) {
				t.Fatalf("import page lacks %q:\n%s", w, page.body)
			}
		}
		file := "学号,姓名,身份证号,电话,身份\n" +
			"student1,学生一," + roster.CompleteIDCard("42010220000101001") + ",13800000001,学生\n" + // an update: name and phone
			"2026002,李四," + roster.CompleteIDCard("42010220000101002") + ",,\n" +
			"2026003,王五," + roster.CompleteIDCard("42010220000101003") + ",,教工\n" +
			"2026004,坏行,12345,,\n" + // line 5
			"2026002,重复," + roster.CompleteIDCard("42010220000101004") + ",,\n" // line 6
		csrf := noc.csrfOf("/admin/import")
		r := noc.upload("/admin/import/users", map[string]string{"csrf": csrf, "action": "check"}, "2026级.csv", []byte(file))
		if r.status != http.StatusOK {
			t.Fatalf("dry run: %d\n%s", r.status, r.body)
		}
		for _, w := range []string{"检查结果", "将新建 2 个、更新 1 个、不变 0 个账号，2 行有误",
			`<td data-label="行" class="num">5</td><td data-label="原因">身份证号应为 18 位`,
			`<td data-label="行" class="num">6</td><td data-label="原因">学工号 2026002 已出现在第 3 行`, `id="apply"`, "2026级.csv"} {
			if !strings.Contains(r.body, w) {
				t.Errorf("dry run report lacks %q", w)
			}
		}
		// Its language switch loads the import page (a GET of the form's
		// address does not exist), in English.
		if !strings.Contains(r.body, `href="/admin/import?lang=en"`) {
			t.Errorf("the dry run's switch does not go to the import page:\n%s", r.body)
		}
		if sw := noc.get("/admin/import?lang=en"); sw.status != http.StatusOK || !strings.Contains(sw.body, "Dry run") {
			t.Errorf("switched import page: %d\n%s", sw.status, sw.body)
		}
		noc.get("/admin/import?lang=zh")
		// The same report in English, for an operator who reads English.
		en := e.client()
		en.lang = "en-US,en"
		en.login("admin", "admin-pass")
		if r := en.upload("/admin/import/users", map[string]string{"csrf": en.csrfOf("/admin/import"), "action": "check"}, "2026级.csv", []byte(file)); !strings.Contains(r.body, "would create 2, update 1") {
			t.Errorf("English dry run report lacks %q:\n%s", "would create 2, update 1", r.body)
		}
		if _, err := e.st.AccountByUsername(ctx, "2026002"); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("the dry run created an account: %v", err)
		}
		if a, err := e.st.AccountByUsername(ctx, "student1"); err != nil || a.Name == "学生一" {
			t.Fatalf("the dry run changed an account: %+v %v", a, err)
		}

		// Applying wants a reason, and changes nothing without one.
		if r := noc.apply(r, "users", ""); r.status != http.StatusBadRequest || !strings.Contains(r.body, "请填写原因") {
			t.Fatalf("apply without a reason: %d\n%s", r.status, r.body)
		}
		if _, err := e.st.AccountByUsername(ctx, "2026002"); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("applied without a reason: %v", err)
		}
		done := noc.apply(r, "users", "2026 freshmen, ticket 77")
		if done.status != http.StatusOK || !strings.Contains(done.body, "已导入") || !strings.Contains(done.body, "新建 2 个、更新 1 个、不变 0 个账号，2 行有误未导入") {
			t.Fatalf("apply: %d\n%s", done.status, done.body)
		}
		if strings.Contains(done.body, `id="apply"`) {
			t.Fatalf("the applied report offers to apply again")
		}
		a, err := e.st.AccountByUsername(ctx, "2026003")
		if err != nil || !a.MustChange || a.Role != access.RoleStaff || a.Name != "王五" {
			t.Fatalf("imported account: %+v %v", a, err)
		}
		if ok, err := identity.VerifyPassword(a.PasswordHash, roster.CompleteIDCard("42010220000101003")[12:]); err != nil || !ok {
			t.Fatalf("initial password is not the last six of the id-card number: %v %v", ok, err)
		}
		if a, err := e.st.AccountByUsername(ctx, "student1"); err != nil || a.Name != "学生一" {
			t.Fatalf("updated account: %+v %v", a, err)
		}
		if ok, err := e.local.Authenticate(ctx, "student1", "student1-pass"); err != nil || ok.ID != "student1" {
			t.Fatalf("the update touched a password: %+v %v", ok, err)
		}
		audit, err := e.st.AuditLog(ctx, "2026级.csv", 5)
		if err != nil || len(audit) != 1 || audit[0].Action != "accounts.import" || audit[0].Actor != "admin" ||
			audit[0].Reason != "2026 freshmen, ticket 77" || audit[0].Detail != "2 created, 1 updated, 0 unchanged, 2 bad rows" {
			t.Fatalf("audit: %+v %v", audit, err)
		}

		// A student may not import.
		st := e.client()
		st.login("student1", "student1-pass")
		if r := st.upload("/admin/import/users", map[string]string{"csrf": st.csrfOf("/"), "action": "check"}, "x.csv", []byte(file)); r.status != http.StatusForbidden {
			t.Fatalf("student import: %d", r.status)
		}
	})
}

// TestAdminImportHostile: a file that is not plain UTF-8 text, too large,
// empty or without the form's token is refused with a clear message, and
// nothing changes.
func TestAdminImportHostile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	e.account("admin", "admin-pass", "operator", 0, false)
	noc := e.client()
	noc.lang = "en-US,en" // the import's own errors are English; the page too
	noc.login("admin", "admin-pass")
	good := "2026001,张三," + roster.CompleteIDCard("42010220000101001") + ",,\n"
	huge := bytes.Repeat([]byte(good), 9<<20/len(good)+1)
	tests := []struct {
		name   string
		kind   string
		file   []byte
		csrf   bool
		status int
		want   string
	}{
		{"nul bytes", "users", []byte(good + "2026002,\x00\x00,1,,\n"), true, http.StatusBadRequest, "line 2: a NUL byte"},
		{"utf-16", "users", []byte("\xff\xfe2\x000\x002\x006\x00"), true, http.StatusBadRequest, "line 1: not UTF-8"},
		{"gbk", "users", []byte(good + "2026002,\xd5\xc5\xc8\xfd,1,,\n"), true, http.StatusBadRequest, "line 2: not UTF-8"},
		{"control characters", "devices", []byte("lab,02:00:00:00:00:01,pc\x1b[2J\n"), true, http.StatusBadRequest, "control character U+001B"},
		{"empty", "devices", []byte(" \n"), true, http.StatusBadRequest, "empty"},
		{"too large", "users", huge, true, http.StatusRequestEntityTooLarge, "The file is too large (at most 8 MiB)"},
		{"no token", "users", []byte(good), false, http.StatusForbidden, "The form expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := map[string]string{"action": "apply", "reason": "hostile"}
			if tt.csrf {
				fields["csrf"] = noc.csrfOf("/admin/import")
			}
			r := noc.upload("/admin/import/"+tt.kind, fields, "in.csv", tt.file)
			if r.status != tt.status || !strings.Contains(html.UnescapeString(r.body), tt.want) {
				t.Fatalf("%d, want %d and %q:\n%s", r.status, tt.status, tt.want, r.body)
			}
			if tt.status != http.StatusForbidden && !strings.Contains(r.body, "nothing was changed") {
				t.Errorf("the answer does not say that nothing changed:\n%s", r.body)
			}
			if _, err := e.st.AccountByUsername(ctx, "2026001"); !errors.Is(err, access.ErrNotFound) {
				t.Fatalf("an account was created: %v", err)
			}
		})
	}
	// A plain form with no file asks for one.
	r := noc.upload("/admin/import/users", map[string]string{"csrf": noc.csrfOf("/admin/import"), "action": "check"}, "", nil)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Choose a CSV file") {
		t.Fatalf("no file: %d\n%s", r.status, r.body)
	}
	zh := e.client()
	zh.login("admin", "admin-pass")
	r = zh.upload("/admin/import/users", map[string]string{"csrf": zh.csrfOf("/admin/import"), "action": "check"}, "", nil)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "请选择一个 CSV 文件") || strings.Contains(r.body, "Choose a CSV file") {
		t.Fatalf("no file: %d\n%s", r.status, r.body)
	}
	if log, err := e.st.AuditLog(ctx, "", 10); err != nil || len(log) != 0 {
		t.Fatalf("audited: %+v %v", log, err)
	}
}

// TestAdminImportDevices: the device CSV's dry run reports the rows that
// would fail (with the conflict a bind would meet) and binds nothing; the
// apply binds the good rows, each audited with the operator and reason.
func TestAdminImportDevices(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		ctx := context.Background()
		e.account("admin", "admin-pass", "operator", 0, false)
		lab := e.account("lab-printers", "lab-pass-1", "staff", 0, false)
		other := e.account("student1", "student1-pass", "student", 0, false)
		e.bind(other, "02:00:00:00:00:09", "pc")
		noc := e.client()
		noc.login("admin", "admin-pass")
		file := "account,mac,class\nlab-printers,02-00-00-00-00-01,pc\nlab-printers,0200.0000.0002,mobile\n" +
			"lab-printers,zz,pc\nnobody,02:00:00:00:00:04,pc\nlab-printers,02:00:00:00:00:09,pc\nlab-printers,02:00:00:00:00:06,tv\n"
		r := noc.upload("/admin/import/devices", map[string]string{"csrf": noc.csrfOf("/admin/import"), "action": "check",
			"reason": "printer fleet, ticket 1234"}, "printers.csv", []byte(file))
		if r.status != http.StatusOK {
			t.Fatalf("dry run: %d\n%s", r.status, r.body)
		}
		for _, w := range []string{"将绑定 2 个 MAC，4 行有误", `class="num">4</td><td data-label="原因">&#34;zz&#34; 不是 MAC 地址`,
			`class="num">5</td><td data-label="原因">没有账号 &#34;nobody&#34;`, `class="num">6</td><td data-label="原因">02:00:00:00:00:09：无法绑定（store: bind 02:00:00:00:00:09: bound to another account`,
			`class="num">7</td>`, `value="printer fleet, ticket 1234"`} {
			if !strings.Contains(r.body, w) {
				t.Errorf("dry run report lacks %q", w)
			}
		}
		if devs, err := e.st.DevicesByAccount(ctx, lab.ID); err != nil || len(devs) != 0 {
			t.Fatalf("the dry run bound: %+v %v", devs, err)
		}
		done := noc.apply(r, "devices", "printer fleet, ticket 1234")
		if done.status != http.StatusOK || !strings.Contains(done.body, "已绑定 2 个 MAC，4 行有误未导入") {
			t.Fatalf("apply: %d\n%s", done.status, done.body)
		}
		devs, err := e.st.DevicesByAccount(ctx, lab.ID)
		if err != nil || len(devs) != 2 {
			t.Fatalf("bound devices: %+v %v", devs, err)
		}
		audit, err := e.st.AuditLog(ctx, "lab-printers", 10)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range audit {
			if a.Action == "device.bind" && a.Actor == "admin" && a.Reason == "printer fleet, ticket 1234" {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("audit: %d binds by admin with the reason: %+v", n, audit)
		}
		if d, err := e.st.BoundDeviceByMAC(ctx, "02:00:00:00:00:09"); err != nil || d.AccountID != other.ID {
			t.Fatalf("the other account's MAC: %+v %v", d, err)
		}
	})
}

// TestAdminImportBadRowsLanguage: the bad rows' reasons speak the page's
// language: Chinese by default with no English reason, English with
// Accept-Language: en or ?lang=en with no Chinese one. A file that is not
// text is answered in the page's language too.
func TestAdminImportBadRowsLanguage(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		e.account("admin", "admin-pass", "operator", 0, false)
		file := "2026001,张三," + roster.CompleteIDCard("42010220000101001") + ",,\n" +
			"2026002,坏行,12345,,\n" + // line 2
			"2026001,重复," + roster.CompleteIDCard("42010220000101003") + ",,\n" + // line 3
			"2026004,坏," + roster.CompleteIDCard("42010220000101004") + ",,dean\n" // line 4
		zhReasons := []string{
			`class="num">2</td><td data-label="原因">身份证号应为 18 位（17 位数字加一位数字或 X）或 15 位数字</td>`,
			`class="num">3</td><td data-label="原因">学工号 2026001 已出现在第 1 行</td>`,
			`class="num">4</td><td data-label="原因">身份 &#34;dean&#34;：应为 student、staff 或 operator（学生、教工、教职工）</td>`,
		}
		enReasons := []string{
			`class="num">2</td><td data-label="Why">id-card number must be 18 characters (17 digits and a digit or X) or 15 digits</td>`,
			`class="num">3</td><td data-label="Why">id 2026001 already appears on line 1</td>`,
			`class="num">4</td><td data-label="Why">role &#34;dean&#34;: want student, staff or operator</td>`,
		}
		check := func(c *client, action string, want, not []string) {
			t.Helper()
			c.login("admin", "admin-pass")
			r := c.upload(action, map[string]string{"csrf": c.csrfOf("/admin/import"), "action": "check"}, "in.csv", []byte(file))
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d\n%s", action, r.status, r.body)
			}
			for _, w := range want {
				if !strings.Contains(r.body, w) {
					t.Errorf("%s: the report lacks %q:\n%s", action, w, r.body)
				}
			}
			for _, w := range not {
				if strings.Contains(r.body, w) {
					t.Errorf("%s: the report has %q", action, w)
				}
			}
		}
		english := []string{"id-card number", "already appears", "on line"}
		chinese := []string{"身份证号应为", "已出现在", "第 1 行"}
		check(e.client(), "/admin/import/users", zhReasons, english)
		en := e.client()
		en.lang = "en"
		check(en, "/admin/import/users", enReasons, chinese)
		check(e.client(), "/admin/import/users?lang=en", enReasons, chinese)

		// A file that is not text: the line's problem in the page's language.
		notText := []byte("2026001,\xd5\xc5,1,,\n")
		zh := e.client()
		zh.login("admin", "admin-pass")
		r := zh.upload("/admin/import/users", map[string]string{"csrf": zh.csrfOf("/admin/import"), "action": "check"}, "gbk.csv", notText)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "第 1 行：不是 UTF-8 文本") || strings.Contains(r.body, "not UTF-8") {
			t.Errorf("a GBK file on the Chinese page: %d\n%s", r.status, r.body)
		}
	})
}
