package selfservice

import (
	"testing"

	"github.com/campusnet/campusnet/internal/i18n/i18ntest"
)

// TestCatalogue: every self-service id has both texts, the English one
// without Chinese (but the node footer's "网络信息中心-X" an operator
// types), and every id a template prints is registered.
func TestCatalogue(t *testing.T) {
	i18ntest.CheckMessages(t, "selfservice.", "网络信息中心-X")
	i18ntest.CheckTemplates(t, assets, "templates", 100)
}
