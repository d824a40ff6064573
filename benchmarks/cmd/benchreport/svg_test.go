package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// node is any XML element, for reading the SVG back.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// all returns every element below n (n included) for which keep is true.
func (n *node) all(keep func(*node) bool) []*node {
	var out []*node
	if keep(n) {
		out = append(out, n)
	}
	for i := range n.Nodes {
		out = append(out, n.Nodes[i].all(keep)...)
	}
	return out
}

func withClass(class string) func(*node) bool {
	return func(n *node) bool { return n.attr("class") == class }
}

func (n *node) child(local string) *node {
	for i := range n.Nodes {
		if n.Nodes[i].XMLName.Local == local {
			return &n.Nodes[i]
		}
	}
	return nil
}

// readSVG parses an SVG document, failing the test if it is not XML.
func readSVG(t *testing.T, doc []byte) *node {
	t.Helper()
	var root node
	require.NoError(t, xml.Unmarshal(doc, &root), "the SVG is well-formed XML")
	require.Equal(t, "svg", root.XMLName.Local)
	return &root
}

// drawnPoint is a point as drawn: its data values and its position.
type drawnPoint struct {
	x, y, px, py float64
}

var translate = regexp.MustCompile(`^translate\(([-0-9.]+),([-0-9.]+)\)$`)

// pointsOf returns the drawn points of every series of a panel, by name.
func pointsOf(t *testing.T, panel *node) map[string][]drawnPoint {
	t.Helper()
	out := map[string][]drawnPoint{}
	for _, s := range panel.all(withClass("series")) {
		for _, p := range s.all(withClass("point")) {
			m := translate.FindStringSubmatch(p.attr("transform"))
			require.NotNil(t, m, "point drawn at a translation: %q", p.attr("transform"))
			out[s.attr("data-name")] = append(out[s.attr("data-name")], drawnPoint{
				x: num(t, p.attr("data-x")), y: num(t, p.attr("data-y")),
				px: num(t, m[1]), py: num(t, m[2]),
			})
			require.NotNil(t, p.child("title"), "every point has a tooltip")
		}
	}
	return out
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return v
}

// renderFiles runs benchreport with -svg-dir on input and returns the
// files it wrote.
func renderFiles(t *testing.T, input string, extra ...string) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(append([]string{"-svg-dir", dir}, extra...), strings.NewReader(input), &out))
	require.Contains(t, out.String(), "| benchmark |", "the table is still written")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = b
	}
	return files
}

func readCurves(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("testdata", "curves.txt"))
	require.NoError(t, err)
	return string(b)
}

