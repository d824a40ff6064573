package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Layout of a rendered figure, in SVG user units (pixels).
const (
	panelWidth   = 460
	panelHeight  = 300
	marginLeft   = 84  // y tick labels and axis label
	marginRight  = 24  // room for the last x tick label
	marginTop    = 64  // figure title and panel title
	marginBottom = 56  // x tick labels and axis label
	legendRow    = 22  // height of one legend line
	captionRow   = 20  // height of the caption under the legend
	yTickCount   = 5   // about how many y ticks a panel gets
	markerRadius = 5.0 // half the size of a marker
)

// seriesStyle is how one series is drawn so that it can be told apart
// without colour: by marker shape and dash pattern as well as colour.
type seriesStyle struct {
	colour string // Okabe-Ito palette, safe for colour-blind readers
	dash   string // stroke-dasharray, "" for solid
	marker string // marker path around (0,0)
	shape  string // the marker's name, for the legend's text alternative
}

var styles = []seriesStyle{
	{"#0072B2", "", "M-5,-5h10v10h-10z", "square"},
	{"#D55E00", "7 4", "M0,-6L6,5H-6z", "triangle"},
	{"#009E73", "2 3", "M0,-6L6,0L0,6L-6,0z", "diamond"},
	{"#CC79A7", "9 3 2 3", "M-5,-1.5h3.5v-3.5h3v3.5h3.5v3h-3.5v3.5h-3v-3.5h-3.5z", "cross"},
	{"#E69F00", "4 2", "M0,6L6,-5H-6z", "inverted triangle"},
	{"#56B4E9", "1 2", "M-5,0a5,5 0 1,0 10,0a5,5 0 1,0 -10,0z", "circle"},
}

func styleOf(i int) seriesStyle { return styles[i%len(styles)] }

// scale maps data values of one axis to pixels.
type scale struct {
	lo, hi   float64 // data range (log10 of it for a log axis)
	pLo, pHi float64 // pixel range
	log      bool
}

func (s scale) px(v float64) float64 {
	if s.log {
		v = math.Log10(v)
	}
	if s.hi == s.lo {
		return (s.pLo + s.pHi) / 2
	}
	return s.pLo + (v-s.lo)/(s.hi-s.lo)*(s.pHi-s.pLo)
}

// xScale spans the ticks of a log axis with half a tick's room each side.
func xScale(a axis, pLo, pHi float64) scale {
	lo, hi := math.Log10(a.Ticks[0]), math.Log10(a.Ticks[len(a.Ticks)-1])
	pad := (hi - lo) * 0.06
	if pad == 0 {
		pad = 0.5
	}
	return scale{lo: lo - pad, hi: hi + pad, pLo: pLo, pHi: pHi, log: true}
}

// yScale returns the y scale of a panel and its ticks: linear from 0 to a
// round value above every point's Hi, or, for a log axis, from the power of
// ten below the smallest Lo to the one above the largest Hi (ticks at 1, 2
// and 5 times each power when the range spans fewer than four decades).
func yScale(a axis, ss []plotSeries, pLo, pHi float64) (scale, []float64) {
	top, bottom := 0.0, math.Inf(1)
	for _, s := range ss {
		for _, p := range s.Points {
			top = math.Max(top, p.Hi)
			bottom = math.Min(bottom, p.Lo)
		}
	}
	if a.Log {
		lo, hi := math.Floor(math.Log10(bottom)), math.Ceil(math.Log10(top))
		if hi <= lo {
			hi = lo + 1
		}
		if hi-lo > 30 {
			lo = hi - 30 // collect keeps Lo > 0; a wider range is no figure
		}
		var ticks []float64
		for e := lo; e <= hi; e++ {
			ticks = append(ticks, math.Pow(10, e))
			if hi-lo < 4 && e < hi {
				ticks = append(ticks, 2*math.Pow(10, e), 5*math.Pow(10, e))
			}
		}
		return scale{lo: lo, hi: hi, pLo: pLo, pHi: pHi, log: true}, ticks
	}
	step := niceStep(top / yTickCount)
	n := math.Ceil(top / step)
	if !(n >= 1) || n > 2*yTickCount || math.IsInf(n*step, 0) {
		// Values at the ends of float64 (subnormal or near the maximum):
		// no round step; ticks at fifths of the largest value.
		n, step = yTickCount, top/yTickCount
		if !(step > 0) {
			step = 1
		}
	}
	ticks := make([]float64, 0, int(n)+1)
	for i := 0.0; i <= n; i++ {
		ticks = append(ticks, i*step)
	}
	return scale{lo: 0, hi: n * step, pLo: pLo, pHi: pHi}, ticks
}

