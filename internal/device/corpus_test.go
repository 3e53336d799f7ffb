package device

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// corpusRow is one line of testdata/user-agents.tsv, the labelled corpus of
// real User-Agents (internal/device/README.md, Tests).
type corpusRow struct {
	id, label, deviceBrowser, source, ua string
	ambiguous                            bool
}

func (r corpusRow) category() string {
	cat, _, _ := strings.Cut(r.id, "-")
	return cat
}

func readCorpus(t testing.TB) []corpusRow {
	t.Helper()
	f, err := os.Open("testdata/user-agents.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []corpusRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 0; sc.Scan(); line++ {
		if line == 0 {
			continue // header
		}
		cols := strings.SplitN(sc.Text(), "\t", 6)
		if len(cols) != 6 {
			t.Fatalf("user-agents.tsv line %d: %d columns, want 6", line+1, len(cols))
		}
		rows = append(rows, corpusRow{
			id: cols[0], label: cols[1], ambiguous: cols[2] == "yes",
			deviceBrowser: cols[3], source: cols[4], ua: cols[5],
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func readNotes(t testing.TB) map[string]string {
	t.Helper()
	b, err := os.ReadFile("testdata/user-agents-notes.tsv")
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]string{}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 {
			continue
		}
		id, note, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("user-agents-notes.tsv line %d has no tab", i+1)
		}
		notes[id] = note
	}
	return notes
}

// TestCorpusShape guards the corpus: 240 rows (167 mobile, 73 pc, 62
// ambiguous) and every note keyed to a row.
func TestCorpusShape(t *testing.T) {
	rows := readCorpus(t)
	ids := map[string]bool{}
	var mobile, pc, ambiguous int
	for _, r := range rows {
		ids[r.id] = true
		switch r.label {
		case "mobile":
			mobile++
		case "pc":
			pc++
		default:
			t.Errorf("%s: label %q", r.id, r.label)
		}
		if r.ambiguous {
			ambiguous++
		}
	}
	if len(rows) != 240 || mobile != 167 || pc != 73 || ambiguous != 62 {
		t.Errorf("corpus: %d rows, %d mobile, %d pc, %d ambiguous; want 240, 167, 73, 62", len(rows), mobile, pc, ambiguous)
	}
	for id := range readNotes(t) {
		if !ids[id] {
			t.Errorf("note for %s, which is not in user-agents.tsv", id)
		}
	}
}

// tally counts passes per id prefix and logs them as a table.
type tally map[string][2]int

func (c tally) add(cat string, ok bool) {
	v := c[cat]
	v[1]++
	if ok {
		v[0]++
	}
	c[cat] = v
}

func (c tally) String() string {
	cats := make([]string, 0, len(c))
	for k := range c {
		cats = append(cats, k)
	}
	sort.Strings(cats)
	var b strings.Builder
	pass, total := 0, 0
	for _, k := range cats {
		fmt.Fprintf(&b, "  %-5s %3d/%d\n", k, c[k][0], c[k][1])
		pass += c[k][0]
		total += c[k][1]
	}
	fmt.Fprintf(&b, "  total %3d/%d\n", pass, total)
	return b.String()
}

// TestCorpusUAAlone: every row whose UA settles the label must come out
// right from the User-Agent alone.
func TestCorpusUAAlone(t *testing.T) {
	notes := readNotes(t)
	counts := tally{}
	for _, r := range readCorpus(t) {
		if r.ambiguous {
			continue
		}
		d := Classify(Signals{UserAgent: r.ua})
		ok := string(d.Class) == r.label
		counts.add(r.category(), ok)
		if !ok {
			t.Errorf("%s (%s): got %s, want %s\nUA: %s\nnote: %s\n%s",
				r.id, r.deviceBrowser, d.Class, r.label, r.ua, notes[r.id], d.Explain())
		}
		if r.label == "pc" && d.DesktopMode {
			t.Errorf("%s: a pc flagged as desktop mode", r.id)
		}
		if (r.category() == "iph" || r.category() == "and" || r.category() == "tab") && d.DesktopMode {
			t.Errorf("%s: a plain phone/tablet UA flagged as desktop mode\n%s", r.id, d.Explain())
		}
	}
	t.Logf("UA alone, unambiguous rows passing per category:\n%s", counts)
}

// hintsFor returns the page hints a row's device would report, derived from
// its label and device_browser column: what the login page's script would
// see on that hardware.
func hintsFor(r corpusRow, i int) Signals {
	s := Signals{UserAgent: r.ua}
	db := r.deviceBrowser
	if r.label == "mobile" {
		switch {
		case strings.Contains(db, "iPad"):
			// iPadOS 13+ reports MacIntel; touch points tell it from a Mac.
			s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH = "MacIntel", 5, 820, 1180
		case strings.Contains(db, "iPhone") || strings.Contains(db, "iOS") || strings.Contains(db, "Apple Captive"):
			s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH = "iPhone", 5, 390, 844
		case strings.Contains(db, "Quest"):
			// A headset: ARM Linux, and we assume no touch points and a
			// large panel, so only the OculusBrowser token can decide.
			s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH = "Linux aarch64", 0, 1832, 1920
		case containsAny(db, "tablet", "Tablet", "Tab ", "Pad ", "Flyer"):
			s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH = "Linux armv8l", 10, 800, 1280
		default: // an Android phone; alternate the two platforms Chrome reports
			s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH = "Linux armv8l", 5, 393, 873
			if i%2 == 1 {
				s.Platform = "Linux aarch64"
			}
		}
		return s
	}
	switch {
	case strings.Contains(db, "Windows"):
		s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH = "Win32", 0, 1920, 1080
		if strings.Contains(db, "Touch") {
			s.MaxTouchPoints, s.ScreenW, s.ScreenH = 10, 1368, 912 // a Surface: still Windows
		}
	case containsAny(db, "macOS", "Mac"):
		s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH = "MacIntel", 0, 1440, 900
	case containsAny(db, "Linux", "Ubuntu", "laptop", "curl", "Wget"):
		s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH = "Linux x86_64", 0, 1920, 1080
	default:
		s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH = "Win32", 0, 1920, 1080
	}
	return s
}

// TestCorpusWithHints: every ambiguous row must come out right once the
// login page's hints for its real device are added, and a phone or tablet
// behind a desktop UA must be flagged DesktopMode.
func TestCorpusWithHints(t *testing.T) {
	notes := readNotes(t)
	counts := tally{}
	for i, r := range readCorpus(t) {
		if !r.ambiguous {
			continue
		}
		s := hintsFor(r, i)
		d := Classify(s)
		ok := string(d.Class) == r.label
		wantDM := r.category() == "dm" || (r.label == "mobile" && strings.Contains(r.ua, "Macintosh"))
		if r.label == "pc" || r.category() == "cli" {
			wantDM = false
		}
		if d.DesktopMode != wantDM {
			ok = false
		}
		counts.add(r.category(), ok)
		if !ok {
			t.Errorf("%s (%s): got %s desktopMode=%v, want %s desktopMode=%v\nhints: platform %q touch %d screen %dx%d\nnote: %s\n%s",
				r.id, r.deviceBrowser, d.Class, d.DesktopMode, r.label, wantDM,
				s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH, notes[r.id], d.Explain())
		}
	}
	t.Logf("ambiguous rows with page hints, passing per category:\n%s", counts)
}

// TestCorpusDesktopModeExplained: every desktop-mode phone's explanation
// carries the FAQ in both languages, so the operator can paste it.
func TestCorpusDesktopModeExplained(t *testing.T) {
	for i, r := range readCorpus(t) {
		if r.category() != "dm" {
			continue
		}
		text := Classify(hintsFor(r, i)).Explain()
		for _, want := range []string{"class: mobile", "电脑模式/桌面版网站", "desktop mode", "iPhone/Android"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: Explain lacks %q:\n%s", r.id, want, text)
			}
		}
	}
}

// TestCorpusProbeRowsAreProbes: the probe rows of the corpus are recognised
// by User-Agent, and no browser row is.
func TestCorpusProbeRowsAreProbes(t *testing.T) {
	probes := map[string]bool{"cli-001": true, "cli-002": true, "cli-003": true, "cli-004": true, "cli-005": true,
		"cli-007": true, "cli-008": true, "cli-009": true, "cli-010": true, "cli-011": true, "cli-012": true,
		"odd-004": true}
	for _, r := range readCorpus(t) {
		if got := IsProbeUA(r.ua); got != probes[r.id] {
			t.Errorf("%s: IsProbeUA = %v, want %v (%s)", r.id, got, probes[r.id], r.ua)
		}
	}
}
