package selfservice_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoServiceImports holds DESIGN §3's rule: services never import each
// other; cmd wires them through the interfaces declared here.
func TestNoServiceImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/campusnet/campusnet/"
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, mod) {
				continue
			}
			if rest := strings.TrimPrefix(p, mod); !strings.HasPrefix(rest, "internal/") {
				t.Errorf("%s imports %s: self-service may only use internal packages", f, p)
			}
		}
	}
}
