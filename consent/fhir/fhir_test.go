package fhir

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthledger/healthledger/consent"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden canonical encodings")

func testOptions() Options {
	return Options{Resolve: func(ref string) (string, bool) {
		did, ok := map[string]string{
			"Patient/example":   "did:hl:patient-1",
			"Organization/univ": "did:hl:org-univ",
		}[ref]
		return did, ok
	}}
}

func TestImportExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/r[45]/*.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 10, "the examples must be loaded")
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			in, err := os.ReadFile(f)
			require.NoError(t, err)
			opts := testOptions()
			c, err := Import(in, opts)
			require.NoError(t, err)
			enc, err := c.MarshalBinary()
			require.NoError(t, err)
			golden := strings.TrimSuffix(f, ".json") + ".consent"
			if *update {
				require.NoError(t, os.WriteFile(golden, enc, 0o644))
			}
			g, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(g), string(enc))

			// Forcing the right version gives the same result.
			opts.Version = R5
			if strings.Contains(f, "r4") {
				opts.Version = R4
			}
			c2, err := Import(in, opts)
			require.NoError(t, err)
			require.Equal(t, c, c2)
		})
	}
}

func TestR4AndR5Agree(t *testing.T) {
	for _, name := range []string{"deny-organization", "break-glass-only", "research-period"} {
		t.Run(name, func(t *testing.T) {
			r4, err := os.ReadFile("testdata/r4/" + name + ".consent")
			require.NoError(t, err)
			r5, err := os.ReadFile("testdata/r5/" + name + ".consent")
			require.NoError(t, err)
			require.Equal(t, string(r4), string(r5))
		})
	}
}

// TestImportedDecisions checks what the imported examples decide.
func TestImportedDecisions(t *testing.T) {
	load := func(t *testing.T, f string) consent.Consent {
		in, err := os.ReadFile(f)
		require.NoError(t, err)
		c, err := Import(in, testOptions())
		require.NoError(t, err)
		return *c
	}
	base := consent.Request{
		Patient:  "did:hl:patient-1",
		Actor:    consent.Actor{DID: "did:hl:dr-a", Organization: "did:hl:org-psych"},
		Action:   consent.ActionAccess,
		Purpose:  consent.PurposeTreat,
		Resource: consent.Resource{Type: "Observation", ID: "1", Date: mustTime(t, "2024-03-01T00:00:00Z")},
		Time:     mustTime(t, "2026-06-01T00:00:00Z"),
	}
	cases := []struct {
		file    string
		mod     func(*consent.Request)
		allowed bool
	}{
		{"testdata/r5/deny-organization.json", nil, false},
		{"testdata/r5/deny-organization.json", func(r *consent.Request) { r.Action = consent.ActionDisclose }, true},
		{"testdata/r4/opt-in.json", nil, true},
		{"testdata/r4/opt-in.json", func(r *consent.Request) { r.Time = mustTime(t, "2027-01-01T00:00:00Z") }, false},
		{"testdata/r4/opt-in.json", func(r *consent.Request) { r.Time = mustTime(t, "2026-12-31T23:59:59Z") }, true},
		{"testdata/r5/opt-out.json", nil, false},
		{"testdata/r5/research-period.json", func(r *consent.Request) {
			r.Actor.Organization, r.Purpose = "did:hl:org-univ", consent.PurposeResearch
		}, true},
		{"testdata/r5/research-period.json", func(r *consent.Request) {
			r.Actor.Organization, r.Purpose = "did:hl:org-univ", consent.PurposeResearch
			r.Resource.Labels = []consent.Label{consent.LabelHIV}
		}, false},
		{"testdata/r5/research-period.json", func(r *consent.Request) {
			r.Actor.Organization, r.Purpose = "did:hl:org-univ", consent.PurposeResearch
			r.Resource.Date = mustTime(t, "2019-01-01T00:00:00Z")
		}, false},
		{"testdata/r5/break-glass-only.json", func(r *consent.Request) {
			r.Actor.Roles, r.Purpose = []string{"ER-PHYSICIAN"}, consent.PurposeBreakTheGlass
		}, true},
	}
	for i, tc := range cases {
		t.Run(filepath.Base(tc.file)+"/"+string(rune('a'+i)), func(t *testing.T) {
			ev, err := consent.New(consent.Config{BreakGlassRoles: []string{"ER-PHYSICIAN"}}, []consent.Consent{load(t, tc.file)})
			require.NoError(t, err)
			r := base
			if tc.mod != nil {
				tc.mod(&r)
			}
			d, err := ev.Decide(&r)
			require.NoError(t, err)
			require.Equal(t, tc.allowed, d.Allowed)
		})
	}
}

type invalidCase struct {
	Name     string          `json:"name"`
	Element  string          `json:"element"`
	Error    string          `json:"error"`
	Resource json.RawMessage `json:"resource"`
}

func TestImportErrors(t *testing.T) {
	b, err := os.ReadFile("testdata/invalid/cases.json")
	require.NoError(t, err)
	var cases []invalidCase
	require.NoError(t, json.Unmarshal(b, &cases))
	require.GreaterOrEqual(t, len(cases), 30)
	sentinels := map[string]error{
		"ErrUnsupportedElement": consent.ErrUnsupportedElement, "ErrUnknownCode": consent.ErrUnknownCode,
		"ErrInvalidPeriod": consent.ErrInvalidPeriod, "ErrContradictoryProvision": consent.ErrContradictoryProvision,
		"ErrUnresolvedReference": ErrUnresolvedReference, "ErrMalformed": consent.ErrMalformed,
		"ErrInvalidConsent": consent.ErrInvalidConsent, "ErrMissingDecision": ErrMissingDecision,
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := Import(tc.Resource, Options{})
			require.Error(t, err)
			want, ok := sentinels[tc.Error]
			require.True(t, ok, "unknown sentinel %s", tc.Error)
			require.ErrorIs(t, err, want)
			var ue *consent.UnsupportedElementError
			var ve *consent.ValidationError
			switch {
			case errors.As(err, &ue):
				require.Equal(t, tc.Element, ue.Element)
			case errors.As(err, &ve):
				require.Equal(t, tc.Element, ve.Path)
			default:
				t.Fatalf("untyped error %v", err)
			}
			require.Contains(t, err.Error(), tc.Element, "the message names the element")
		})
	}
}

func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("testdata/r[45]/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	b, err := os.ReadFile("testdata/invalid/cases.json")
	if err != nil {
		f.Fatal(err)
	}
	var cases []invalidCase
	if err := json.Unmarshal(b, &cases); err != nil {
		f.Fatal(err)
	}
	for _, tc := range cases {
		f.Add([]byte(tc.Resource))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Import(in, testOptions())
		if err != nil {
			var ue *consent.UnsupportedElementError
			var ve *consent.ValidationError
			if !errors.As(err, &ue) && !errors.As(err, &ve) {
				t.Fatalf("untyped import error: %v", err)
			}
			return
		}
		// Anything imported is valid, encodes canonically and compiles.
		enc, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("imported consent does not encode: %v", err)
		}
		back, err := consent.UnmarshalConsent(enc)
		if err != nil {
			t.Fatalf("canonical encoding does not decode: %v", err)
		}
		if _, err := consent.New(consent.Config{}, []consent.Consent{*back}); err != nil {
			t.Fatalf("imported consent does not compile: %v", err)
		}
	})
}
