package identity

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMESnippet checks that the Go snippet in README.md parses and
// only uses names that the identity and ledger packages export.
func TestREADMESnippet(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "```go\n")
	require.True(t, ok, "README.md has a Go snippet")
	snippet, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "snippet.go", "package p\nfunc _() {\n"+snippet+"\n}\n", 0)
	require.NoError(t, err)
	exported := map[string]map[string]bool{"identity": exportedNames(t, "."), "ledger": exportedNames(t, "../ledger")}
	used := 0
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); ok && exported[pkg.Name] != nil {
			require.True(t, exported[pkg.Name][sel.Sel.Name], "%s.%s is not exported", pkg.Name, sel.Sel.Name)
			used++
		}
		return true
	})
	require.Greater(t, used, 10)
}

func exportedNames(t *testing.T, dir string) map[string]bool {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for name, obj := range f.Scope.Objects {
				if ast.IsExported(name) && obj != nil {
					names[name] = true
				}
			}
		}
	}
	return names
}
