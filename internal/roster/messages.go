package roster

import (
	"fmt"

	"github.com/campusnet/campusnet/internal/i18n"
)

// Every reason a row or a file is bad is a catalogue message (package
// internal/i18n) in Chinese and English: the NOC import page prints it in
// the page's language (BadRow.Text, Problem.Text), the CLI the English
// text (BadRow.Reason, Problem.Error), which is fmt.Sprintf of the English
// catalogue text, so it stays what the CLI has always printed. Reasons
// that wrap an error from elsewhere (a CSV parse error, a store error)
// carry its text as an argument.

func init() {
	i18n.Register(
		// People (ParsePeople, withoutTakenDocuments, checkPerson).
		[3]string{"roster.bad.csv", "不是有效的 CSV：%s", "not valid CSV: %s"},
		[3]string{"roster.bad.columns", "应为 5 列（学工号、姓名、身份证号、电话、身份）和可选的证件类型，实有 %d 列",
			"want 5 columns (id, name, id-card number, phone, role) and an optional document type, got %d"},
		[3]string{"roster.bad.empty_id", "学工号为空", "empty id"},
		[3]string{"roster.bad.id_chars", "学工号 %q：只能含字母、数字和 . _ @ -，最多 64 个字符",
			"id %q: only letters, digits and . _ @ - allowed, at most 64"},
		[3]string{"roster.bad.empty_name", "姓名为空", "empty name"},
		[3]string{"roster.bad.name_long", "姓名超过 200 字节", "name longer than 200 bytes"},
		[3]string{"roster.bad.phone", "电话 %q 不是电话号码", "phone %q is not a phone number"},
		[3]string{"roster.bad.role", "身份 %q：应为 student、staff 或 operator（学生、教工、教职工）",
			"role %q: want student, staff or operator"},
		[3]string{"roster.bad.dup_id", "学工号 %s 已出现在第 %d 行", "id %s already appears on line %d"},
		[3]string{"roster.bad.dup_doc", "%s 的证件号码也在第 %d 行（%s）：一个证件只对应一个人",
			"document number of %s is also on line %d (%s): one document, one person"},
		[3]string{"roster.bad.doc_taken", "%s 的证件号码已属于账号 %s：一个证件只对应一个人",
			"document number of %s already belongs to account %s: one document, one person"},
		// Documents (ParseDocType, CheckDocument).
		[3]string{"roster.bad.doc_type", "证件类型 %q：应为 %s（或 居民身份证、港澳台居民居住证、护照、港澳居民来往内地通行证、台湾居民来往大陆通行证、其他）",
			"document type %q: want %s (or 居民身份证, 港澳台居民居住证, 护照, 港澳居民来往内地通行证, 台湾居民来往大陆通行证, 其他)"},
		[3]string{"roster.bad.doc_empty", "证件号码为空（初始密码由它生成）", "empty document number (the initial password comes from it)"},
		[3]string{"roster.bad.idcard_checksum", "身份证号校验位不对（是否输错了一位？）", "id-card number checksum is wrong (mistyped digit?)"},
		[3]string{"roster.bad.idcard_form", "身份证号应为 18 位（17 位数字加一位数字或 X）或 15 位数字",
			"id-card number must be 18 characters (17 digits and a digit or X) or 15 digits"},
		[3]string{"roster.bad.residence_form", "居住证号码应为 18 位，以 81、82 或 83 开头（17 位数字加一位数字或 X）",
			"residence-permit number must be 18 characters starting 81, 82 or 83 (17 digits and a digit or X)"},
		[3]string{"roster.bad.residence_checksum", "居住证号码校验位不对（是否输错了一位？）", "residence-permit number checksum is wrong (mistyped digit?)"},
		[3]string{"roster.bad.passport", "护照号码应为 5 到 20 个字母和数字", "passport number must be 5 to 20 letters and digits"},
		[3]string{"roster.bad.hk_macau_permit", "港澳居民来往内地通行证号码应为 H 或 M 加 8 位或 10 位数字",
			"travel-permit number (港澳居民来往内地通行证) must be H or M and 8 or 10 digits"},
		[3]string{"roster.bad.taiwan_permit", "台湾居民来往大陆通行证号码应为 8 位数字或 10 个字母和数字",
			"travel-permit number (台湾居民来往大陆通行证) must be 8 digits or 10 letters and digits"},
		[3]string{"roster.bad.other_document", "证件号码应为 4 到 30 个字母和数字", "document number must be 4 to 30 letters and digits"},
		[3]string{"roster.bad.doc_unknown", "未知的证件类型 %q", "unknown document type %q"},
		// Devices (ImportDevices).
		[3]string{"roster.bad.device_csv", "不是 CSV：%s", "not CSV: %s"},
		[3]string{"roster.bad.device_columns", "应为 3 列（账号、MAC、类别），实有 %d 列", "want 3 columns (account, mac, class), got %d"},
		[3]string{"roster.bad.mac", "%q 不是 MAC 地址", "%q is not a MAC address"},
		[3]string{"roster.bad.class", "类别 %q：应为 pc 或 mobile", "class %q: want pc or mobile"},
		[3]string{"roster.bad.no_account", "没有账号 %q", "no account %q"},
		[3]string{"roster.bad.bind", "%s：无法绑定（%s）", "%s: %s"},
		// Files that are not plain UTF-8 text (CheckText).
		[3]string{"roster.bad.text_nul", "第 %d 行：有 NUL 字节，这不是文本文件（请另存为“CSV UTF-8”）",
			"line %d: a NUL byte: this is not a text file (save it as CSV UTF-8)"},
		[3]string{"roster.bad.text_utf8", "第 %d 行：不是 UTF-8 文本（是 GBK 导出的吗？请另存为“CSV UTF-8”）",
			"line %d: not UTF-8 text (a GBK export? save it as CSV UTF-8)"},
		[3]string{"roster.bad.text_control", "第 %d 行：控制字符 %U", "line %d: control character %U"},
		[3]string{"roster.bad.text_empty", "文件是空的", "the file is empty"},
	)
}

