package main

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// This file turns parsed series into the data of the figures benchreport
// draws (svg.go renders them): throughput against concurrent writers for
// the append benchmarks, and throughput and p99 latency against log size
// for the scale benchmark.

// Names of the figure files written by -svg-dir.
const (
	writersFigureFile = "append-writers.svg"
	scaleFigureFile   = "scale.svg"
)

// defaultWritersPlot selects, by name without its writers=N element, the
// append benchmarks drawn against writers: the ledger on each store and
// the Tessera baseline, not the sealing, witness or guard variants.
const defaultWritersPlot = `^Benchmark(Append/store=[^/]+|TesseraAppend/posix/[^/]+)$`

// point is one plotted value: the median over runs at X, with the smallest
// and largest run (drawn as a bar).
type point struct {
	X, Y, Lo, Hi float64
}

// plotSeries is one line of a panel.
type plotSeries struct {
	Name   string
	Points []point // sorted by X, distinct X
}

// axis describes one axis of a panel.
type axis struct {
	Label string // with its unit, e.g. "entries/s"
	Log   bool   // logarithmic
	// Ticks are the tick values of a log axis (the X values present);
	// a linear axis computes its own.
	Ticks []float64
	// Format prints a tick value.
	Format func(float64) string
}

// panel is one chart: axes and series.
type panel struct {
	Title  string
	X, Y   axis
	Series []plotSeries
}

// figure is one SVG file: one or more panels side by side sharing a legend.
type figure struct {
	File    string
	Title   string
	Desc    string   // what the figure shows, for readers who cannot see it
	Caption []string // lines under the legend: the machine, notes, how to read it
	Panels  []panel
}

// sizePart matches the size=N element of a benchmark name, N an integer
// with an optional k, M or G suffix.
var sizePart = regexp.MustCompile(`/size=(\d+)([kKMG]?)(?:/|$)`)

// parseSize returns the number of a size=N element, or false.
func parseSize(name string) (class string, size float64, ok bool) {
	m := sizePart.FindStringSubmatchIndex(name)
	if m == nil {
		return "", 0, false
	}
	n, err := strconv.ParseFloat(name[m[2]:m[3]], 64)
	if err != nil {
		return "", 0, false
	}
	switch name[m[4]:m[5]] {
	case "k", "K":
		n *= 1e3
	case "M":
		n *= 1e6
	case "G":
		n *= 1e9
	}
	// Keep a following "/" so that "A/size=1/b" becomes "A/b".
	end := m[1]
	if strings.HasSuffix(name[:end], "/") {
		end--
	}
	return name[:m[0]] + name[end:], n, true
}

// pointOf returns the median, min and max of vs, or false if vs is empty
// or holds a value that cannot be drawn (NaN, infinite or negative).
func pointOf(x float64, vs []float64) (point, bool) {
	if len(vs) == 0 {
		return point{}, false
	}
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return point{}, false
		}
	}
	med, _ := median(vs)
	return point{X: x, Y: med, Lo: slices.Min(vs), Hi: slices.Max(vs)}, true
}

