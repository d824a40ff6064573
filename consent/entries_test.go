package consent

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func sampleRecords() []AccessRecord {
	req := baseRequest()
	req.Resource.Labels = []Label{LabelNormal, LabelPsychiatry}
	bgReq := baseRequest()
	asERDoc(PurposeBreakTheGlass)(&bgReq)
	bgReq.Resource.Date = zeroTime()
	return []AccessRecord{
		{Request: req, ConsentState: 3, Decision: Decision{Effect: Permit, Allowed: true, Reason: ReasonConsent,
			Basis:       []Basis{{Consent: ID{1, 2}, Path: "1", Effect: Permit}},
			Obligations: []Obligation{{Kind: ObligationRedact, Label: LabelHIV}}}},
		{Request: bgReq, Decision: Decision{Effect: Deny, Allowed: true, Reason: ReasonBreakGlass, BreakGlass: true,
			Basis:       []Basis{{Consent: ID{9}, Effect: Deny}},
			Obligations: []Obligation{{Kind: ObligationAudit}, {Kind: ObligationNotifyPatient}}}},
		{Request: baseRequest(), Decision: Decision{Effect: NoConsent, Reason: ReasonNoConsentDefault}},
	}
}

func TestAccessRecordRoundTrip(t *testing.T) {
	for i, rec := range sampleRecords() {
		t.Run(rec.Decision.Reason.String(), func(t *testing.T) {
			b, err := rec.MarshalBinary()
			require.NoError(t, err)
			got, err := UnmarshalAccessRecord(b)
			require.NoError(t, err)
			require.True(t, sameDecision(&rec.Decision, &got.Decision))
			require.Equal(t, rec.ConsentState, got.ConsentState)
			require.True(t, rec.Request.Time.Equal(got.Request.Time))
			require.Equal(t, rec.Request.Resource.Labels, got.Request.Resource.Labels)
			// Any change of one byte is rejected or decodes differently.
			for j := range b {
				m := append([]byte(nil), b...)
				m[j] ^= 0x20
				if other, err := UnmarshalAccessRecord(m); err == nil {
					b2, _ := other.MarshalBinary()
					require.NotEqual(t, b, b2, "record %d byte %d", i, j)
				}
			}
		})
	}
	bad := sampleRecords()[0]
	bad.Request.Purpose = 0
	_, err := bad.MarshalBinary()
	require.ErrorIs(t, err, ErrMissingPurpose)
}

func TestRevocationRoundTrip(t *testing.T) {
	r := Revocation{Patient: patient, Consent: ID{0xab}}
	b, err := r.MarshalBinary()
	require.NoError(t, err)
	got, err := UnmarshalRevocation(b)
	require.NoError(t, err)
	require.Equal(t, r, *got)
	_, err = UnmarshalRevocation(append(b, ' '))
	require.ErrorIs(t, err, ErrMalformed)
	_, err = UnmarshalRevocation([]byte(RevocationEncodingPrefix + `{"patient":"did:hl:p","consent":"zz"}`))
	require.ErrorIs(t, err, ErrMalformed)
}

func FuzzUnmarshalAccessRecord(f *testing.F) {
	for _, rec := range sampleRecords() {
		b, err := rec.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rec, err := UnmarshalAccessRecord(in)
		if err != nil {
			return
		}
		out, err := rec.MarshalBinary()
		if err != nil || string(out) != string(in) {
			t.Fatal("decoded record does not re-encode to its input")
		}
	})
}

func FuzzUnmarshalRevocation(f *testing.F) {
	b, _ := (&Revocation{Patient: patient, Consent: ID{1}}).MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := UnmarshalRevocation(in)
		if err != nil {
			return
		}
		out, err := r.MarshalBinary()
		if err != nil || string(out) != string(in) {
			t.Fatal("decoded revocation does not re-encode to its input")
		}
	})
}

// TestConcurrentAuthorizeAndSubmit runs decisions while consents change,
// for the race detector, and checks every decision re-evaluates.
func TestConcurrentAuthorizeAndSubmit(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, nil)
	w.submitGrant(careTeamOnly())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var indices []uint64
	req := w.request()
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				r := req
				a, err := w.reg.Authorize(ctx, &r)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				indices = append(indices, a.Receipt.Index)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < 5; i++ {
		w.submitGrant(active(Permit, Provision{Actors: []ActorMatch{{Organization: orgPsych}}, Period: Period{Start: t2025.AddDate(0, 0, i)}}))
	}
	wg.Wait()
	require.Len(t, indices, 80)
	for _, i := range indices {
		_, err := w.reg.Reevaluate(ctx, i)
		require.NoError(t, err)
	}
}
