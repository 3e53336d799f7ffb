package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/campusnet/campusnet"

type pkg struct {
	ImportPath string
	Doc        string
	Imports    []string
	Name       string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

func TestEveryPackageHasDoc(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package doc comment (add a doc.go)", p.ImportPath)
		}
	}
}

func TestDependencies(t *testing.T) {
	services := []string{"portal", "radius", "billing", "selfservice"}
	// Protocol libraries live under their service but are not part of it:
	// any package may import them.
	protocols := []string{module + "/portal/portalproto", module + "/radius/radiusproto"}
	isService := func(path string) string {
		for _, p := range protocols {
			if under(path, p) {
				return ""
			}
		}
		for _, s := range services {
			if path == module+"/"+s || strings.HasPrefix(path, module+"/"+s+"/") {
				return s
			}
		}
		return ""
	}
	for _, p := range listPackages(t) {
		self := isService(p.ImportPath)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			// Services never import each other; cmd wires them.
			if other := isService(imp); self != "" && other != "" && other != self {
				t.Errorf("%s imports %s: services meet in internal/access and small interfaces, not each other", p.ImportPath, imp)
			}
			// Services read the domain vocabulary (internal/access) and
			// declare the small store interface they need; cmd converts
			// the configuration file and hands them the store.
			if self != "" && (imp == module+"/internal/config" || imp == module+"/internal/store") {
				t.Errorf("%s imports %s: services take access types and their own store interface; cmd wires config and the store", p.ImportPath, imp)
			}
			// The store depends on the domain types only.
			if p.ImportPath == module+"/internal/store" && imp != module+"/internal/access" {
				t.Errorf("internal/store imports %s", imp)
			}
			// Domain packages import no service.
			if strings.HasPrefix(p.ImportPath, module+"/internal/") && !strings.HasPrefix(p.ImportPath, module+"/internal/archtest") && isService(imp) != "" {
				t.Errorf("%s (internal) imports service %s", p.ImportPath, imp)
			}
		}
	}
}
