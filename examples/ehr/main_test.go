package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/records"
	"github.com/stretchr/testify/require"
)

func TestClinicDay(t *testing.T) {
	var out, page, js bytes.Buffer
	require.NoError(t, run(context.Background(), &out, &page, &js))
	t.Log("\n" + out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.True(t, strings.HasPrefix(lines[0], "erased: the details of entry #"), lines[0])
	lines = lines[1:]
	require.Equal(t, "consent: treatment by the diabetes care team", lines[0])
	require.True(t, strings.HasPrefix(lines[1], "front desk: paper consent for the pharmacy, recorded on the patient's behalf"), lines[1])
	require.Contains(t, lines[2], "anchored Observation/hba1c-3 version 1")
	require.True(t, strings.HasPrefix(lines[3], "clinician  TREAT  read -> PERMIT access"), lines[3])
	require.True(t, strings.HasPrefix(lines[4], "researcher HRESCH read -> DENY"), lines[4])
	require.True(t, strings.HasPrefix(lines[5], "pharmacist TREAT  read -> PERMIT (consent recorded on the patient's behalf)"), lines[5])
	require.True(t, strings.HasPrefix(lines[6], "ER doctor  BTG    read -> PERMIT (break-glass"), lines[6])
	require.Equal(t, "verifier: the lab result is exactly the anchored version", lines[7])
	require.Equal(t, "verifier: the paper form is exactly the one captured at the front desk", lines[8])
	require.Equal(t, "report: 11 events", lines[9])
	require.Equal(t, "verifier: every event's proof verified with public keys only", lines[len(lines)-1])
	require.NotContains(t, out.String(), "FAILED")
	require.Equal(t, 11, strings.Count(page.String(), "<tr id=\"entry-"))
	require.Contains(t, page.String(), "Entry erased: record version anchored")
	require.Contains(t, out.String(), "erased                  verified (details erased)")
	require.Contains(t, page.String(), "(recorded on your behalf)")
	require.Contains(t, page.String(), "(under a consent recorded on your behalf)")
	rep, err := records.ParseReport(js.Bytes())
	require.NoError(t, err)
	require.Len(t, rep.Events, 11)
	require.Equal(t, records.EventErased, rep.Events[0].Type)
	require.Equal(t, records.EventCustodialGrant, rep.Events[2].Type)
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
	require.NoError(t, verifyOffline(&out, nil, origin, c.vkey, keys, rj, []byte(labResult), aj, nil))
	tampered := strings.Replace(labResult, `"value": 6.10`, `"value": 6.1`, 1)
	require.NotEqual(t, labResult, tampered)
	err = verifyOffline(&out, nil, origin, c.vkey, keys, rj, []byte(tampered), aj, nil)
	require.ErrorIs(t, err, records.ErrNotAnchored)
}

// TestVerifierRefusesAnotherPaperForm hands the verifier a form that
// differs from the scan captured at the front desk by one word.
func TestVerifierRefusesAnotherPaperForm(t *testing.T) {
	ctx := context.Background()
	c, err := openClinic(ctx)
	require.NoError(t, err)
	defer c.log.Close()
	a, err := c.records.Anchor(ctx, c.patient.DID(), []byte(labResult))
	require.NoError(t, err)
	aj, err := a.MarshalJSON()
	require.NoError(t, err)
	proof, err := c.frontDeskConsent(ctx)
	require.NoError(t, err)
	pj, err := proof.MarshalJSON()
	require.NoError(t, err)
	rep, err := c.records.Report(ctx, c.patient.DID())
	require.NoError(t, err)
	rj, err := rep.MarshalJSON()
	require.NoError(t, err)
	keys := map[string]string{}
	for did, k := range c.pubkeys {
		keys[did] = k.Multibase()
	}
	var out bytes.Buffer
	require.NoError(t, verifyOffline(&out, nil, origin, c.vkey, keys, rj, []byte(labResult), aj, &capturedForm{form: []byte(paperForm), proof: pj}))
	other := strings.Replace(paperForm, "for my treatment", "for any purpose", 1)
	require.NotEqual(t, paperForm, other)
	err = verifyOffline(&out, nil, origin, c.vkey, keys, rj, []byte(labResult), aj, &capturedForm{form: []byte(other), proof: pj})
	require.ErrorIs(t, err, consent.ErrFormMismatch)
	var mm *consent.FormMismatchError
	require.ErrorAs(t, err, &mm)
	require.Equal(t, "form", mm.Field)
}
