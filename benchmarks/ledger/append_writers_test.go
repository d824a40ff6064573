package ledger_test

// appendWriterCounts are the concurrency levels of BenchmarkAppend: those of
// every append benchmark (writerCounts) and two between them, so that
// benchreport's throughput-against-writers figure (-svg-dir,
// append-writers.svg) is a curve, not two points. The Tessera baseline
// runs the same counts (benchmarks/tessera). The sealing, witness and guard
// benchmarks keep writerCounts: their figures are ratios at 1 and 256.
var appendWriterCounts = []int{1, 16, 64, 256}