// The writers figure draws, for the ledger and Tessera, the median
// entries/s of the input at each writer count, on log-scale axes: a point's
// distance from another is proportional to the log of their ratio.
func TestWritersFigureDrawsTheInput(t *testing.T) {
	files := renderFiles(t, readCurves(t))
	require.Len(t, files, 2)
	root := readSVG(t, files[writersFigureFile])

	require.Equal(t, "Append throughput against concurrent writers", root.child("title").Text)
	desc := root.child("desc").Text
	require.Contains(t, desc, "Measured on Example CPU, linux/amd64, GOMAXPROCS=2.")
	require.Contains(t, desc, "Append/store=pebble: 900 at 1, 12,000 at 16, 45,000 at 64, 120,000 at 256", "the text alternative lists the values")
	require.Equal(t, "title desc", root.attr("aria-labelledby"))

	panels := root.all(withClass("panel"))
	require.Len(t, panels, 1)
	axes := map[string]string{}
	for _, a := range root.all(func(n *node) bool { return strings.HasSuffix(n.attr("class"), "-axis") }) {
		axes[a.attr("class")] = a.attr("data-label")
	}
	require.Contains(t, axes["x-axis"], "writers")
	require.Contains(t, axes["y-axis"], "entries/s")

	want := map[string][]float64{ // medians of testdata/curves.txt, by writers 1, 16, 64, 256
		"Append/store=mem":              {5000, 60000, 200000, 400000},
		"Append/store=pebble":           {900, 12000, 45000, 120000},
		"TesseraAppend/posix/durable":   {70, 1100, 4200, 30000},
		"TesseraAppend/posix/published": {10, 150, 600, 2300},
	}
	got := pointsOf(t, panels[0])
	require.Len(t, got, len(want), "one series per benchmark, no sealing or witness variants")
	for name, ys := range want {
		pts := got[name]
		require.Len(t, pts, 4, name)
		for i, w := range []float64{1, 16, 64, 256} {
			require.Equal(t, w, pts[i].x, name)
			require.Equal(t, ys[i], pts[i].y, name)
		}
		// Log x: 1 -> 16 is as far as 16 -> 256 (half of 1 -> 256); 64 is
		// three quarters of the way.
		span := pts[3].px - pts[0].px
		require.Greater(t, span, 100.0)
		require.InDelta(t, 0.5, (pts[1].px-pts[0].px)/span, 0.01, name)
		require.InDelta(t, 0.75, (pts[2].px-pts[0].px)/span, 0.01, name)
	}
	// Log y, across series: pixel distances are proportional to log ratios.
	mem, tess := got["Append/store=mem"], got["TesseraAppend/posix/published"]
	perDecade := (tess[0].py - mem[3].py) / math.Log10(400000.0/10)
	require.Greater(t, perDecade, 10.0, "higher throughput is drawn higher")
	for name, pts := range got {
		for _, p := range pts {
			require.InDelta(t, math.Log10(p.y/10)*perDecade, tess[0].py-p.py, 0.1, "%s at %g", name, p.x)
		}
	}

	legend := root.all(withClass("legend-entry"))
	require.Len(t, legend, 4)
	markers := map[string]bool{}
	for _, e := range legend {
		require.Contains(t, want, e.attr("data-name"))
		markers[e.attr("data-marker")] = true
	}
	require.Len(t, markers, 4, "series differ by marker shape, not only colour")
}

// The scale figure draws entries/s and p99 latency against log size, on a
// linear y axis from 0: a point's height above 0 is proportional to its
// value.
func TestScaleFigureDrawsTheInput(t *testing.T) {
	root := readSVG(t, renderFiles(t, readCurves(t))[scaleFigureFile])
	require.Contains(t, root.child("desc").Text, "Append throughput, throughput (entries/s) against log size (entries, log scale): Scale/pebble: 130,000 at 1k, 128,000 at 10k")
	panels := root.all(withClass("panel"))
	require.Len(t, panels, 2)
	for _, tt := range []struct {
		unit string
		want []float64 // medians at sizes 1e3 .. 1e7
	}{
		{"entries/s", []float64{130000, 128000, 125000, 118000, 104000}},
		{"ms", []float64{9.5, 9.8, 10.4, 11.9, 14.2}},
	} {
		var panel *node
		for _, p := range panels {
			if strings.Contains(p.all(withClass("y-axis"))[0].attr("data-label"), "("+tt.unit+")") {
				panel = p
			}
		}
		require.NotNil(t, panel, "a panel in %s", tt.unit)
		pts := pointsOf(t, panel)["Scale/pebble"]
		require.Len(t, pts, len(tt.want))
		zero := yOfTick(t, panel, 0)
		for i, p := range pts {
			require.Equal(t, math.Pow(10, float64(3+i)), p.x)
			require.Equal(t, tt.want[i], p.y)
			require.InDelta(t, (zero-pts[0].py)*p.y/pts[0].y, zero-p.py, 0.1, "height proportional to value")
			if i > 0 {
				require.InDelta(t, pts[1].px-pts[0].px, p.px-pts[i-1].px, 0.1, "decades equally spaced")
			}
		}
	}
}

// yOfTick returns the pixel y of the y tick of value v.
func yOfTick(t *testing.T, panel *node, v float64) float64 {
	for _, tick := range panel.all(withClass("y-axis"))[0].all(withClass("tick")) {
		if num(t, tick.attr("data-value")) == v {
			return num(t, tick.attr("y"))
		}
	}
	t.Fatalf("no y tick at %g", v)
	return 0
}

