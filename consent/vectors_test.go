package consent

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// decisionVector is one decision-table case in portable form: canonical
// consent encodings and an access record holding the request and the
// expected decision.
type decisionVector struct {
	Name            string   `json:"name"`
	OptOut          bool     `json:"optOut,omitempty"`
	BreakGlassRoles []string `json:"breakGlassRoles,omitempty"`
	Consents        []string `json:"consents,omitempty"`
	Record          string   `json:"record"`
}

const decisionVectorFile = "testdata/decision-vectors.json"

// TestDecisionVectors checks the decisions in testdata, which are the
// decision table's valid-request cases (regenerate with -update).
func TestDecisionVectors(t *testing.T) {
	if *update {
		var vs []decisionVector
		for _, tc := range decisionCases() {
			if tc.err != nil {
				continue
			}
			ev, err := New(tc.cfg, tc.consents)
			require.NoError(t, err)
			req := baseRequest()
			if tc.req != nil {
				tc.req(&req)
			}
			d, err := ev.Decide(&req)
			require.NoError(t, err)
			v := decisionVector{Name: tc.name, OptOut: tc.cfg.NoConsent == OptOut, BreakGlassRoles: tc.cfg.BreakGlassRoles}
			for i := range tc.consents {
				v.Consents = append(v.Consents, mustEncode(t, &tc.consents[i]))
			}
			rec := AccessRecord{Request: req, Decision: *d}
			b, err := rec.MarshalBinary()
			require.NoError(t, err)
			v.Record = string(b)
			vs = append(vs, v)
		}
		out, err := json.MarshalIndent(vs, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(decisionVectorFile, append(out, '\n'), 0o644))
	}
	b, err := os.ReadFile(decisionVectorFile)
	require.NoError(t, err)
	var vs []decisionVector
	require.NoError(t, json.Unmarshal(b, &vs))
	require.GreaterOrEqual(t, len(vs), 40)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			var cs []Consent
			for _, enc := range v.Consents {
				c, err := UnmarshalConsent([]byte(enc))
				require.NoError(t, err)
				cs = append(cs, *c)
			}
			cfg := Config{BreakGlassRoles: v.BreakGlassRoles}
			if v.OptOut {
				cfg.NoConsent = OptOut
			}
			ev, err := New(cfg, cs)
			require.NoError(t, err)
			rec, err := UnmarshalAccessRecord([]byte(v.Record))
			require.NoError(t, err)
			var d Decision
			require.NoError(t, ev.DecideInto(&rec.Request, &d))
			require.True(t, sameDecision(&rec.Decision, &d), "got %+v", d)
		})
	}
}
