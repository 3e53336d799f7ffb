package portal

import (
	"github.com/campusnet/campusnet/internal/i18n"
	"github.com/campusnet/campusnet/internal/roster"
)

// initialXMessage is the catalogue id of the initial-password rule for an
// id card ending in X under trailing_x mode (roster.InitialPassword).
func initialXMessage(mode string) string {
	switch mode {
	case roster.TrailingXKeep:
		return "portal.initial.x.keep"
	case roster.TrailingXZero:
		return "portal.initial.x.zero"
	}
	return "portal.initial.x.drop"
}

func init() {
	i18n.Register(
		[3]string{"portal.initial.documents", "没有身份证的同学（护照、港澳台居民居住证、通行证）：初始密码为证件号码后六位，字母照留，如护照 E12345678 → 345678。",
			"Without a resident id card (passport, residence permit, travel permit): the initial password is the last six characters of the document number, letters kept, e.g. passport E12345678 → 345678."},
		[3]string{"portal.initial.x.drop", "身份证号最后一位是 X 的：去掉 X，再取后六位，如 44030520050609112X → 609112。",
			"An id-card number ending in X: drop the X, then take the last six, e.g. 44030520050609112X → 609112."},
		[3]string{"portal.initial.x.keep", "身份证号最后一位是 X 的：X 保留，取后六位，如 44030520050609112X → 09112X。",
			"An id-card number ending in X: keep the X and take the last six, e.g. 44030520050609112X → 09112X."},
		[3]string{"portal.initial.x.zero", "身份证号最后一位是 X 的：把 X 换成 0，再取后六位，如 44030520050609112X → 091120。",
			"An id-card number ending in X: replace the X with 0, then take the last six, e.g. 44030520050609112X → 091120."},
		[3]string{"portal.password.rules", "新密码不能包含证件号码后六位或后八位、学号、出生日期、一串相同或连续的数字（如 111111、123456），也不能是最常见的密码。",
			"The new password may not contain your document number's last six or eight characters, your student number, your birth date, a run of one repeated or sequential digit (111111, 123456), and may not be one of the most common passwords."},
	)
}
