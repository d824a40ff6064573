package client_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The client is light: it links none of the writers' machinery, and
// imports only the standard library, x/mod, ledger and merkle. The read
// path's server is held to the same direct imports minus x/mod.
func TestImportsNothingHeavy(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/healthledger/healthledger/ledger/client").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/healthledger/healthledger/merkle", "the listing is real")
	for _, d := range deps {
		for _, heavy := range []string{"tink-crypto", "protobuf", "grpc", "pebble", "trillian"} {
			require.NotContains(t, d, heavy, "package client must not depend on %s", d)
		}
	}
	for pkg, allowed := range map[string][]string{
		"github.com/healthledger/healthledger/ledger/client": {"golang.org/x/mod/", "github.com/healthledger/healthledger/ledger", "github.com/healthledger/healthledger/merkle"},
		// The OpenTelemetry metric API (a few small packages, no SDK) is
		// how the handler reports what it serves.
		"github.com/healthledger/healthledger/ledger/tileserver": {"github.com/healthledger/healthledger/ledger", "github.com/healthledger/healthledger/merkle", "go.opentelemetry.io/otel/"},
	} {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
		for _, imp := range strings.Fields(string(out)) {
			if !strings.Contains(strings.Split(imp, "/")[0], ".") {
				continue // standard library
			}
			ok := false
			for _, a := range allowed {
				ok = ok || imp == a || strings.HasPrefix(imp, a) && strings.HasSuffix(a, "/")
			}
			require.True(t, ok, "%s imports %s", pkg, imp)
		}
	}
}
