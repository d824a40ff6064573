package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// series holds every measurement of one benchmark across the runs of a
// -count N invocation.
type series struct {
	// Name is the benchmark name without the -GOMAXPROCS suffix.
	Name string
	// Runs is the number of result lines seen.
	Runs int
	// Values maps a unit ("ns/op", "entries/s", ...) to one value per run
	// that reported it.
	Values map[string][]float64
}

// procsSuffix matches the -GOMAXPROCS suffix go test appends to names.
var procsSuffix = regexp.MustCompile(`-(\d+)$`)

// results is everything parse found in one input.
type results struct {
	// Series has one entry per benchmark, in order of first appearance.
	Series []*series
	// Env holds the first value of each "goos:", "goarch:" and "cpu:"
	// header line.
	Env map[string]string
	// Procs is the GOMAXPROCS suffix of the first result line, or "".
	Procs string
}

// envKeys are the header lines parse keeps.
var envKeys = []string{"goos", "goarch", "cpu"}

// parse reads `go test -bench` output and returns one series per benchmark,
// in order of first appearance. Lines that are not benchmark results are
// ignored. A result whose name line was split from its numbers (because the
// benchmark printed something in between) is joined back.
func parse(r io.Reader) (*results, error) {
	var (
		res     = &results{Env: map[string]string{}}
		byName  = map[string]*series{}
		pending string // a "BenchmarkX" line still waiting for its numbers
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if key, value, ok := envLine(line); ok {
			if _, seen := res.Env[key]; !seen {
				res.Env[key] = value
			}
			continue
		}
		if strings.HasPrefix(fields[0], "Benchmark") {
			if len(fields) == 1 {
				pending = fields[0]
				continue
			}
			pending = ""
		} else if pending != "" && isCount(fields[0]) {
			fields = append([]string{pending}, fields...)
			pending = ""
		} else {
			continue
		}
		if len(fields) < 4 || !isCount(fields[1]) {
			continue // e.g. "BenchmarkX --- FAIL" or a log line
		}
		name := procsSuffix.ReplaceAllString(fields[0], "")
		if m := procsSuffix.FindStringSubmatch(fields[0]); m != nil && res.Procs == "" {
			res.Procs = m[1]
		}
		s := byName[name]
		if s == nil {
			s = &series{Name: name, Values: map[string][]float64{}}
			byName[name] = s
			res.Series = append(res.Series, s)
		}
		if err := s.add(fields[2:]); err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// envLine recognises a "key: value" header line of go test output for one
// of envKeys.
func envLine(line string) (key, value string, ok bool) {
	for _, k := range envKeys {
		if v, found := strings.CutPrefix(line, k+":"); found {
			return k, strings.TrimSpace(v), true
		}
	}
	return "", "", false
}

// add records one result line's value/unit pairs.
func (s *series) add(pairs []string) error {
	if len(pairs)%2 != 0 {
		return fmt.Errorf("benchmark %s: odd number of value/unit fields", s.Name)
	}
	seen := make(map[string]bool, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		if seen[pairs[i+1]] {
			return fmt.Errorf("benchmark %s: unit %q reported twice on one line", s.Name, pairs[i+1])
		}
		seen[pairs[i+1]] = true
	}
	for i := 0; i < len(pairs); i += 2 {
		v, err := strconv.ParseFloat(pairs[i], 64)
		if err != nil {
			return fmt.Errorf("benchmark %s: value %q: %w", s.Name, pairs[i], err)
		}
		unit := pairs[i+1]
		s.Values[unit] = append(s.Values[unit], v)
	}
	s.Runs++
	return nil
}

// isCount reports whether f is an iteration count.
func isCount(f string) bool {
	_, err := strconv.ParseUint(f, 10, 64)
	return err == nil
}

// median returns the median of vs (the mean of the two middle values for an
// even count) and whether vs was non-empty.
func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m], true
	}
	return (s[m-1] + s[m]) / 2, true
}

// spread returns (max-min)/median of vs as a fraction, 0 for fewer than two
// values or a zero median.
func spread(vs []float64) float64 {
	med, ok := median(vs)
	if !ok || len(vs) < 2 || med == 0 {
		return 0
	}
	return (slices.Max(vs) - slices.Min(vs)) / med
}
