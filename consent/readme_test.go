package consent

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMESnippetCompiles checks that the Go snippet in README.md is,
// line by line, the start of ExampleEvaluator_Decide, which compiles and
// whose output is checked.
func TestREADMESnippetCompiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	example, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "```go\n")
	require.True(t, ok, "README has a Go snippet")
	snippet, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	_, body, ok := strings.Cut(string(example), "func ExampleEvaluator_Decide() {\n")
	require.True(t, ok)
	exLines := strings.Split(body, "\n")
	snipLines := strings.Split(strings.TrimSpace(snippet), "\n")
	require.NotEmpty(t, snipLines)
	for i, l := range snipLines {
		require.Equal(t, strings.TrimSpace(exLines[i]), strings.TrimSpace(l), "README line %d", i+1)
	}
}
