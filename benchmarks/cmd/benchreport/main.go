// Command benchreport turns the output of
//
//	go test -run '^$' -bench . -benchmem -count 5 ./...
//
// into the markdown table of benchmarks/README.md: for every benchmark the
// median over the runs of its throughput (the first "…/s" metric it
// reports, such as entries/s or proofs/s), the spread of that throughput
// ((max-min)/2 as a percentage of the median), the median p50 and p99
// latency, ns/op, B/op and allocs/op, and, for every append benchmark, its
// median entries/s divided by the median entries/s of each baseline (by
// default the Tessera benchmarks) at the same writers=N in the same run.
//
// With -svg-dir, it also draws the figures of benchmarks/README.md as SVG
// files in that directory (standard library only, accessible: a text
// alternative with every value, axis labels with units, series told apart
// by marker and dash pattern as well as colour):
//
//   - append-writers.svg: entries/s against concurrent writers (log scale)
//     for the append benchmarks selected by -writers-plot (by default the
//     ledger on each store and Tessera), median of the runs with a bar from
//     the slowest to the fastest run;
//   - scale.svg: entries/s and p99 latency against log size for the
//     sub-benchmarks named BenchmarkScale/<store>/size=N (N may end in k, M
//     or G) that report entries/s and p99-ms.
//
// A figure is written only if the input has data for it; with -svg-dir and
// no data for either it fails and writes nothing.
//
// Usage:
//
//	benchreport [-baseline regexp] [-svg-dir dir] [-writers-plot regexp] [-note text] [file ...]
//
// With no file, it reads standard input.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// run is main without the process exit, for tests.
func run(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	baseline := fs.String("baseline", "Tessera", "regexp matching the benchmarks others are compared with")
	svgDir := fs.String("svg-dir", "", "also write the figures as SVG files into this existing directory")
	writersPlot := fs.String("writers-plot", defaultWritersPlot, "regexp selecting, by name without writers=N, the benchmarks drawn against writers")
	note := fs.String("note", "", "a sentence about the run (for example the machine's load) for the figures' captions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	re, err := regexp.Compile(*baseline)
	if err != nil {
		return fmt.Errorf("-baseline: %w", err)
	}
	writersSel, err := regexp.Compile(*writersPlot)
	if err != nil {
		return fmt.Errorf("-writers-plot: %w", err)
	}
	if *svgDir != "" {
		if fi, err := os.Stat(*svgDir); err != nil || !fi.IsDir() {
			return fmt.Errorf("-svg-dir %q is not an existing directory", *svgDir)
		}
	}
	var inputs []io.Reader
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		inputs = append(inputs, f)
	}
	if len(inputs) == 0 {
		inputs = append(inputs, stdin)
	}
	res, err := parse(io.MultiReader(inputs...))
	if err != nil {
		return err
	}
	if len(res.Series) == 0 {
		return errors.New("no benchmark results in the input")
	}
	var svgs map[string][]byte
	if *svgDir != "" {
		// Everything is rendered before anything is written.
		if svgs, err = renderFigures(res, writersSel, *note); err != nil {
			return err
		}
	}
	if err := writeEnv(stdout, res); err != nil {
		return err
	}
	if err := writeTable(stdout, res.Series, re); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(svgs)) {
		if err := os.WriteFile(filepath.Join(*svgDir, name), svgs[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// renderFigures returns the SVG document of every figure res has data for,
// by file name.
func renderFigures(res *results, writersSel *regexp.Regexp, note string) (map[string][]byte, error) {
	figs, err := figures(res, writersSel, note)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(figs))
	for _, f := range figs {
		var b bytes.Buffer
		if err := renderSVG(&b, f); err != nil {
			return nil, err
		}
		out[f.File] = b.Bytes()
	}
	return out, nil
}
