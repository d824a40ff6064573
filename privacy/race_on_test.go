//go:build race

package privacy

// raceEnabled reports whether the race detector is on: it adds allocations
// of its own (and sync.Pool drops items at random), so allocation counts
// are checked without it.
const raceEnabled = true
