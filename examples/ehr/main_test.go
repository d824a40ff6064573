package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/healthledger/healthledger/records"
	"github.com/stretchr/testify/require"
)

func TestClinicDay(t *testing.T) {
	var out, page, js bytes.Buffer
	require.NoError(t, run(context.Background(), &out, &page, &js))
	t.Log("\n" + out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, "consent: treatment by the diabetes care team", lines[0])
	require.Contains(t, lines[1], "anchored Observation/hba1c-3 version 1")
	require.True(t, strings.HasPrefix(lines[2], "clinician  TREAT  read -> PERMIT"), lines[2])
	require.True(t, strings.HasPrefix(lines[3], "researcher HRESCH read -> DENY"), lines[3])
	require.True(t, strings.HasPrefix(lines[4], "ER doctor  BTG    read -> PERMIT (break-glass"), lines[4])
	require.Equal(t, "verifier: the lab result is exactly the anchored version", lines[5])
	require.Equal(t, "report: 7 events", lines[6])
	require.Equal(t, "verifier: every event's proof verified with public keys only", lines[len(lines)-1])
	require.NotContains(t, out.String(), "FAILED")
	require.Equal(t, 7, strings.Count(page.String(), "<tr id=\"entry-"))
	rep, err := records.ParseReport(js.Bytes())
	require.NoError(t, err)
	require.Len(t, rep.Events, 7)
}

// TestVerifierRefusesATamperedLabResult changes the decimal 6.10 to 6.1:
// the same number to a float, another result to FHIR.
func TestVerifierRefusesATamperedLabResult(t *testing.T) {
	c, err := openClinic(context.Background())
	require.NoError(t, err)
	defer c.log.Close()
	a, err := c.records.Anchor(context.Background(), c.patient.DID(), []byte(labResult))
	require.NoError(t, err)
	aj, err := a.MarshalJSON()
	require.NoError(t, err)
	rep, err := c.records.Report(context.Background(), c.patient.DID())
	require.NoError(t, err)
	rj, err := rep.MarshalJSON()
	require.NoError(t, err)
	keys := map[string]string{}
	for did, k := range c.pubkeys {
		keys[did] = k.Multibase()
	}
	var out bytes.Buffer
	require.NoError(t, verifyOffline(&out, nil, origin, c.vkey, keys, rj, []byte(labResult), aj))
	tampered := strings.Replace(labResult, `"value": 6.10`, `"value": 6.1`, 1)
	require.NotEqual(t, labResult, tampered)
	err = verifyOffline(&out, nil, origin, c.vkey, keys, rj, []byte(tampered), aj)
	require.ErrorIs(t, err, records.ErrNotAnchored)
}
