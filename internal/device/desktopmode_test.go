package device

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// desktopModeRow is one line of testdata/desktop-mode.tsv: the full signal
// set of a phone or tablet in desktop mode ("dmx-") or of a computer that
// looks like one ("lpc-"), with the source of its facts.
type desktopModeRow struct {
	id, label, deviceBrowser, source string
	s                                Signals
}

// desktopModeMACs are the MACs the mac column stands for: "random" a
// locally administered one, "global" a vendor-assigned one.
var desktopModeMACs = map[string]string{"random": "7a:3f:12:c4:9e:01", "global": "3c:22:fb:10:20:30", "": ""}

func readDesktopModeCorpus(t testing.TB) []desktopModeRow {
	t.Helper()
	b, err := os.ReadFile("testdata/desktop-mode.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var rows []desktopModeRow
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 12 {
			t.Fatalf("desktop-mode.tsv line %d: %d columns, want 12", i+1, len(c))
		}
		touch, err := strconv.Atoi(c[7])
		if err != nil {
			t.Fatalf("desktop-mode.tsv line %d: touch %q", i+1, c[7])
		}
		s := Signals{UserAgent: c[3], CHUAMobile: c[4], CHUAPlatform: c[5], Platform: c[6], MaxTouchPoints: touch, UADataMobile: c[9]}
		if c[8] != "-" {
			if _, err := fmt.Sscanf(c[8], "%dx%d", &s.ScreenW, &s.ScreenH); err != nil {
				t.Fatalf("desktop-mode.tsv line %d: screen %q", i+1, c[8])
			}
		}
		mac, ok := desktopModeMACs[c[10]]
		if !ok {
			t.Fatalf("desktop-mode.tsv line %d: mac %q", i+1, c[10])
		}
		s.MAC = mac
		rows = append(rows, desktopModeRow{id: c[0], label: c[1], deviceBrowser: c[2], source: c[11], s: s})
	}
	return rows
}

// TestDesktopModeCorpusShape: every row names its source, and the corpus
// covers the browsers students use and the PCs that look like phones.
func TestDesktopModeCorpusShape(t *testing.T) {
	rows := readDesktopModeCorpus(t)
	var all strings.Builder
	for _, r := range rows {
		if strings.TrimSpace(r.source) == "" {
			t.Errorf("%s: no source", r.id)
		}
		want := map[string]string{"dmx": "mobile", "lpc": "pc"}[strings.SplitN(r.id, "-", 2)[0]]
		if r.label != want {
			t.Errorf("%s: label %q, want %q", r.id, r.label, want)
		}
		all.WriteString(r.deviceBrowser + "\n")
	}
	for _, b := range []string{"Chrome", "Edge", "Samsung Internet", "Xiaomi", "Redmi", "Huawei", "Honor", "UC", "Quark",
		"QQ Browser", "Firefox", "iPad", "iPhone", "Raspberry Pi", "Surface", "Chromebook", "Windows", "Mac"} {
		if !strings.Contains(all.String(), b) {
			t.Errorf("no row for %s", b)
		}
	}
}

// TestDesktopModeCorpus: every phone or tablet in desktop mode is mobile
// and flagged DesktopMode, whatever the client hints say; every look-alike
// computer is a pc and not flagged.
func TestDesktopModeCorpus(t *testing.T) {
	for _, r := range readDesktopModeCorpus(t) {
		d := Classify(r.s)
		if string(d.Class) != r.label || d.DesktopMode != (r.label == "mobile") {
			t.Errorf("%s (%s): got %s desktopMode=%v, want %s\n%s", r.id, r.deviceBrowser, d.Class, d.DesktopMode, r.label, d.Explain())
		}
	}
}
