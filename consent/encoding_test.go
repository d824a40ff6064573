package consent

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata vectors")

type encodingVector struct {
	Name     string `json:"name"`
	Encoding string `json:"encoding"`
	ID       string `json:"id"`
}

type malformedVector struct {
	Name     string `json:"name"`
	Encoding string `json:"encoding"`
	Error    string `json:"error"`
}

type encodingVectors struct {
	Valid     []encodingVector  `json:"valid"`
	Malformed []malformedVector `json:"malformed"`
}

func vectorConsents() map[string]Consent {
	full := careTeamOnly(Provision{
		Labels:     []Label{LabelPsychiatry, LabelPsychotherapyNote},
		Provisions: []Provision{{Actors: []ActorMatch{{Organization: orgGeneral, Role: "PRCP"}}}},
	})
	full.Grantees = []string{cardioTeam}
	full.PolicyBasis = "http://example.org/policy/hipaa"
	full.Period = Period{Start: t2025, End: t2027}
	full.Provisions = append(full.Provisions, Provision{
		Actions: []Action{ActionDisclose}, Purposes: []Purpose{PurposeResearch},
		DataClasses: []string{"Observation", "Condition"}, Codes: []Coding{{System: "http://loinc.org", Code: "8867-4"}},
		Period: Period{Start: t2026}, DataPeriod: Period{End: t2026},
		Resources: []ResourceRef{{Type: "Observation", ID: "obs-1"}},
	})
	return map[string]Consent{
		"opt-out":       active(Deny),
		"opt-in":        active(Permit),
		"care-team":     careTeamOnly(),
		"every-element": full,
	}
}

const vectorFile = "testdata/encoding-vectors.json"

func TestEncodingVectors(t *testing.T) {
	if *update {
		var v encodingVectors
		for _, name := range []string{"opt-out", "opt-in", "care-team", "every-element"} {
			c := vectorConsents()[name]
			b, err := c.MarshalBinary()
			require.NoError(t, err)
			id, err := c.ID()
			require.NoError(t, err)
			v.Valid = append(v.Valid, encodingVector{Name: name, Encoding: string(b), ID: id.String()})
		}
		old := readVectors(t)
		v.Malformed = old.Malformed
		out, err := json.MarshalIndent(v, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(vectorFile, append(out, '\n'), 0o644))
	}
	v := readVectors(t)
	require.NotEmpty(t, v.Valid)
	require.NotEmpty(t, v.Malformed)
	for _, tc := range v.Valid {
		t.Run(tc.Name, func(t *testing.T) {
			c, err := UnmarshalConsent([]byte(tc.Encoding))
			require.NoError(t, err)
			want := vectorConsents()[tc.Name]
			require.Equal(t, mustEncode(t, &want), tc.Encoding, "the model encodes to the vector")
			id, err := c.ID()
			require.NoError(t, err)
			require.Equal(t, tc.ID, id.String())
			parsed, err := ParseID(tc.ID)
			require.NoError(t, err)
			require.Equal(t, id, parsed)
		})
	}
	for _, tc := range v.Malformed {
		t.Run("malformed/"+tc.Name, func(t *testing.T) {
			_, err := UnmarshalConsent([]byte(tc.Encoding))
			require.Error(t, err)
			require.ErrorIs(t, err, sentinelByName(t, tc.Error))
		})
	}
}

func mustEncode(t *testing.T, c *Consent) string {
	b, err := c.MarshalBinary()
	require.NoError(t, err)
	return string(b)
}

func readVectors(t *testing.T) encodingVectors {
	b, err := os.ReadFile(filepath.FromSlash(vectorFile))
	require.NoError(t, err)
	var v encodingVectors
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

func sentinelByName(t *testing.T, name string) error {
	m := map[string]error{
		"ErrMalformed": ErrMalformed, "ErrUnknownCode": ErrUnknownCode, "ErrInvalidPeriod": ErrInvalidPeriod,
		"ErrContradictoryProvision": ErrContradictoryProvision, "ErrInvalidConsent": ErrInvalidConsent,
		"ErrTooDeep": ErrTooDeep,
	}
	err, ok := m[name]
	require.True(t, ok, "unknown sentinel %q in vectors", name)
	return err
}

func FuzzUnmarshalConsent(f *testing.F) {
	b, err := os.ReadFile(vectorFile)
	if err != nil {
		f.Fatal(err)
	}
	var v encodingVectors
	if err := json.Unmarshal(b, &v); err != nil {
		f.Fatal(err)
	}
	for _, tc := range v.Valid {
		f.Add([]byte(tc.Encoding))
	}
	for _, tc := range v.Malformed {
		f.Add([]byte(tc.Encoding))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := UnmarshalConsent(in)
		if err != nil {
			return
		}
		// Whatever decodes is canonical, valid and compiles.
		out, err := c.MarshalBinary()
		if err != nil || string(out) != string(in) {
			t.Fatalf("decoded consent does not re-encode to its input")
		}
		if _, err := New(Config{}, []Consent{*c}); err != nil {
			t.Fatalf("decoded consent does not compile: %v", err)
		}
	})
}
