package identity

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type documentVectors struct {
	Valid   []json.RawMessage `json:"valid"`
	Invalid []struct {
		Name     string          `json:"name"`
		Document json.RawMessage `json:"document"`
		Err      string          `json:"err"`
	} `json:"invalid"`
}

func loadDocumentVectors(t testing.TB) documentVectors {
	b, err := os.ReadFile("testdata/documents.json")
	require.NoError(t, err)
	var v documentVectors
	require.NoError(t, json.Unmarshal(b, &v))
	require.NotEmpty(t, v.Valid)
	require.NotEmpty(t, v.Invalid)
	return v
}

func TestParseDocumentVectors(t *testing.T) {
	v := loadDocumentVectors(t)
	for i, d := range v.Valid {
		t.Run("valid", func(t *testing.T) {
			doc, err := ParseDocument(d)
			require.NoError(t, err, "valid document %d", i)
			keys, err := doc.Keys(AssertionMethod)
			require.NoError(t, err)
			require.NotEmpty(t, keys)
		})
	}
	for _, tc := range v.Invalid {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := ParseDocument(tc.Document)
			require.ErrorIs(t, err, sentinels[tc.Err])
		})
	}
}

func TestDocumentShape(t *testing.T) {
	f := newFixture(t)
	d := NewDocument(f.did, &f.genesis.State)
	j, err := d.JSON()
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(j, &m))
	for _, k := range []string{"@context", "id", "verificationMethod", "authentication", "assertionMethod", "capabilityInvocation", "service", "alsoKnownAs"} {
		require.Contains(t, m, k)
	}
	vm := m["verificationMethod"].([]any)[0].(map[string]any)
	require.Equal(t, "Multikey", vm["type"])
	require.Equal(t, f.did, vm["controller"])
	require.True(t, strings.HasPrefix(vm["publicKeyMultibase"].(string), "zDn"))
	_, err = d.Key(f.did+"#key-1", CapabilityInvocation)
	require.ErrorIs(t, err, ErrWrongRelationship)
	k, err := d.Key(f.did+"#key-1", Authentication)
	require.NoError(t, err)
	require.True(t, k.Equal(f.device.Public()))
}

func FuzzParseDocument(f *testing.F) {
	v := loadDocumentVectors(f)
	for _, d := range v.Valid {
		f.Add([]byte(d))
	}
	for _, d := range v.Invalid {
		f.Add([]byte(d.Document))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDocument(data)
		if err != nil {
			return
		}
		j, err := d.JSON()
		if err != nil {
			t.Fatalf("parsed document does not encode: %v", err)
		}
		if _, err := ParseDocument(j); err != nil {
			t.Fatalf("re-encoded document does not parse: %v", err)
		}
	})
}
