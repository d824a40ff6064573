package records

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type canonicalVectors struct {
	Files []struct {
		File   string `json:"file"`
		Digest string `json:"digest"`
	} `json:"files"`
	Inline []struct {
		In  string `json:"in"`
		Out string `json:"out"`
	} `json:"inline"`
	Invalid []string `json:"invalid"`
}

func loadCanonicalVectors(t testing.TB) canonicalVectors {
	b, err := os.ReadFile(filepath.Join("testdata", "canonical-vectors.json"))
	require.NoError(t, err)
	var v canonicalVectors
	require.NoError(t, json.Unmarshal(b, &v))
	require.NotEmpty(t, v.Files)
	require.NotEmpty(t, v.Inline)
	require.NotEmpty(t, v.Invalid)
	return v
}

func TestCanonicalVectors(t *testing.T) {
	v := loadCanonicalVectors(t)
	for _, f := range v.Files {
		t.Run(f.File, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", f.File))
			require.NoError(t, err)
			d, err := CanonicalDigest(b)
			require.NoError(t, err)
			require.Equal(t, f.Digest, hex.EncodeToString(d[:]))
		})
	}
	for i, c := range v.Inline {
		got, err := Canonicalize([]byte(c.In))
		require.NoError(t, err, "inline %d", i)
		require.Equal(t, c.Out, string(got), "inline %d", i)
	}
	for i, in := range v.Invalid {
		_, err := Canonicalize([]byte(in))
		require.ErrorIs(t, err, ErrNotCanonicalizable, "invalid %d", i)
		var ce *CanonicalError
		require.ErrorAs(t, err, &ce)
	}
}

// TestCanonicalPairs states the rules the vectors encode, so that a break
// of one rule names itself.
func TestCanonicalPairs(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		return b
	}
	digest := func(b []byte) [32]byte {
		d, err := CanonicalDigest(b)
		require.NoError(t, err)
		return d
	}
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"member order, whitespace, escapes and meta.lastUpdated do not count", "observation-glucose.json", "observation-glucose-reordered.json", true},
		{"whitespace, text and meta.lastUpdated do not count", "patient-example.json", "patient-example-whitespace.json", true},
		{"6.1 and 6.10 are different decimals", "hba1c-6.1.json", "hba1c-6.10.json", false},
		{"6.3 and 6.30 are different decimals", "observation-glucose.json", "observation-glucose-6.30.json", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.same, digest(read(tc.a)) == digest(read(tc.b)))
		})
	}
	t.Run("digest is SHA-256 of the canonical bytes", func(t *testing.T) {
		b := read("hba1c-6.10.json")
		c, err := Canonicalize(b)
		require.NoError(t, err)
		require.Equal(t, sha256.Sum256(c), digest(b))
		require.Contains(t, string(c), `"value":6.10}`)
	})
	t.Run("a changed string value counts", func(t *testing.T) {
		b := read("patient-example.json")
		require.NotEqual(t, digest(b), digest([]byte(strings.Replace(string(b), `"family": "Chalmers"`, `"family": "Chalmerz"`, 1))))
	})
	t.Run("meta.versionId does not count, other meta does", func(t *testing.T) {
		a := `{"resourceType":"Basic","id":"1","meta":{"versionId":"1","tag":[{"code":"a"}]}}`
		b := `{"resourceType":"Basic","id":"1","meta":{"versionId":"2","tag":[{"code":"a"}]}}`
		c := `{"resourceType":"Basic","id":"1","meta":{"versionId":"2","tag":[{"code":"b"}]}}`
		require.Equal(t, digest([]byte(a)), digest([]byte(b)))
		require.NotEqual(t, digest([]byte(b)), digest([]byte(c)))
	})
	t.Run("text is excluded only at the top level", func(t *testing.T) {
		a := `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Basic","text":{"status":"a"}}}]}`
		b := `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Basic","text":{"status":"b"}}}]}`
		require.NotEqual(t, digest([]byte(a)), digest([]byte(b)))
	})
}

func FuzzCanonicalize(f *testing.F) {
	v := loadCanonicalVectors(f)
	for _, c := range v.Inline {
		f.Add([]byte(c.In))
	}
	for _, s := range v.Invalid {
		f.Add([]byte(s))
	}
	for _, file := range v.Files {
		b, err := os.ReadFile(filepath.Join("testdata", file.File))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Canonicalize(in)
		if err != nil {
			require.ErrorIs(t, err, ErrNotCanonicalizable)
			return
		}
		// The canonical form is valid JSON, a fixed point, and equal as
		// JSON to the input once the excluded members are gone.
		require.True(t, json.Valid(c), "%q", c)
		again, err := Canonicalize(c)
		require.NoError(t, err)
		require.Equal(t, string(c), string(again))
		// Numbers stay literals (json.Number): a float64 would refuse
		// 1E1000, which is valid JSON and canonicalizes as received.
		var x, y any
		require.NoError(t, decodeNumbers(c, &y))
		require.NoError(t, decodeNumbers(in, &x))
		if m, ok := x.(map[string]any); ok {
			delete(m, "text")
			if meta, ok := m["meta"].(map[string]any); ok {
				delete(meta, "versionId")
				delete(meta, "lastUpdated")
				if len(meta) == 0 {
					delete(m, "meta")
				}
			}
		}
		xb, err := json.Marshal(x)
		require.NoError(t, err)
		yb, err := json.Marshal(y)
		require.NoError(t, err)
		require.Equal(t, string(xb), string(yb), "json.Marshal sorts members and keeps number literals")
	})
}

func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
