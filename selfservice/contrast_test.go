package selfservice

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestFooterHelpdeskContrast: the help-desk line in the footer of the
// self-service pages and of the portal (a <small> inside <footer>) is
// readable: its colour on the footer's background has a WCAG 2 contrast
// ratio of at least 4.5:1 (level AA for normal text). The colours are read
// from the style sheets as the browser would resolve them for that
// element: a "footer small" rule, else a "small" rule, else the footer's
// own colour (inherited); custom properties (var(--x)) are resolved.
func TestFooterHelpdeskContrast(t *testing.T) {
	ss, err := os.ReadFile("static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	layout, err := os.ReadFile("../portal/templates/layout.html")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindSubmatch(layout)
	if m == nil {
		t.Fatal("no <style> in the portal layout")
	}
	for name, css := range map[string]string{"selfservice/static/style.css": string(ss), "portal/templates/layout.html": string(m[1])} {
		bg, fg := footerColours(t, css)
		if r := contrast(bg, fg); r < 4.5 {
			t.Errorf("%s: the footer's help-desk line is %s on %s: contrast %.2f:1, below 4.5:1", name, hex(fg), hex(bg), r)
		}
	}
	// The ratio itself: black on white is 21:1, #767676 on white 4.54:1.
	if r := contrast(rgb{255, 255, 255}, rgb{0, 0, 0}); math.Abs(r-21) > 0.01 {
		t.Fatalf("black on white: %.2f", r)
	}
	if r := contrast(rgb{255, 255, 255}, rgb{0x76, 0x76, 0x76}); math.Abs(r-4.54) > 0.01 {
		t.Fatalf("#767676 on white: %.2f", r)
	}
}

type rgb [3]float64

func hex(c rgb) string {
	return "#" + strconv.FormatInt(int64(c[0])<<16|int64(c[1])<<8|int64(c[2])|1<<24, 16)[1:]
}

// cssRule is one rule: its selectors and declarations.
type cssRule struct {
	selectors []string
	decl      map[string]string
}

func parseCSS(css string) []cssRule {
	css = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(css, "")
	var out []cssRule
	for _, m := range regexp.MustCompile(`([^{}]+)\{([^{}]*)\}`).FindAllStringSubmatch(css, -1) {
		r := cssRule{decl: map[string]string{}}
		for _, s := range strings.Split(m[1], ",") {
			r.selectors = append(r.selectors, strings.Join(strings.Fields(s), " "))
		}
		for _, d := range strings.Split(m[2], ";") {
			if k, v, ok := strings.Cut(d, ":"); ok {
				r.decl[strings.TrimSpace(k)] = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "!important"))
			}
		}
		out = append(out, r)
	}
	return out
}

// last is the value of prop in the last rule with one of the selectors.
func last(rules []cssRule, prop string, selectors ...string) string {
	v := ""
	for _, r := range rules {
		for _, s := range r.selectors {
			for _, want := range selectors {
				if s == want {
					if d, ok := r.decl[prop]; ok {
						v = d
					}
				}
			}
		}
	}
	return v
}

func footerColours(t *testing.T, css string) (bg, fg rgb) {
	t.Helper()
	rules := parseCSS(css)
	bgText := last(rules, "background", "footer")
	if c := last(rules, "background-color", "footer"); c != "" {
		bgText = c
	}
	footerFG := last(rules, "color", "footer")
	fgText := ""
	for _, sel := range [][]string{{"footer small"}, {"small"}} {
		if v := last(rules, "color", sel...); v != "" {
			fgText = v
			break
		}
	}
	if fgText == "" || fgText == "inherit" {
		fgText = footerFG
	}
	return colour(t, rules, bgText), colour(t, rules, fgText)
}

func colour(t *testing.T, rules []cssRule, v string) rgb {
	t.Helper()
	v = strings.TrimSpace(v)
	if m := regexp.MustCompile(`^var\((--[\w-]+)\)$`).FindStringSubmatch(v); m != nil {
		return colour(t, rules, last(rules, m[1], ":root"))
	}
	h := strings.TrimPrefix(v, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	n, err := strconv.ParseUint(h, 16, 32)
	if !strings.HasPrefix(v, "#") || len(h) != 6 || err != nil {
		t.Fatalf("colour %q: want #rgb, #rrggbb or var(--x)", v)
	}
	return rgb{float64(n >> 16 & 0xff), float64(n >> 8 & 0xff), float64(n & 0xff)}
}

// luminance is the WCAG 2 relative luminance of an sRGB colour.
func luminance(c rgb) float64 {
	var l [3]float64
	for i, v := range c {
		s := v / 255
		if s <= 0.04045 {
			l[i] = s / 12.92
		} else {
			l[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

func contrast(a, b rgb) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}