// Problem is why a row or a file is bad, as a catalogue message: its id
// and the arguments of its fmt verbs. As an error it reads in English.
type Problem struct {
	ID   string
	Args []any
}

func problem(id string, args ...any) *Problem { return &Problem{ID: id, Args: args} }

// Error is the English text (the CLI's).
func (e *Problem) Error() string { return english(e.ID, e.Args) }

// Text is the problem in p's language.
func (e *Problem) Text(p *i18n.Printer) string { return say(p.English(), e.ID, e.Args) }

// english is the English text of id with args: the CLI's text.
func english(id string, args []any) string { return say(true, id, args) }

// say formats the catalogue text of id in English or Chinese with plain
// fmt rather than Printer.T, whose locale-aware %d would group digits: the
// numbers here are line numbers ("line 1234", as the page's line column
// and the CLI print them), and the English text stays byte for byte what
// the CLI has always printed. An unregistered id prints as itself, as
// with Printer.T.
func say(english bool, id string, args []any) string {
	zh, en, ok := i18n.Texts(id)
	switch {
	case !ok:
		return id
	case english:
		return fmt.Sprintf(en, args...)
	}
	return fmt.Sprintf(zh, args...)
}

// badRow is the bad row at line for problem pr.
func badRow(line int, pr *Problem) BadRow {
	return BadRow{Line: line, Reason: pr.Error(), ID: pr.ID, Args: pr.Args}
}

// Text is the reason in p's language; a row without a message id (made
// by hand) reads its Reason.
func (b BadRow) Text(p *i18n.Printer) string {
	if b.ID == "" {
		return b.Reason
	}
	return say(p.English(), b.ID, b.Args)
}
