package monitor_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The monitor is light: it links none of the writers' machinery.
func TestMonitorImportsNothingHeavy(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/healthledger/healthledger/ledger/monitor").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/healthledger/healthledger/ledger/client", "the listing is real")
	for _, d := range deps {
		for _, heavy := range []string{"tink-crypto", "protobuf", "grpc", "pebble", "trillian"} {
			require.NotContains(t, d, heavy, "package monitor must not depend on %s", d)
		}
	}
}
