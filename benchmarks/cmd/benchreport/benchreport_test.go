package main

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.md golden files")

// TestGolden renders every testdata/*.txt benchmark output and compares it
// with the .md file of the same name.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs, "no test vectors in testdata/")
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run([]string{in}, nil, &out))
			golden := strings.TrimSuffix(in, ".txt") + ".md"
			if *update {
				require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), out.String())
		})
	}
}

func TestParse(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "sample.txt"))
	require.NoError(t, err)
	defer f.Close()
	res, err := parse(f)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"goos": "linux", "goarch": "amd64", "cpu": "Example CPU"}, res.Env)
	require.Equal(t, "2", res.Procs)
	all := res.Series
	byName := map[string]*series{}
	for _, s := range all {
		byName[s.Name] = s
	}
	tests := []struct {
		name   string
		runs   int
		unit   string
		values []float64
	}{
		{"BenchmarkAppend/store=pebble/writers=1", 3, "entries/s", []float64{833.3, 909.1, 769.2}},
		{"BenchmarkAppend/store=pebble/writers=256", 3, "p50-ms", []float64{2, 2.5, 2.2}},
		{"BenchmarkAppend/store=pebble/writers=256", 3, "entries/batch", []float64{140.5}},
		{"BenchmarkInclusionProof/store=pebble/size=1M", 2, "proofs/s", []float64{250000, 200000}},
		{"BenchmarkVerifyInclusion", 1, "allocs/op", []float64{0}},
		{"BenchmarkTesseraAppend/posix/durable/writers=1", 3, "MB/s", []float64{0.07, 0.07, 0.07}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := byName[tt.name]
			require.NotNil(t, s)
			require.Equal(t, tt.runs, s.Runs)
			require.Equal(t, tt.values, s.Values[tt.unit])
		})
	}
	require.NotContains(t, byName, "BenchmarkBroken", "a failed benchmark has no results")
	require.Len(t, all, 7)
}

func TestParseRejectsMalformedValues(t *testing.T) {
	tests := []struct{ name, input string }{
		{"bad number", "BenchmarkX-2 10 abc ns/op\n"},
		{"odd pairs", "BenchmarkX-2 10 5 ns/op 7\n"},
		{"unit twice", "BenchmarkX-2 10 5 ns/op 6 ns/op\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(strings.NewReader(tt.input))
			require.Error(t, err)
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
		ok   bool
	}{
		{"empty", nil, 0, false},
		{"one", []float64{3}, 3, true},
		{"odd unsorted", []float64{5, 1, 3}, 3, true},
		{"even is mean of middles", []float64{4, 1, 3, 2}, 2.5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := median(tt.in)
			require.Equal(t, tt.ok, ok)
			require.InDelta(t, tt.want, got, 1e-9)
		})
	}
}

func TestBaselineClass(t *testing.T) {
	tests := []struct {
		name, class, writers string
		ok                   bool
	}{
		{"BenchmarkTesseraAppend/posix/durable/writers=256", "BenchmarkTesseraAppend/posix/durable", "256", true},
		{"BenchmarkAppend/store=mem/writers=1/extra", "BenchmarkAppend/store=mem/extra", "1", true},
		{"BenchmarkVerifyInclusion", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class, w, ok := baselineClass(tt.name)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.class, class)
			require.Equal(t, tt.writers, w)
		})
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{0.0123, "0.0123"},
		{2.5, "2.5"},
		{99.94, "99.9"},
		{100, "100"},
		{1234567.4, "1,234,567"},
		{-4321, "-4,321"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, formatNumber(tt.in))
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		input string
	}{
		{"no results", nil, "PASS\n"},
		{"bad baseline", []string{"-baseline", "("}, ""},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope.txt")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.Error(t, run(tt.args, strings.NewReader(tt.input), &out))
		})
	}
}

// FuzzParse checks that any input either fails cleanly or yields series
// whose every unit has at most one value per run, and renders: the table,
// and the figures as well-formed SVG without NaN coordinates.
func FuzzParse(f *testing.F) {
	sample, err := os.ReadFile(filepath.Join("testdata", "sample.txt"))
	require.NoError(f, err)
	f.Add(string(sample))
	curves, err := os.ReadFile(filepath.Join("testdata", "curves.txt"))
	require.NoError(f, err)
	f.Add(string(curves))
	f.Add("BenchmarkScale/a/size=1-2 1 1 ns/op 1e308 entries/s 1e-308 p99-ms\nBenchmarkScale/a/size=9G-2 1 1 ns/op 0 entries/s 0 p99-ms\n")
	f.Add("BenchmarkAppend/store=x/writers=99999999999999999999-2 1 1 ns/op 5e-324 entries/s\n")
	f.Add("BenchmarkX\nlog\n10 5 ns/op\n")
	f.Add("BenchmarkX-2 1 NaN ns/op\n")
	f.Fuzz(func(t *testing.T, input string) {
		res, err := parse(strings.NewReader(input))
		if err != nil {
			return
		}
		for _, s := range res.Series {
			for _, vs := range s.Values {
				require.LessOrEqual(t, len(vs), s.Runs)
			}
		}
		var out bytes.Buffer
		require.NoError(t, writeTable(&out, res.Series, regexp.MustCompile("Tessera")))
		figs, err := figures(res, regexp.MustCompile(defaultWritersPlot), "")
		if err != nil {
			return
		}
		for _, fig := range figs {
			var doc bytes.Buffer
			require.NoError(t, renderSVG(&doc, fig))
			require.NotContains(t, doc.String(), "NaN", "every drawn coordinate is a number")
			var root node
			require.NoError(t, xml.Unmarshal(doc.Bytes(), &root), "the figure is well-formed XML")
		}
	})
}
