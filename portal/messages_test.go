package portal

import (
	"testing"

	"github.com/campusnet/campusnet/internal/i18n/i18ntest"
)

// TestCatalogue: every id in the catalogue has a Chinese text with Chinese
// in it and an English text without, and every id a template prints is
// registered (an unknown id would print as itself).
func TestCatalogue(t *testing.T) {
	i18ntest.CheckMessages(t, "portal.")
	i18ntest.CheckTemplates(t, templateFS, "templates", 50)
}
