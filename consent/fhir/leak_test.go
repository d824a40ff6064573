package fhir

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// canaries hands out unique random strings to plant in FHIR input.
type canaries struct{ n int }

func (c *canaries) next(t *testing.T) string {
	var b [8]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	c.n++
	return fmt.Sprintf("cnry%d%s", c.n, hex.EncodeToString(b[:]))
}

// node is a location in a decoded JSON tree: the keys and indices from
// the root.
type node []any

// walk lists every location in v (the root included), depth first.
func walk(v any, at node, out *[]node) {
	*out = append(*out, append(node(nil), at...))
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			walk(c, append(at, k), out)
		}
	case []any:
		for i, c := range x {
			walk(c, append(at, i), out)
		}
	}
}

// lookup returns a pointer-like setter for the value at n in root, and
// the value there.
func lookup(root any, n node) (get func() any, set func(any)) {
	if len(n) == 0 {
		return func() any { return root }, nil
	}
	parentGet, _ := lookup(root, n[:len(n)-1])
	parent := parentGet()
	switch k := n[len(n)-1].(type) {
	case string:
		m := parent.(map[string]any)
		return func() any { return m[k] }, func(v any) { m[k] = v }
	default:
		a := parent.([]any)
		i := k.(int)
		return func() any { return a[i] }, func(v any) { a[i] = v }
	}
}

