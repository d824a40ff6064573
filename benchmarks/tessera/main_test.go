package tessera_test

import (
	"io"
	"os"
	"testing"

	"k8s.io/klog/v2"
)

// TestMain silences Tessera's klog output, which would otherwise interleave
// with the benchmark result lines that cmd/benchreport parses. Failures
// still surface as errors returned by Tessera's API.
func TestMain(m *testing.M) {
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	os.Exit(m.Run())
}
