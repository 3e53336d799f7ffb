package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// under reports whether path is prefix or a package below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// deps returns what pkg links (go list -deps, without its tests), each with
// whether it is in the standard library.
func deps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	m := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		path, std, _ := strings.Cut(sc.Text(), " ")
		m[path] = std == "true"
	}
	return m
}

// TestDeps holds the rules on what packages link, in the spirit of
// tailscale's deps_test.go: the BAS simulator links protocol code only, the
// protocol libraries link next to nothing, and self-service uses internal
// packages only.
func TestDeps(t *testing.T) {
	t.Run("bassim", func(t *testing.T) {
		// The simulator must build and run on a machine without the
		// server's database or directory: it is the other side of the wire.
		forbidden := []string{
			module + "/internal/store",
			module + "/radius", // the AAA service; radius/radiusproto is allowed
			module + "/portal", // the portal service; portal/portalproto is allowed
			module + "/billing",
			module + "/selfservice",
			"modernc.org/sqlite",
			"github.com/jackc/pgx/v5",
			"github.com/lib/pq",
			"github.com/go-ldap/ldap/v3",
		}
		protocol := []string{module + "/radius/radiusproto", module + "/portal/portalproto"}
		linked := map[string][]string{}
		for dep := range deps(t, module+"/cmd/bassim") {
			allowed := false
			for _, p := range protocol {
				allowed = allowed || under(dep, p)
			}
			for _, f := range forbidden {
				if !allowed && under(dep, f) {
					linked[f] = append(linked[f], dep)
				}
			}
		}
		for _, f := range forbidden {
			if pkgs := linked[f]; len(pkgs) > 0 {
				slices.Sort(pkgs)
				t.Errorf("cmd/bassim links %s: %s", f, strings.Join(pkgs, " "))
			}
		}
	})

	// The protocol libraries link the standard library and their codecs.
	for pkg, ok := range map[string][]string{
		module + "/radius/radiusproto": {"layeh.com/radius"},
		module + "/portal/portalproto": {"golang.org/x/text"},
	} {
		t.Run(strings.TrimPrefix(pkg, module+"/"), func(t *testing.T) {
			for dep, std := range deps(t, pkg) {
				allowed := std || dep == pkg
				for _, p := range ok {
					allowed = allowed || under(dep, p)
				}
				if !allowed {
					t.Errorf("%s links %s: protocol libraries use the standard library and %s only", pkg, dep, strings.Join(ok, ", "))
				}
			}
		})
	}

	// Services never import each other; cmd wires self-service through the
	// interfaces it declares, so it uses the module's internal packages only.
	t.Run("selfservice", func(t *testing.T) {
		for _, p := range listPackages(t) {
			if p.ImportPath != module+"/selfservice" {
				continue
			}
			for _, imp := range p.Imports {
				if under(imp, module) && !strings.HasPrefix(imp, module+"/internal/") {
					t.Errorf("selfservice imports %s: self-service may only use internal packages", imp)
				}
			}
		}
	})
}
