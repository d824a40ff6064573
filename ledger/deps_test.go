package ledger_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Verifying is light: package ledger, which every verifier, client and
// auditor imports, links none of the writers' heavy machinery.
func TestLedgerImportsNothingHeavy(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/healthledger/healthledger/ledger").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "golang.org/x/mod/sumdb/note", "the listing is real")
	for _, d := range deps {
		for _, heavy := range []string{"tink-crypto", "protobuf", "grpc", "pebble", "trillian"} {
			require.NotContains(t, d, heavy, "package ledger must not depend on %s", d)
		}
	}
}