// Changing one number of the input moves its point and nothing else.
func TestFigureFollowsItsInput(t *testing.T) {
	in := readCurves(t)
	// Every run of size=1000 reports 65,000 entries/s instead of about 130,000.
	changed := regexp.MustCompile(`(?m)^(BenchmarkScale/pebble/size=1000-2 .*\t)\d+ entries/s`).ReplaceAllString(in, "${1}65000 entries/s")
	require.NotEqual(t, in, changed)
	a := pointsOf(t, readSVG(t, renderFiles(t, in)[scaleFigureFile]).all(withClass("panel"))[0])["Scale/pebble"]
	b := pointsOf(t, readSVG(t, renderFiles(t, changed)[scaleFigureFile]).all(withClass("panel"))[0])["Scale/pebble"]
	require.Equal(t, 65000.0, b[0].y)
	require.Greater(t, b[0].py, a[0].py, "lower throughput is drawn lower")
	for i := 1; i < len(a); i++ {
		require.Equal(t, a[i], b[i])
	}
}

// Only the figures the input has data for are written.
func TestOnlyFiguresWithDataAreWritten(t *testing.T) {
	var scaleOnly strings.Builder
	for _, line := range strings.Split(readCurves(t), "\n") {
		if !strings.Contains(line, "writers=") {
			scaleOnly.WriteString(line + "\n")
		}
	}
	files := renderFiles(t, scaleOnly.String())
	require.Len(t, files, 1)
	require.Contains(t, files, scaleFigureFile)
}

func TestSVGErrors(t *testing.T) {
	curves := readCurves(t)
	tests := []struct {
		name  string
		args  func(dir string) []string
		input string
		want  string
	}{
		{"missing directory", func(dir string) []string { return []string{"-svg-dir", filepath.Join(dir, "nope")} }, curves, "not an existing directory"},
		{"a file, not a directory", func(dir string) []string {
			f := filepath.Join(dir, "f")
			require.NoError(t, os.WriteFile(f, nil, 0o644))
			return []string{"-svg-dir", f}
		}, curves, "not an existing directory"},
		{"nothing to plot", func(dir string) []string { return []string{"-svg-dir", dir} },
			"BenchmarkVerifyInclusion-2 10 250 ns/op 4000000 verifications/s\n", "nothing to plot"},
		{"only unplottable values", func(dir string) []string { return []string{"-svg-dir", dir} },
			"BenchmarkAppend/store=mem/writers=1-2 10 5 ns/op NaN entries/s\nBenchmarkScale/pebble/size=10-2 1 5 ns/op -1 entries/s\n", "nothing to plot"},
		{"bad -writers-plot", func(dir string) []string { return []string{"-svg-dir", dir, "-writers-plot", "("} }, curves, "-writers-plot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := tt.args(dir)
			before, err := os.ReadDir(dir)
			require.NoError(t, err)
			var out bytes.Buffer
			err = run(args, strings.NewReader(tt.input), &out)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, out.String(), "nothing written on refusal")
			after, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Equal(t, len(before), len(after), "no file written on refusal")
		})
	}
}

