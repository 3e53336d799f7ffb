package selfservice

import (
	"fmt"
	"html/template"
	"strings"
)

// Charts are drawn on the server as SVG, so that a page shows them without
// JavaScript; each comes with a table of the same figures beside it, which
// is what a screen reader reads (the SVG is an image with a title and a
// description) and what a person copies from.

// chartSeries is one stacked part of every bar: an area, a reason, a
// direction of traffic.
type chartSeries struct {
	Label  string
	Values []int64
}

// barChart is a stacked bar chart: one bar per label (an hour, a day).
type barChart struct {
	ID     string // unique on the page: the ids of its title and description
	Title  string
	Desc   string
	Labels []string
	Series []chartSeries
	// Format prints a value for the axis and the table (default: decimal).
	Format func(int64) string
	// Every prints every Every-th label under the bars (default 1).
	Every int
	// Binary puts the axis top on a round number of KiB, MiB, GiB (bytes).
	Binary bool
	// Head and TotalHead are the table's first and last column headings.
	Head, TotalHead string
}

// chartColors are the series' colours in order: distinguishable from one
// another and against white (3:1 or more); the table names the values.
var chartColors = []string{"#1c5fb8", "#c2410c", "#2f7d32", "#7b2d9b", "#a16207", "#0e7490", "#be185d", "#4b5563"}

func (c barChart) format(v int64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	return fmt.Sprint(v)
}

// Total is bar i's height.
func (c barChart) Total(i int) int64 {
	var t int64
	for _, s := range c.Series {
		if i < len(s.Values) {
			t += s.Values[i]
		}
	}
	return t
}

// Empty reports whether every value is zero.
func (c barChart) Empty() bool {
	for i := range c.Labels {
		if c.Total(i) != 0 {
			return false
		}
	}
	return true
}

// chartRow is one line of the chart's table.
type chartRow struct {
	Label string
	Cells []string
	Total string
}

// Rows are the table's lines, one per bar.
func (c barChart) Rows() []chartRow {
	rows := make([]chartRow, len(c.Labels))
	for i, l := range c.Labels {
		r := chartRow{Label: l, Total: c.format(c.Total(i))}
		for _, s := range c.Series {
			var v int64
			if i < len(s.Values) {
				v = s.Values[i]
			}
			r.Cells = append(r.Cells, c.format(v))
		}
		rows[i] = r
	}
	return rows
}

// legendEntry is a series' label and the class of its swatch (style.css
// colours .c0 … .c7 as chartColors: the pages' CSP allows no inline style).
type legendEntry struct {
	Label string
	Class string
}

// Legend is the series' labels with their colours.
func (c barChart) Legend() []legendEntry {
	out := make([]legendEntry, len(c.Series))
	for i, s := range c.Series {
		out[i] = legendEntry{Label: s.Label, Class: fmt.Sprintf("c%d", i%len(chartColors))}
	}
	return out
}

// niceMax is the axis top: the smallest 1, 2 or 5 × 10ⁿ at or above m.
func niceMax(m int64) int64 {
	if m <= 0 {
		return 1
	}
	for p := int64(1); ; p *= 10 {
		for _, f := range []int64{1, 2, 5} {
			if f*p >= m {
				return f * p
			}
		}
	}
}

// SVG draws the chart.
func (c barChart) SVG() template.HTML {
	const w, h, left, right, top, bottom = 480.0, 200.0, 60.0, 6.0, 10.0, 26.0
	esc := template.HTMLEscapeString
	var peak int64
	for i := range c.Labels {
		peak = max(peak, c.Total(i))
	}
	top0 := niceMax(peak)
	if c.Binary {
		unit := int64(1)
		for peak/unit >= 1024 && unit < 1<<40 {
			unit <<= 10
		}
		top0 = niceMax((peak+unit-1)/unit) * unit
	}
	plotW, plotH := w-left-right, h-top-bottom
	n := max(1, len(c.Labels))
	slot := plotW / float64(n)
	bar := slot * 0.8
	y := func(v int64) float64 { return top + plotH - plotH*float64(v)/float64(top0) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-title %s-desc" xmlns="http://www.w3.org/2000/svg">`,
		esc(c.ID), w, h, esc(c.ID), esc(c.ID))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Desc))
	ticks := []int64{0, top0}
	if top0 >= 2 {
		ticks = []int64{0, top0 / 2, top0}
	}
	for _, v := range ticks {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#d0d7de"/>`, left, w-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end" font-size="12" fill="#333">%s</text>`, left-4, y(v)+4, esc(c.format(v)))
	}
	every := max(1, c.Every)
	for i, l := range c.Labels {
		x := left + float64(i)*slot + (slot-bar)/2
		base := int64(0)
		for si, s := range c.Series {
			if i >= len(s.Values) || s.Values[i] == 0 {
				continue
			}
			v := s.Values[i]
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s · %s: %s</title></rect>`,
				x, y(base+v), bar, y(base)-y(base+v), chartColors[si%len(chartColors)], esc(l), esc(s.Label), esc(c.format(v)))
			base += v
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle" font-size="12" fill="#333">%s</text>`, x+bar/2, h-8, esc(l))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text in it is escaped above
}