// collect groups the series whose name yields (class, x) by class, taking
// unit's values; classes in order of first appearance, points sorted by x.
// A series with no drawable value of unit (positive if positive is set,
// for a log axis) is left out.
func collect(all []*series, unit string, positive bool, key func(name string) (class string, x float64, ok bool)) []plotSeries {
	var out []plotSeries
	index := map[string]int{}
	for _, s := range all {
		class, x, ok := key(s.Name)
		if !ok || !(x > 0) || math.IsInf(x, 0) {
			continue
		}
		p, ok := pointOf(x, s.Values[unit])
		if !ok || positive && !(p.Lo > 0) {
			continue
		}
		i, seen := index[class]
		if !seen {
			i = len(out)
			index[class] = i
			out = append(out, plotSeries{Name: strings.TrimPrefix(class, "Benchmark")})
		}
		out[i].Points = append(out[i].Points, p)
	}
	for i := range out {
		slices.SortFunc(out[i].Points, func(a, b point) int { return cmpFloat(a.X, b.X) })
		out[i].Points = slices.CompactFunc(out[i].Points, func(a, b point) bool { return a.X == b.X })
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// xTicks returns the distinct X values of every series, sorted.
func xTicks(ss []plotSeries) []float64 {
	var xs []float64
	for _, s := range ss {
		for _, p := range s.Points {
			xs = append(xs, p.X)
		}
	}
	slices.Sort(xs)
	return slices.Compact(xs)
}

// writersFigure returns the throughput-against-writers figure of the
// append benchmarks whose class matches sel, or false if there is none.
func writersFigure(all []*series, sel *regexp.Regexp, caption []string) (figure, bool) {
	ss := collect(all, "entries/s", true, func(name string) (string, float64, bool) {
		class, w, ok := baselineClass(name)
		if !ok || !sel.MatchString(class) {
			return "", 0, false
		}
		n, err := strconv.ParseFloat(w, 64)
		return class, n, err == nil
	})
	if len(ss) == 0 {
		return figure{}, false
	}
	p := panel{
		Title:  "Durable appends with receipts, 1 KiB entries",
		X:      axis{Label: "concurrent writers (log scale)", Log: true, Ticks: xTicks(ss), Format: formatCount},
		Y:      axis{Label: "throughput (entries/s, log scale)", Log: true, Format: formatNumber},
		Series: ss,
	}
	return figure{
		File:    writersFigureFile,
		Title:   "Append throughput against concurrent writers",
		Desc:    describe(caption, []panel{p}),
		Caption: caption,
		Panels:  []panel{p},
	}, true
}

// scaleFigure returns the figure of the scale benchmark (names with a
// size=N element under BenchmarkScale): throughput and p99 latency against
// log size, or false if the input has none.
func scaleFigure(all []*series, caption []string) (figure, bool) {
	key := func(name string) (string, float64, bool) {
		if !strings.HasPrefix(name, "BenchmarkScale/") {
			return "", 0, false
		}
		return parseSize(name)
	}
	tput := collect(all, "entries/s", false, key)
	p99 := collect(all, "p99-ms", false, key)
	if len(tput) == 0 && len(p99) == 0 {
		return figure{}, false
	}
	ticks := xTicks(append(slices.Clone(tput), p99...))
	x := axis{Label: "log size (entries, log scale)", Log: true, Ticks: ticks, Format: formatCount}
	var panels []panel
	if len(tput) > 0 {
		panels = append(panels, panel{Title: "Append throughput", X: x, Y: axis{Label: "throughput (entries/s)", Format: formatNumber}, Series: tput})
	}
	if len(p99) > 0 {
		panels = append(panels, panel{Title: "Append latency, 99th percentile", X: x, Y: axis{Label: "p99 latency (ms)", Format: formatNumber}, Series: p99})
	}
	return figure{
		File:    scaleFigureFile,
		Title:   "Appends as the log grows",
		Desc:    describe(caption, panels),
		Caption: caption,
		Panels:  panels,
	}, true
}

// figures returns every figure the input has data for. note, if not
// empty, is a sentence about the run (such as the machine's load) added to
// each figure's caption and text alternative.
func figures(res *results, writersSel *regexp.Regexp, note string) ([]figure, error) {
	var caption []string
	if env := envSentence(res); env != "" {
		caption = append(caption, env)
	}
	if note = strings.TrimSpace(strings.ReplaceAll(note, "\n", " ")); note != "" {
		if !strings.HasSuffix(note, ".") {
			note += "."
		}
		caption = append(caption, note)
	}
	caption = append(caption, "Medians over runs; bars span the slowest and fastest run.")
	var out []figure
	if f, ok := writersFigure(res.Series, writersSel, caption); ok {
		out = append(out, f)
	}
	if f, ok := scaleFigure(res.Series, caption); ok {
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("nothing to plot: the input has no append benchmark with writers=N and entries/s, and no BenchmarkScale/.../size=N")
	}
	return out, nil
}

// describe is the text alternative of a figure: its caption and every
// value it draws.
func describe(caption []string, panels []panel) string {
	var b strings.Builder
	b.WriteString(strings.Join(caption, " "))
	for _, p := range panels {
		fmt.Fprintf(&b, " %s, %s against %s:", p.Title, p.Y.Label, p.X.Label)
		for i, s := range p.Series {
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " %s:", s.Name)
			for j, pt := range s.Points {
				if j > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, " %s at %s", p.Y.Format(pt.Y), p.X.Format(pt.X))
			}
		}
		b.WriteString(".")
	}
	return b.String()
}

// envSentence names the machine, as writeEnv does for the table.
func envSentence(res *results) string {
	var parts []string
	if cpu := res.Env["cpu"]; cpu != "" {
		parts = append(parts, cpu)
	}
	if res.Env["goos"] != "" || res.Env["goarch"] != "" {
		parts = append(parts, res.Env["goos"]+"/"+res.Env["goarch"])
	}
	if res.Procs != "" {
		parts = append(parts, "GOMAXPROCS="+res.Procs)
	}
	if len(parts) == 0 {
		return ""
	}
	return "Measured on " + strings.Join(parts, ", ") + "."
}

// formatCount prints a count compactly: 256, 16k, 1M, 10M, 1.5M.
func formatCount(v float64) string {
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if math.Abs(v) >= u.div {
			return strconv.FormatFloat(v/u.div, 'g', 3, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
