package main

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// writersPart matches the writers=N element of a benchmark name.
var writersPart = regexp.MustCompile(`/writers=(\d+)`)

// throughputUnit returns the first per-second unit a series reports
// ("entries/s", "proofs/s", ...), or "" if none.
func throughputUnit(s *series) string {
	units := make([]string, 0, len(s.Values))
	for u := range s.Values {
		if strings.HasSuffix(u, "/s") && u != "MB/s" {
			units = append(units, u)
		}
	}
	if len(units) == 0 {
		return ""
	}
	// Deterministic choice if a benchmark reports several.
	return slices.Min(units)
}

// baselineClass returns the name of s with its writers=N element removed
// and N, or ok=false if the name has no writers element.
func baselineClass(name string) (class string, writers string, ok bool) {
	m := writersPart.FindStringSubmatchIndex(name)
	if m == nil {
		return "", "", false
	}
	return name[:m[0]] + name[m[1]:], name[m[2]:m[3]], true
}

// baselines collects, for every baseline class, its median throughput by
// writer count.
type baselines struct {
	classes []string                      // in order of appearance
	tput    map[string]map[string]float64 // class -> writers -> median entries/s
}

func findBaselines(all []*series, isBaseline *regexp.Regexp) baselines {
	bl := baselines{tput: map[string]map[string]float64{}}
	for _, s := range all {
		if !isBaseline.MatchString(s.Name) {
			continue
		}
		class, w, ok := baselineClass(s.Name)
		unit := throughputUnit(s)
		if !ok || unit == "" {
			continue
		}
		med, _ := median(s.Values[unit])
		if bl.tput[class] == nil {
			bl.tput[class] = map[string]float64{}
			bl.classes = append(bl.classes, class)
		}
		bl.tput[class][w] = med
	}
	return bl
}

// ratio returns the throughput of s divided by the baseline class's
// throughput at the same writer count, as a table cell.
func (bl baselines) ratio(s *series, class string) string {
	_, w, ok := baselineClass(s.Name)
	unit := throughputUnit(s)
	base, found := bl.tput[class][w]
	if !ok || unit != "entries/s" || !found || base == 0 {
		return ""
	}
	ours, _ := median(s.Values[unit])
	return formatRatio(ours / base)
}

// writeTable writes the markdown table of all series: medians of every run,
// and for each non-baseline append benchmark its throughput as a multiple of
// each baseline class at the same writer count.
func writeTable(w io.Writer, all []*series, isBaseline *regexp.Regexp) error {
	bl := findBaselines(all, isBaseline)
	units := append(slices.Clone(fixedUnits), extraUnits(all)...)
	header := []string{"benchmark", "runs", "throughput (median)", "spread", "p50 ms", "p99 ms", "ns/op", "B/op", "allocs/op"}
	header = append(header, units[len(fixedUnits):]...)
	for _, c := range bl.classes {
		header = append(header, "× "+strings.TrimPrefix(c, "Benchmark"))
	}
	var b strings.Builder
	row(&b, header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
		if i > 0 {
			sep[i] = "---:"
		}
	}
	row(&b, sep)
	for _, s := range all {
		cells := []string{
			"`" + strings.TrimPrefix(s.Name, "Benchmark") + "`",
			strconv.Itoa(s.Runs),
		}
		unit := throughputUnit(s)
		if unit != "" {
			med, _ := median(s.Values[unit])
			cells = append(cells, formatNumber(med)+" "+unit, fmt.Sprintf("±%.0f%%", 50*spread(s.Values[unit])))
		} else {
			cells = append(cells, "", "")
		}
		for _, u := range units {
			cells = append(cells, medianCell(s, u))
		}
		for _, c := range bl.classes {
			if isBaseline.MatchString(s.Name) {
				cells = append(cells, "")
				continue
			}
			cells = append(cells, bl.ratio(s, c))
		}
		row(&b, cells)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fixedUnits are the metrics every table has a column for, in order.
var fixedUnits = []string{"p50-ms", "p99-ms", "ns/op", "B/op", "allocs/op"}

// extraUnits returns, sorted, the units some series reports that have no
// fixed column and are not a throughput (such as "entries/batch").
func extraUnits(all []*series) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range all {
		for u := range s.Values {
			if seen[u] || slices.Contains(fixedUnits, u) || strings.HasSuffix(u, "/s") {
				continue
			}
			seen[u] = true
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

func medianCell(s *series, unit string) string {
	med, ok := median(s.Values[unit])
	if !ok {
		return ""
	}
	return formatNumber(med)
}

func row(b *strings.Builder, cells []string) {
	b.WriteString("| ")
	b.WriteString(strings.Join(cells, " | "))
	b.WriteString(" |\n")
}

// formatNumber prints large values as integers with thousands separators and
// small ones with three significant digits.
func formatNumber(v float64) string {
	if math.Abs(v) >= 100 {
		return groupThousands(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func groupThousands(digits string) string {
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatRatio(r float64) string {
	if r >= 10 {
		return strconv.FormatFloat(r, 'f', 0, 64) + "×"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}

// writeEnv writes one line naming the machine the results came from.
func writeEnv(w io.Writer, res *results) error {
	sentence := envSentence(res)
	if sentence == "" {
		return nil
	}
	_, err := fmt.Fprintf(w, "%s\n\n", sentence)
	return err
}
