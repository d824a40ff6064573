package privacy_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Imports only go downwards: privacy builds on ledger (and Tink), never on
// the packages above it that will use it (consent, identity, records).
func TestPrivacyImportsOnlyBelowIt(t *testing.T) {
	const mod = "github.com/healthledger/healthledger/"
	for _, pkg := range []string{"privacy", "privacy/filekeystore", "privacy/keystoretest"} {
		out, err := exec.Command("go", "list", "-deps", mod+pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, mod+"ledger", "the listing is real")
		for _, d := range deps {
			if !strings.HasPrefix(d, mod) {
				continue
			}
			rest := strings.TrimPrefix(d, mod)
			ok := rest == "ledger" || rest == "merkle" || rest == "privacy" || strings.HasPrefix(rest, "privacy/")
			require.True(t, ok, "%s must not import %s", pkg, d)
		}
	}
}
