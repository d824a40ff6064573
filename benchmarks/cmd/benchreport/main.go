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
// Usage:
//
//	benchreport [-baseline regexp] [file ...]
//
// With no file, it reads standard input.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	re, err := regexp.Compile(*baseline)
	if err != nil {
		return fmt.Errorf("-baseline: %w", err)
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
	if err := writeEnv(stdout, res); err != nil {
		return err
	}
	return writeTable(stdout, res.Series, re)
}
