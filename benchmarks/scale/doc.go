// Package scale holds the scale benchmark: one Pebble log grown to millions
// of entries, measured at every decade of its size (append throughput and
// p99 latency, RSS and Go heap, disk bytes per entry, Open time, proof and
// dedup-lookup time). It runs only when asked, since a 10M-entry growth
// takes minutes and gigabytes: see benchmarks/README.md, "Scale", and
// `make bench-scale`.
package scale