// niceStep returns the smallest of 1, 2 and 5 times a power of ten that is
// at least v (1 for v <= 0).
func niceStep(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p // v below the smallest power of ten: yScale falls back
}

// renderSVG writes f as a standalone, accessible SVG document: a <title>
// and <desc> (every drawn value as text), axis labels with units, a legend
// whose entries differ by marker shape and dash pattern, not only colour.
// Each point is a <g class="point"> carrying its data values and drawn at
// its transform, with a <title> tooltip.
func renderSVG(w io.Writer, f figure) error {
	var maxSeries int
	for _, p := range f.Panels {
		maxSeries = max(maxSeries, len(p.Series))
	}
	width := len(f.Panels) * (marginLeft + panelWidth + marginRight)
	height := marginTop + panelHeight + marginBottom + maxSeries*legendRow + len(f.Caption)*captionRow + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="title desc" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, "<title id=\"title\">%s</title>\n<desc id=\"desc\">%s</desc>\n", esc(f.Title), esc(f.Desc))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="16" font-weight="bold">%s</text>`+"\n", marginLeft, esc(f.Title))
	for i, p := range f.Panels {
		renderPanel(&b, p, i*(marginLeft+panelWidth+marginRight))
	}
	legendTop := marginTop + panelHeight + marginBottom
	renderLegend(&b, f.Panels[0].Series, legendTop)
	for i, line := range f.Caption {
		fmt.Fprintf(&b, `<text class="caption" x="%d" y="%d" fill="#333">%s</text>`+"\n",
			marginLeft, legendTop+maxSeries*legendRow+(i+1)*captionRow-4, esc(line))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func renderPanel(b *strings.Builder, p panel, left int) {
	x0, x1 := float64(left+marginLeft), float64(left+marginLeft+panelWidth)
	y0, y1 := float64(marginTop+panelHeight), float64(marginTop)
	xs := xScale(p.X, x0, x1)
	ys, yticks := yScale(p.Y, p.Series, y0, y1)
	fmt.Fprintf(b, `<g class="panel" data-title="%s">`+"\n", esc(p.Title))
	fmt.Fprintf(b, `<text x="%g" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", x0, marginTop-12, esc(p.Title))
	// Grid and y ticks.
	fmt.Fprintf(b, `<g class="y-axis" data-label="%s">`+"\n", esc(p.Y.Label))
	for _, t := range yticks {
		y := ys.px(t)
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`, x0, y, x1, y)
		fmt.Fprintf(b, `<text class="tick" data-value="%g" x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", t, x0-6, y, esc(p.Y.Format(t)))
	}
	fmt.Fprintf(b, `<text class="axis-label" transform="translate(%d,%g) rotate(-90)" text-anchor="middle">%s</text>`+"\n",
		left+16, (y0+y1)/2, esc(p.Y.Label))
	b.WriteString("</g>\n")
	// X ticks.
	fmt.Fprintf(b, `<g class="x-axis" data-label="%s">`+"\n", esc(p.X.Label))
	for _, t := range p.X.Ticks {
		x := xs.px(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#ddd"/>`, x, y0, x, y1)
		fmt.Fprintf(b, `<text class="tick" data-value="%g" x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", t, x, y0+18, esc(p.X.Format(t)))
	}
	fmt.Fprintf(b, `<text class="axis-label" x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", (x0+x1)/2, y0+42, esc(p.X.Label))
	b.WriteString("</g>\n")
	fmt.Fprintf(b, `<path d="M%g,%gV%gH%g" fill="none" stroke="black"/>`+"\n", x0, y1, y0, x1)
	for i, s := range p.Series {
		renderSeries(b, s, styleOf(i), p, xs, ys)
	}
	b.WriteString("</g>\n")
}

func renderSeries(b *strings.Builder, s plotSeries, st seriesStyle, p panel, xs, ys scale) {
	fmt.Fprintf(b, `<g class="series" data-name="%s">`+"\n", esc(s.Name))
	if len(s.Points) > 1 {
		pts := make([]string, len(s.Points))
		for i, pt := range s.Points {
			pts[i] = fmt.Sprintf("%.1f,%.1f", xs.px(pt.X), ys.px(pt.Y))
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"`, strings.Join(pts, " "), st.colour)
		if st.dash != "" {
			fmt.Fprintf(b, ` stroke-dasharray="%s"`, st.dash)
		}
		b.WriteString("/>\n")
	}
	for _, pt := range s.Points {
		x, y := xs.px(pt.X), ys.px(pt.Y)
		fmt.Fprintf(b, `<g class="point" data-x="%g" data-y="%g" data-lo="%g" data-hi="%g" transform="translate(%.2f,%.2f)">`,
			pt.X, pt.Y, pt.Lo, pt.Hi, x, y)
		fmt.Fprintf(b, `<title>%s: %s at %s (runs %s to %s)</title>`, esc(s.Name), esc(p.Y.Format(pt.Y)+" "+unitOf(p.Y.Label)),
			esc(p.X.Format(pt.X)), esc(p.Y.Format(pt.Lo)), esc(p.Y.Format(pt.Hi)))
		if pt.Hi > pt.Lo {
			fmt.Fprintf(b, `<line class="range" x1="0" y1="%.2f" x2="0" y2="%.2f" stroke="%s"/>`, ys.px(pt.Lo)-y, ys.px(pt.Hi)-y, st.colour)
		}
		fmt.Fprintf(b, `<path d="%s" fill="%s" stroke="black" stroke-width="0.8"/></g>`+"\n", st.marker, st.colour)
	}
	b.WriteString("</g>\n")
}

func renderLegend(b *strings.Builder, ss []plotSeries, top int) {
	b.WriteString(`<g class="legend">` + "\n")
	for i, s := range ss {
		st := styleOf(i)
		y := float64(top + i*legendRow + legendRow/2)
		x := float64(marginLeft)
		fmt.Fprintf(b, `<g class="legend-entry" data-name="%s" data-marker="%s">`, esc(s.Name), st.shape)
		fmt.Fprintf(b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="2"`, x, y, x+36, y, st.colour)
		if st.dash != "" {
			fmt.Fprintf(b, ` stroke-dasharray="%s"`, st.dash)
		}
		fmt.Fprintf(b, `/><path transform="translate(%g,%g)" d="%s" fill="%s" stroke="black" stroke-width="0.8"/>`, x+18, y, st.marker, st.colour)
		fmt.Fprintf(b, `<text x="%g" y="%g" dominant-baseline="middle">%s (%s)</text></g>`+"\n", x+46, y, esc(s.Name), st.shape)
	}
	b.WriteString("</g>\n")
}

// unitOf returns the unit in parentheses at the end of an axis label,
// without a note after a comma ("entries/s, log scale").
func unitOf(label string) string {
	i := strings.LastIndex(label, "(")
	j := strings.LastIndex(label, ")")
	if i < 0 || j < i {
		return ""
	}
	unit, _, _ := strings.Cut(label[i+1:j], ",")
	return unit
}

// esc escapes text for XML content and attribute values.
func esc(s string) string {
	return html.EscapeString(strings.ToValidUTF8(stripControl(s), "\uFFFD"))
}

// stripControl drops characters XML 1.0 does not allow.
func stripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != 0xFFFE && r != 0xFFFF {
			return r
		}
		return -1
	}, s)
}