// Values that cannot be drawn (NaN, infinite, negative; zero on a log
// axis) are left out rather than drawn at a nonsense position.
func TestUndrawableValuesAreLeftOut(t *testing.T) {
	input := strings.Join([]string{
		"BenchmarkAppend/store=mem/writers=1-2 10 5 ns/op 100 entries/s",
		"BenchmarkAppend/store=mem/writers=16-2 10 5 ns/op +Inf entries/s",
		"BenchmarkAppend/store=mem/writers=64-2 10 5 ns/op 0 entries/s",
		"BenchmarkAppend/store=mem/writers=256-2 10 5 ns/op 400 entries/s",
		"BenchmarkScale/pebble/size=0-2 10 5 ns/op 100 entries/s 1 p99-ms",
		"BenchmarkScale/pebble/size=1k-2 10 5 ns/op 0 entries/s NaN p99-ms",
	}, "\n") + "\n"
	files := renderFiles(t, input)
	for name, doc := range files {
		require.NotContains(t, string(doc), "NaN", name)
		require.NotContains(t, string(doc), "Inf", name)
	}
	got := pointsOf(t, readSVG(t, files[writersFigureFile]).all(withClass("panel"))[0])["Append/store=mem"]
	require.Equal(t, []float64{1, 256}, []float64{got[0].x, got[1].x})
	require.Len(t, got, 2)
	scale := readSVG(t, files[scaleFigureFile]).all(withClass("panel"))
	require.Len(t, scale, 1, "no p99 panel: its only value is NaN")
	pts := pointsOf(t, scale[0])["Scale/pebble"]
	require.Len(t, pts, 1, "size=0 cannot be on a log axis")
	require.Equal(t, 1000.0, pts[0].x)
	require.Equal(t, 0.0, pts[0].y)
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		name, class string
		size        float64
		ok          bool
	}{
		{"BenchmarkScale/pebble/size=1000000", "BenchmarkScale/pebble", 1e6, true},
		{"BenchmarkScale/pebble/size=10M/writers=256", "BenchmarkScale/pebble/writers=256", 1e7, true},
		{"BenchmarkInclusionProof/store=pebble/size=1k", "BenchmarkInclusionProof/store=pebble", 1e3, true},
		{"BenchmarkScale/pebble/size=2G", "BenchmarkScale/pebble", 2e9, true},
		{"BenchmarkScale/pebble/size=10x", "", 0, false},
		{"BenchmarkScale/pebble", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class, size, ok := parseSize(tt.name)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.class, class)
			require.Equal(t, tt.size, size)
		})
	}
}

func TestFormatCount(t *testing.T) {
	for in, want := range map[float64]string{1: "1", 256: "256", 1000: "1k", 16384: "16.4k", 1e6: "1M", 1e7: "10M", 1.5e9: "1.5G"} {
		require.Equal(t, want, formatCount(in), fmt.Sprint(in))
	}
}

// Names and labels from the input are escaped: a benchmark name cannot
// break the document.
func TestSVGEscapesNames(t *testing.T) {
	input := "BenchmarkAppend/store=<x>&\"'/writers=1-2 10 5 ns/op 100 entries/s\n" +
		"BenchmarkAppend/store=<x>&\"'/writers=2-2 10 5 ns/op 200 entries/s\n"
	root := readSVG(t, renderFiles(t, input)[writersFigureFile])
	require.Contains(t, pointsOf(t, root.all(withClass("panel"))[0]), "Append/store=<x>&\"'")
}

// Extreme values still give a bounded axis with finite ticks.
func TestYScaleAtTheEndsOfFloat64(t *testing.T) {
	for _, v := range []float64{5e-324, 1e-310, 1.7e308, math.MaxFloat64, 0} {
		for _, log := range []bool{false, true} {
			if log && v == 0 {
				continue
			}
			ss := []plotSeries{{Points: []point{{X: 1, Y: v, Lo: v, Hi: v}}}}
			s, ticks := yScale(axis{Log: log}, ss, 300, 0)
			require.NotEmpty(t, ticks)
			require.LessOrEqual(t, len(ticks), 100, "%g log=%v", v, log)
			y := s.px(v)
			require.False(t, math.IsNaN(y) || math.IsInf(y, 0), "%g log=%v: %g", v, log, y)
		}
	}
}

// -note adds a sentence about the run to the caption and the text
// alternative of every figure.
func TestNoteReachesTheCaption(t *testing.T) {
	files := renderFiles(t, readCurves(t), "-note", "Other jobs shared the machine: load average 12")
	for name, doc := range files {
		root := readSVG(t, doc)
		require.Contains(t, root.child("desc").Text, "GOMAXPROCS=2. Other jobs shared the machine: load average 12. Medians", name)
		var captions []string
		for _, c := range root.all(withClass("caption")) {
			captions = append(captions, c.Text)
		}
		require.Equal(t, []string{"Measured on Example CPU, linux/amd64, GOMAXPROCS=2.", "Other jobs shared the machine: load average 12.",
			"Medians over runs; bars span the slowest and fastest run."}, captions, name)
	}
}