func decodeTree(t *testing.T, b []byte) any {
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

type leakVariant struct {
	name     string
	canary   string
	in       []byte
	mustFail bool
}

// leakVariants plants a fresh canary in every member name and every string
// value of base, one place per variant.
func leakVariants(t *testing.T, cn *canaries, base []byte) []leakVariant {
	var out []leakVariant
	var nodes []node
	walk(decodeTree(t, base), nil, &nodes)
	mutate := func(name string, n node, mustFail bool, f func(c string, get func() any, set func(any)) bool) {
		c := cn.next(t)
		root := decodeTree(t, base)
		get, set := lookup(root, n)
		if !f(c, get, set) {
			return
		}
		b, err := json.Marshal(root)
		require.NoError(t, err)
		out = append(out, leakVariant{name: fmt.Sprintf("%s at %v", name, n), canary: c, in: b, mustFail: mustFail})
	}
	for _, n := range nodes {
		// An unknown member, its value the canary as well.
		// Members of skipped informational elements (text, identifier...)
		// are not examined, so only the root must refuse them.
		root := len(n) == 0
		mutate("unknown member", n, root, func(c string, get func() any, _ func(any)) bool {
			m, ok := get().(map[string]any)
			if ok {
				m[c] = c
			}
			return ok
		})
		// An unknown member holding an object.
		mutate("unknown object member", n, root, func(c string, get func() any, _ func(any)) bool {
			m, ok := get().(map[string]any)
			if ok {
				m[c] = map[string]any{c: []any{c}}
			}
			return ok
		})
		// A primitive extension of an unknown element.
		mutate("primitive extension", n, root, func(c string, get func() any, _ func(any)) bool {
			m, ok := get().(map[string]any)
			if ok {
				m["_"+c] = map[string]any{"id": c}
			}
			return ok
		})
		// A member renamed to the canary.
		if len(n) > 0 {
			if k, ok := n[len(n)-1].(string); ok && k != "resourceType" {
				mutate("renamed member", n[:len(n)-1], len(n) == 1, func(c string, get func() any, _ func(any)) bool {
					m := get().(map[string]any)
					m[c] = m[k]
					delete(m, k)
					return true
				})
			}
		}
		// Every string value replaced by the canary, alone and inside
		// plausible shapes (a reference, a URI, a date, a code).
		for _, shape := range []string{"%s", "Patient/%s", "did:%s", "http://%s", "2026-05-01T%s", "Observation/%s/x"} {
			mutate("string value "+shape, n, false, func(c string, get func() any, set func(any)) bool {
				_, ok := get().(string)
				if ok && set != nil {
					set(fmt.Sprintf(shape, c))
				}
				return ok && set != nil
			})
		}
	}
	return out
}

// rawLeakVariants are inputs the tree mutations cannot express: duplicate
// members, broken JSON, wrong types.
func rawLeakVariants(t *testing.T, cn *canaries) []leakVariant {
	tmpl := []string{
		`{"resourceType":"Consent","status":"active","%[1]s":1,"%[1]s":2}`,
		`{"resourceType":"Consent","status":"active","decision":"permit","subject":{"reference":"did:hl:p-1"},"provision":[{"%[1]s":1,"%[1]s":2}]}`,
		`{"resourceType":"Consent","status":"%[1]s`,
		`{"resourceType":"Consent","%[1]s"`,
		`{"resourceType":"%[1]s"}`,
		`{"resourceType":"Consent","status":["%[1]s"]}`,
		`{"resourceType":"Consent","status":"active","subject":{"reference":"did:hl:p-1"},"decision":{"%[1]s":"%[1]s"}}`,
		`{"resourceType":"Consent","status":"active","subject":{"reference":"did:hl:p-1"},"decision":"permit","period":{"start":"%[1]s"}}`,
		`{"resourceType":"Consent","status":"active","subject":{"reference":"did:hl:p-1"},"decision":"permit","provision":[{"purpose":[{"code":"%[1]s"}]}]}`,
		`{"resourceType":"Consent","status":"active","subject":{"reference":"did:hl:p-1"},"decision":"permit","provision":[{"actor":[{"role":{"coding":[{"code":"X","%[1]s":true}]}}]}]}`,
		`{"resourceType":"Consent","status":"active","subject":{"reference":"did:hl:p-1"},"decision":"permit","provision":[{"data":[{"meaning":"%[1]s","reference":{"reference":"Observation/1"}}]}]}`,
		`{"resourceType":"Consent","status":"active","subject":{"reference":"did:hl:p-1"},"decision":"permit","provision":[{"resourceType":[{"system":"%[1]s","code":"Observation"}]}]}`,
		`{"resourceType":"Consent","status":"active","patient":{"reference":"did:hl:p-1"},"scope":{"coding":[{"code":"%[1]s"}]},"provision":{"type":"permit"}}`,
		`{"resourceType":"Consent","status":"active","patient":{"reference":"did:hl:p-1"},"provision":{"type":"%[1]s"}}`,
		`{"resourceType":"Consent","status":"active","patient":{"reference":"did:hl:p-1"},"provision":{"type":"deny","provision":[{"type":"permit","%[1]s":{}}]}}`,
	}
	out := make([]leakVariant, 0, len(tmpl))
	for i, s := range tmpl {
		c := cn.next(t)
		out = append(out, leakVariant{name: fmt.Sprintf("raw %d", i), canary: c, in: []byte(fmt.Sprintf(s, c)), mustFail: true})
	}
	return out
}

// TestErrorsNeverEchoInput plants unique canary strings in member names
// and values all over valid resources and checks that no import error,
// however formatted, contains one. Unknown members must still be refused.
func TestErrorsNeverEchoInput(t *testing.T) {
	files, err := filepath.Glob("testdata/r[45]/*.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 10)
	cn := &canaries{}
	variants := rawLeakVariants(t, cn)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, v := range leakVariants(t, cn, b) {
			v.name = filepath.Base(f) + ": " + v.name
			variants = append(variants, v)
		}
	}
	failed := 0
	for _, v := range variants {
		for _, version := range []Version{Auto, R4, R5} {
			opts := testOptions()
			opts.Version = version
			_, err := Import(v.in, opts)
			if err == nil {
				require.False(t, v.mustFail && version == Auto, "%s: an unknown member must be refused", v.name)
				continue
			}
			failed++
			hexPart := v.canary[len(v.canary)-16:]
			for _, msg := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%s", err)} {
				require.NotContains(t, msg, v.canary, "%s: the error echoes the input", v.name)
				require.NotContains(t, msg, hexPart, "%s: the error echoes part of the input", v.name)
			}
		}
	}
	require.Greater(t, failed, 1000, "the variants must exercise many error paths")
}
