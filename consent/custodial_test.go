package consent

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/privacy"
	"github.com/stretchr/testify/require"
)

const (
	otherEHR   = "did:hl:ehr-other"
	rogueEHR   = "did:hl:ehr-rogue"
	frontDesk  = "did:hl:staff-frontdesk-7"
	scannedPDF = "%PDF-1.7 consent to share with the cardiology team, signed on paper"
)

// custodialWorld is a world whose registry accepts custodial consents
// recorded by w.ehr and otherEHR, with a rogue DID whose signatures
// verify but that no policy trusts.
type custodialWorld struct {
	*world
	other, rogue *fakeHolder
}

func newCustodialWorld(t *testing.T, sealer Sealer) *custodialWorld {
	w := newWorld(t, sealer)
	cw := &custodialWorld{world: w, other: w.keys.newHolder(t, otherEHR, t2025), rogue: w.keys.newHolder(t, rogueEHR, t2025)}
	w.cfg.Custodial = CustodialPolicy{Accept: true, Custodians: []string{w.ehr.did, otherEHR}}
	var err error
	w.reg, err = NewRegistry(w.cfg)
	require.NoError(t, err)
	return cw
}

func paperCapture(at time.Time) Capture {
	return Capture{Method: CapturePaper, Witness: frontDesk, CapturedAt: at, MediaType: "application/pdf", Form: []byte(scannedPDF)}
}

// custodialGrant builds a custodial grant of c recorded by custodian (its
// writer) and signed by signer.
func (w *custodialWorld) custodialGrant(c Consent, custodian string, signer *fakeHolder) (*ledger.Entry, *CustodialProof) {
	captured := w.now
	e, p, err := w.reg.CustodialGrantEntry(context.Background(), &c, custodian, paperCapture(captured), w.tick())
	require.NoError(w.t, err)
	signer.sign(w.t, e)
	return e, p
}

func (w *custodialWorld) submitCustodial(c Consent, by *fakeHolder) (ID, *CustodialProof) {
	e, p := w.custodialGrant(c, by.did, by)
	rcpt, err := w.reg.Submit(context.Background(), e)
	require.NoError(w.t, err)
	p.Receipt = rcpt
	return p.Statement.Consent, p
}

func (w *custodialWorld) custodialRevocation(id ID, by *fakeHolder) *ledger.Entry {
	e, err := w.reg.CustodialRevocationEntry(context.Background(), patient, by.did, id, w.tick())
	require.NoError(w.t, err)
	by.sign(w.t, e)
	return e
}

func (w *custodialWorld) patientRevocation(id ID) *ledger.Entry {
	e, err := w.reg.RevocationEntry(context.Background(), patient, id, w.tick())
	require.NoError(w.t, err)
	w.patient.sign(w.t, e)
	return e
}

// researchPermit permits research by the university: what a custodial
// consent grants in these tests, where the patient signed nothing about it.
func researchPermit() Consent {
	return Consent{Patient: patient, Status: StatusActive, Decision: Permit, Grantees: []string{orgUniv}, Grantors: []string{patient}}
}

// careTeamGrantee is careTeamOnly limited to requests by the care team:
// a patient-signed consent that leaves other actors' requests to others.
func careTeamGrantee() Consent {
	c := careTeamOnly()
	c.Grantees = []string{cardioTeam}
	return c
}

func (w *custodialWorld) researchRequest() Request {
	r := w.request()
	r.Actor, r.Purpose = Actor{DID: researcher, Organization: orgUniv}, PurposeResearch
	return r
}

func TestCustodialConsentCountsAndIsFlagged(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "clear", true: "sealed"}[sealed], func(t *testing.T) {
			ctx := context.Background()
			var s Sealer
			if sealed {
				s = newVault(t)
			}
			w := newCustodialWorld(t, s)
			id, proof := w.submitCustodial(researchPermit(), w.ehr)
			want, err := ptr(researchPermit()).ID()
			require.NoError(t, err)
			require.Equal(t, want, id)

			req := w.researchRequest()
			a, err := w.reg.Authorize(ctx, &req)
			require.NoError(t, err)
			require.True(t, a.Decision.Allowed)
			require.Equal(t, []Basis{{Consent: id, Effect: Permit, Custodial: true}}, a.Decision.Basis)
			require.True(t, a.Decision.Custodial(), "a decision under a custodial consent says so")

			// The access record carries the flag, and re-evaluates alike.
			re, err := w.reg.Reevaluate(ctx, a.Receipt.Index)
			require.NoError(t, err)
			require.True(t, re.Record.Decision.Custodial())
			require.True(t, re.Recomputed.Custodial())

			// History lists the grant with its custodian and proof.
			hist, err := w.reg.History(ctx, patient)
			require.NoError(t, err)
			require.Len(t, hist, 1)
			require.Equal(t, KindCustodialGranted, hist[0].Kind)
			require.Equal(t, w.ehr.did, hist[0].Writer)
			require.NotNil(t, hist[0].Custodial)
			require.Equal(t, proof.Statement, hist[0].Custodial.Statement)
			require.Equal(t, proof.Salt, hist[0].Custodial.Salt)

			// The form checks against the leaf with the log's key alone.
			v := w.ledgerVerifier()
			require.NoError(t, VerifyCapturedForm([]byte(scannedPDF), proof, v))
			require.NoError(t, proof.VerifyCustodian(ctx, w.keys))
			later, err := w.reg.CustodialProof(ctx, proof.Receipt.Index)
			require.NoError(t, err)
			require.Equal(t, proof.Statement, later.Statement)
			require.NoError(t, VerifyCapturedForm([]byte(scannedPDF), later, v))

			// The log holds the salted commitment, never the form's digest.
			d := proof.Statement.FormDigest
			for i := uint64(0); i < w.size(); i++ {
				leaf, err := w.log.Leaf(ctx, i)
				require.NoError(t, err)
				require.False(t, bytes.Contains(leaf, d[:]), "the plain form digest is not in a leaf")
			}
		})
	}
}

func (w *world) ledgerVerifier() *ledger.Verifier {
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: w.vkey})
	require.NoError(w.t, err)
	return v
}

func TestVerifyCapturedFormRefusesAnotherForm(t *testing.T) {
	ctx := context.Background()
	w := newCustodialWorld(t, newVault(t))
	_, proof := w.submitCustodial(researchPermit(), w.ehr)
	v := w.ledgerVerifier()
	var mm *FormMismatchError

	err := VerifyCapturedForm([]byte(scannedPDF+" "), proof, v)
	require.ErrorIs(t, err, ErrFormMismatch)
	require.ErrorAs(t, err, &mm)
	require.Equal(t, "form", mm.Field)

	cases := map[string]func(p *CustodialProof){
		"commitment": func(p *CustodialProof) { p.Salt[0] ^= 1 },
		"custodian":  func(p *CustodialProof) { p.Statement.Custodian = otherEHR },
	}
	for field, tamper := range cases {
		p := *proof
		tamper(&p)
		err := VerifyCapturedForm([]byte(scannedPDF), &p, v)
		require.ErrorAs(t, err, &mm, field)
		require.Equal(t, field, mm.Field)
		require.NotContains(t, err.Error(), otherEHR, "errors carry no DID")
	}
	// The signature is the custodian's, and the proof must name it.
	p := *proof
	p.Statement.Custodian = otherEHR
	require.ErrorIs(t, p.VerifyCustodian(ctx, w.keys), ErrNotSignedByCustodian)
	// A proof naming another entry's receipt: a patient's grant.
	w.submitGrant(careTeamOnly())
	rcpt, err := w.log.Receipt(ctx, w.size()-1)
	require.NoError(t, err)
	p = *proof
	p.Receipt = rcpt
	require.ErrorAs(t, VerifyCapturedForm([]byte(scannedPDF), &p, v), &mm)
	require.Equal(t, "kind", mm.Field)
	// A receipt that does not verify.
	p = *proof
	bad := *proof.Receipt
	bad.Leaf = append([]byte(nil), bad.Leaf...)
	bad.Leaf[len(bad.Leaf)-1] ^= 1
	p.Receipt = &bad
	require.ErrorIs(t, VerifyCapturedForm([]byte(scannedPDF), &p, v), ErrInvalidProof)
	require.ErrorIs(t, VerifyCapturedForm([]byte(scannedPDF), &CustodialProof{Statement: proof.Statement}, v), ErrInvalidProof)
}

// TestSubmitRefusesCustodialEntries covers each rule a custodial entry can
// break on Submit: a typed error, and nothing appended.
func TestSubmitRefusesCustodialEntries(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		rule string
		err  error
		make func(w *custodialWorld) *ledger.Entry
	}{
		{name: "policy off", rule: "C1", err: ErrCustodialNotAccepted, make: func(w *custodialWorld) *ledger.Entry {
			w.cfg.Custodial = CustodialPolicy{}
			var err error
			w.reg, err = NewRegistry(w.cfg)
			require.NoError(w.t, err)
			e, _ := w.custodialGrant(researchPermit(), w.ehr.did, w.ehr)
			return e
		}},
		{name: "custodian not on the allow-list", rule: "C2", err: ErrUntrustedCustodian, make: func(w *custodialWorld) *ledger.Entry {
			e, _ := w.custodialGrant(researchPermit(), rogueEHR, w.rogue)
			return e
		}},
		{name: "trusted custodian's name, another key", rule: "C3", err: ErrNotSignedByCustodian, make: func(w *custodialWorld) *ledger.Entry {
			e, _ := w.custodialGrant(researchPermit(), w.ehr.did, w.rogue)
			return e
		}},
		{name: "custodian re-granting what the patient revoked", rule: "C4", err: ErrPatientPrecedence, make: func(w *custodialWorld) *ledger.Entry {
			id, _ := w.submitCustodial(researchPermit(), w.ehr)
			_, err := w.reg.Submit(ctx, w.patientRevocation(id))
			require.NoError(w.t, err)
			e, _ := w.custodialGrant(researchPermit(), w.ehr.did, w.ehr)
			return e
		}},
		{name: "custodian granting what the patient signed", rule: "C5", err: ErrPatientPrecedence, make: func(w *custodialWorld) *ledger.Entry {
			w.submitGrant(researchPermit())
			e, _ := w.custodialGrant(researchPermit(), w.ehr.did, w.ehr)
			return e
		}},
		{name: "custodian revoking a patient-signed consent", rule: "C6", err: ErrPatientPrecedence, make: func(w *custodialWorld) *ledger.Entry {
			id := w.submitGrant(careTeamOnly())
			return w.custodialRevocation(id, w.ehr)
		}},
		{name: "custodian revoking what the patient signed again", rule: "C6", err: ErrPatientPrecedence, make: func(w *custodialWorld) *ledger.Entry {
			id, _ := w.submitCustodial(researchPermit(), w.ehr)
			require.Equal(w.t, id, w.submitGrant(researchPermit()))
			return w.custodialRevocation(id, w.ehr)
		}},
		{name: "custodian revoking another custodian's consent", rule: "C7", err: ErrNotOwnConsent, make: func(w *custodialWorld) *ledger.Entry {
			id, _ := w.submitCustodial(researchPermit(), w.ehr)
			return w.custodialRevocation(id, w.other)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newCustodialWorld(t, newVault(t))
			e := tc.make(w)
			before := w.size()
			_, err := w.reg.Submit(ctx, e)
			require.ErrorIs(t, err, tc.err)
			var ce *CustodialError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.rule, ce.Rule)
			require.Equal(t, before, w.size(), "a refused entry is not appended")
			for _, did := range []string{patient, w.ehr.did, otherEHR, rogueEHR, frontDesk} {
				require.NotContains(t, err.Error(), did, "errors carry no DID")
			}
		})
	}
}

func TestCustodialEntryValidation(t *testing.T) {
	ctx := context.Background()
	w := newCustodialWorld(t, nil)
	at := w.tick()
	c := researchPermit()
	verbal := Capture{Method: CaptureVerbal, CapturedAt: at, MediaType: "text/plain", Form: []byte("attestation")}
	_, _, err := w.reg.CustodialGrantEntry(ctx, &c, w.ehr.did, verbal, at)
	require.ErrorIs(t, err, ErrInvalidConsent, "verbal consent names its witness")
	verbal.Witness = frontDesk
	_, _, err = w.reg.CustodialGrantEntry(ctx, &c, w.ehr.did, verbal, at)
	require.NoError(t, err)
	late := paperCapture(at.Add(time.Second))
	_, _, err = w.reg.CustodialGrantEntry(ctx, &c, w.ehr.did, late, at)
	require.ErrorIs(t, err, ErrInvalidConsent, "a form is captured before it is recorded")
	_, _, err = w.reg.CustodialGrantEntry(ctx, &c, patient, paperCapture(at), at)
	require.ErrorIs(t, err, ErrInvalidConsent, "a patient is not their own custodian")
	_, _, err = w.reg.CustodialGrantEntry(ctx, &c, w.ehr.did, Capture{Method: CapturePaper, CapturedAt: at}, at)
	require.ErrorIs(t, err, ErrInvalidConsent, "the form's media type is required")
	long := paperCapture(at)
	long.Witness = strings.Repeat("w", maxCustodialField+1)
	_, _, err = w.reg.CustodialGrantEntry(ctx, &c, w.ehr.did, long, at)
	require.ErrorIs(t, err, ErrInvalidConsent, "a witness of more than 2048 bytes")
	bad := paperCapture(at)
	bad.MediaType = "application/\xff"
	_, _, err = w.reg.CustodialGrantEntry(ctx, &c, w.ehr.did, bad, at)
	require.ErrorIs(t, err, ErrInvalidConsent, "a media type that is not UTF-8")

	// A custodial grant whose Digest is not the commitment to its statement.
	e, _ := w.custodialGrant(researchPermit(), w.ehr.did, w.ehr)
	e.Digest[0] ^= 1
	w.ehr.sign(t, e)
	before := w.size()
	_, err = w.reg.Submit(ctx, e)
	require.ErrorIs(t, err, ErrMalformed)
	require.Equal(t, before, w.size())

	for _, cfg := range []CustodialPolicy{{Accept: true}, {Accept: true, Custodians: []string{"ehr"}}} {
		c := w.cfg
		c.Custodial = cfg
		_, err := NewRegistry(c)
		require.ErrorIs(t, err, ErrInvalidConfig)
	}
}

// TestPatientSignatureTakesPrecedence: the patient revokes custodial
// consents, the patient's applicable consents decide before any custodial
// one, and a custodian revokes only its own custodial consents.
func TestPatientSignatureTakesPrecedence(t *testing.T) {
	ctx := context.Background()
	decide := func(w *custodialWorld, req Request) *Decision {
		d, err := w.reg.Decide(&req)
		require.NoError(w.t, err)
		return d
	}

	t.Run("the patient revokes a custodial consent", func(t *testing.T) {
		w := newCustodialWorld(t, nil)
		id, _ := w.submitCustodial(researchPermit(), w.ehr)
		require.True(t, decide(w, w.researchRequest()).Allowed)
		_, err := w.reg.Submit(ctx, w.patientRevocation(id))
		require.NoError(t, err)
		d := decide(w, w.researchRequest())
		require.False(t, d.Allowed)
		require.Equal(t, NoConsent, d.Effect)
		// The custodian cannot put it back, whatever date it claims.
		e, _ := w.custodialGrant(researchPermit(), w.ehr.did, w.ehr)
		_, err = w.reg.Submit(ctx, e)
		require.ErrorIs(t, err, ErrPatientPrecedence)
		// The patient can, with their own signature.
		w.submitGrant(researchPermit())
		require.True(t, decide(w, w.researchRequest()).Allowed)
		require.False(t, decide(w, w.researchRequest()).Custodial())
	})

	t.Run("a patient-signed consent that applies decides before custodial ones", func(t *testing.T) {
		w := newCustodialWorld(t, nil)
		// The patient signed: the university may not do research.
		denyID := w.submitGrant(Consent{Patient: patient, Status: StatusActive, Decision: Deny, Grantees: []string{orgUniv}})
		// A custodian records a paper form permitting it: it does not count
		// against the patient's own consent...
		w.submitCustodial(researchPermit(), w.ehr)
		d := decide(w, w.researchRequest())
		require.False(t, d.Allowed)
		require.Equal(t, []Basis{{Consent: denyID, Effect: Deny}}, d.Basis)
		// ...nor does a custodial denial against the patient's permit.
		w2 := newCustodialWorld(t, nil)
		permitID := w2.submitGrant(researchPermit())
		w2.submitCustodial(Consent{Patient: patient, Status: StatusActive, Decision: Deny, Grantees: []string{orgUniv}}, w2.ehr)
		d = decide(w2, w2.researchRequest())
		require.True(t, d.Allowed)
		require.Equal(t, []Basis{{Consent: permitID, Effect: Permit}}, d.Basis)
		// Where no patient-signed consent applies, the custodial one decides.
		care := w2.request()
		d = decide(w2, care)
		require.Equal(t, NoConsent, d.Effect, "the custodial denial names only the university")
	})

	t.Run("a custodian revokes its own custodial consent and may record it again", func(t *testing.T) {
		w := newCustodialWorld(t, nil)
		id, _ := w.submitCustodial(researchPermit(), w.ehr)
		_, err := w.reg.Submit(ctx, w.custodialRevocation(id, w.ehr))
		require.NoError(t, err)
		require.False(t, decide(w, w.researchRequest()).Allowed)
		again, _ := w.submitCustodial(researchPermit(), w.ehr)
		require.Equal(t, id, again, "a custodian's own revocation does not bar it")
		require.True(t, decide(w, w.researchRequest()).Allowed)
	})

	t.Run("the patient signing a custodial consent makes it theirs", func(t *testing.T) {
		w := newCustodialWorld(t, nil)
		id, _ := w.submitCustodial(researchPermit(), w.ehr)
		w.submitGrant(researchPermit())
		d := decide(w, w.researchRequest())
		require.Equal(t, []Basis{{Consent: id, Effect: Permit}}, d.Basis, "no longer custodial")
		_, err := w.reg.Submit(ctx, w.custodialRevocation(id, w.ehr))
		require.ErrorIs(t, err, ErrPatientPrecedence)
	})
}

// TestReplayIgnoresForbiddenCustodialEntries appends, behind the
// registry's back, every custodial entry the rules forbid, as a rogue
// writer could: a fresh registry replaying the log ignores each.
func TestReplayIgnoresForbiddenCustodialEntries(t *testing.T) {
	ctx := context.Background()
	w := newCustodialWorld(t, newVault(t))
	appendRaw := func(e *ledger.Entry) {
		_, err := w.log.Append(ctx, e)
		require.NoError(t, err)
	}
	careID := w.submitGrant(careTeamGrantee())
	revokedID, _ := w.submitCustodial(researchPermit(), w.ehr)
	_, err := w.reg.Submit(ctx, w.patientRevocation(revokedID))
	require.NoError(t, err)
	ownID, _ := w.submitCustodial(Consent{Patient: patient, Status: StatusActive, Decision: Permit, Grantees: []string{orgPsych}}, w.ehr)

	// A rogue custodian's grant, well signed by its own key.
	e, _ := w.custodialGrant(Consent{Patient: patient, Status: StatusActive, Decision: Permit, Grantees: []string{drB}}, rogueEHR, w.rogue)
	appendRaw(e)
	// A trusted custodian re-granting what the patient revoked.
	e, _ = w.custodialGrant(researchPermit(), w.ehr.did, w.ehr)
	appendRaw(e)
	// A trusted custodian revoking the patient's own consent, and another
	// custodian's.
	appendRaw(w.custodialRevocation(careID, w.ehr))
	appendRaw(w.custodialRevocation(ownID, w.other))
	// A trusted custodian's name on an entry signed by the rogue's key.
	e, _ = w.custodialGrant(Consent{Patient: patient, Status: StatusActive, Decision: Permit, Grantees: []string{erDoc}}, w.ehr.did, w.rogue)
	appendRaw(e)

	fresh, err := NewRegistry(w.cfg)
	require.NoError(t, err)
	ids, _, err := fresh.Active(ctx, patient)
	require.NoError(t, err)
	require.Equal(t, []ID{careID, ownID}, ids)
	require.NoError(t, w.reg.Sync(ctx, patient))
	live, _, err := w.reg.Active(ctx, patient)
	require.NoError(t, err)
	require.Equal(t, ids, live)
	hist, err := fresh.History(ctx, patient)
	require.NoError(t, err)
	require.Len(t, hist, 4, "care grant, custodial grant, patient revocation, custodial grant")

	// With the policy off, even the trusted custodian's consent is ignored.
	off := w.cfg
	off.Custodial = CustodialPolicy{}
	strict, err := NewRegistry(off)
	require.NoError(t, err)
	ids, _, err = strict.Active(ctx, patient)
	require.NoError(t, err)
	require.Equal(t, []ID{careID}, ids)
	psych := w.request()
	psych.Actor = Actor{DID: drB, Organization: orgPsych}
	d, err := strict.Decide(&psych)
	require.NoError(t, err)
	require.False(t, d.Allowed)
	d, err = fresh.Decide(&psych)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	require.True(t, d.Custodial())
}

func TestCustodialRegistryDecideDoesNotAllocate(t *testing.T) {
	w := newCustodialWorld(t, nil)
	w.submitGrant(careTeamGrantee())
	w.submitCustodial(researchPermit(), w.ehr)
	req := w.researchRequest()
	var d Decision
	require.NoError(t, w.reg.DecideInto(&req, &d))
	require.True(t, d.Allowed)
	allocs := testing.AllocsPerRun(100, func() { _ = w.reg.DecideInto(&req, &d) })
	require.Zero(t, allocs)
}

func sampleCustodialGrant(t testing.TB) *CustodialGrant {
	c := researchPermit()
	id, err := c.ID()
	require.NoError(t, err)
	return &CustodialGrant{Consent: c, Salt: Salt{7}, Statement: CustodialStatement{
		Patient: patient, Custodian: "did:hl:ehr-service", Consent: id, Method: CaptureVerbal, Witness: frontDesk,
		CapturedAt: t2026, MediaType: "audio/ogg", FormDigest: DigestForm([]byte("recording")),
	}}
}

func TestCustodialGrantRoundTrip(t *testing.T) {
	g := sampleCustodialGrant(t)
	b, err := g.MarshalBinary()
	require.NoError(t, err)
	got, err := UnmarshalCustodialGrant(b)
	require.NoError(t, err)
	require.Equal(t, g.Statement, got.Statement)
	require.Equal(t, g.Salt, got.Salt)
	for j := range b {
		m := append([]byte(nil), b...)
		m[j] ^= 0x20
		if other, err := UnmarshalCustodialGrant(m); err == nil {
			b2, _ := other.MarshalBinary()
			require.NotEqual(t, b, b2, "byte %d", j)
		}
	}
	_, err = UnmarshalCustodialGrant(append(b, ' '))
	require.ErrorIs(t, err, ErrMalformed)
	// A statement naming another consent does not encode.
	bad := *g
	bad.Statement.Consent[0] ^= 1
	_, err = bad.MarshalBinary()
	require.ErrorIs(t, err, ErrInvalidConsent)

	p := CustodialProof{Statement: g.Statement, Salt: g.Salt}
	pj, err := p.MarshalJSON()
	require.NoError(t, err)
	var back CustodialProof
	require.NoError(t, back.UnmarshalJSON(pj))
	require.Equal(t, p, back)
	require.ErrorIs(t, back.UnmarshalJSON(bytes.Replace(pj, []byte(`"verbal"`), []byte(`"smoke signal"`), 1)), ErrUnknownCode)
}

func TestAccessRecordCarriesCustodialBasis(t *testing.T) {
	rec := sampleRecords()[0]
	rec.Decision.Basis[0].Custodial = true
	b, err := rec.MarshalBinary()
	require.NoError(t, err)
	require.Contains(t, string(b), `"effect":"permit","custodial":true}`)
	got, err := UnmarshalAccessRecord(b)
	require.NoError(t, err)
	require.True(t, got.Decision.Custodial())
	plain := sampleRecords()[0]
	require.False(t, sameDecision(&plain.Decision, &got.Decision), "the flag is part of the recorded decision")
}

func FuzzUnmarshalCustodialGrant(f *testing.F) {
	b, err := sampleCustodialGrant(f).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		g, err := UnmarshalCustodialGrant(in)
		if err != nil {
			return
		}
		out, err := g.MarshalBinary()
		if err != nil || string(out) != string(in) {
			t.Fatal("decoded custodial grant does not re-encode to its input")
		}
	})
}

func FuzzCustodialProofJSON(f *testing.F) {
	g := sampleCustodialGrant(f)
	b, err := (&CustodialProof{Statement: g.Statement, Salt: g.Salt}).MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		var p CustodialProof
		if err := p.UnmarshalJSON(in); err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownCode) && !errors.Is(err, ErrInvalidConsent) && !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		out, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var again CustodialProof
		if err := again.UnmarshalJSON(out); err != nil || again.Statement != p.Statement || again.Salt != p.Salt {
			t.Fatal("a decoded proof does not round-trip")
		}
	})
}

// custodialVector is a custodial grant in portable form: its encoding,
// the statement's encoding and the commitment the entry's Digest holds.
type custodialVector struct {
	Name       string `json:"name"`
	Encoding   string `json:"encoding"`
	Statement  string `json:"statement"`
	Commitment string `json:"commitment"`
	ConsentID  string `json:"consentId"`
}

const custodialVectorFile = "testdata/custodial-vectors.json"

// TestCustodialVectors checks the custodial encodings and commitments in
// testdata (regenerate with -update).
func TestCustodialVectors(t *testing.T) {
	if *update {
		paper := sampleCustodialGrant(t)
		paper.Statement.Method, paper.Statement.Witness, paper.Statement.MediaType = CapturePaper, "", "application/pdf"
		paper.Statement.FormDigest = DigestForm([]byte(scannedPDF))
		var vs []custodialVector
		for _, g := range []struct {
			name string
			g    *CustodialGrant
		}{{"verbal-with-witness", sampleCustodialGrant(t)}, {"paper-without-witness", paper}} {
			enc, err := g.g.MarshalBinary()
			require.NoError(t, err)
			st, err := g.g.Statement.MarshalBinary()
			require.NoError(t, err)
			c, err := g.g.Statement.Commitment(g.g.Salt)
			require.NoError(t, err)
			vs = append(vs, custodialVector{Name: g.name, Encoding: string(enc), Statement: hex.EncodeToString(st),
				Commitment: hex.EncodeToString(c[:]), ConsentID: g.g.Statement.Consent.String()})
		}
		out, err := json.MarshalIndent(vs, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(custodialVectorFile, append(out, '\n'), 0o644))
	}
	b, err := os.ReadFile(custodialVectorFile)
	require.NoError(t, err)
	var vs []custodialVector
	require.NoError(t, json.Unmarshal(b, &vs))
	require.Len(t, vs, 2)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			g, err := UnmarshalCustodialGrant([]byte(v.Encoding))
			require.NoError(t, err)
			require.Equal(t, v.ConsentID, g.Statement.Consent.String())
			st, err := g.Statement.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, v.Statement, hex.EncodeToString(st))
			c, err := g.Statement.Commitment(g.Salt)
			require.NoError(t, err)
			require.Equal(t, v.Commitment, hex.EncodeToString(c[:]))
		})
	}
}

// TestCustodialPrivacyAndErasure: a custodial grant's leaf names neither
// the patient nor the witness, the form's digest or its media type; after
// erasure the consent no longer counts and its payload no longer opens,
// while the custodian's proof still verifies against the unchanged leaf.
func TestCustodialPrivacyAndErasure(t *testing.T) {
	ctx := context.Background()
	vault := newVault(t)
	w := newCustodialWorld(t, vault)
	_, proof := w.submitCustodial(researchPermit(), w.ehr)
	leaf, err := w.log.Leaf(ctx, proof.Receipt.Index)
	require.NoError(t, err)
	d := proof.Statement.FormDigest
	for _, s := range [][]byte{[]byte(patient), []byte(frontDesk), []byte(orgUniv), []byte("application/pdf"), []byte("paper"), d[:], []byte(d.String())} {
		require.False(t, bytes.Contains(leaf, s), "the leaf holds %q", s)
	}
	tag, err := w.reg.SubjectTag(patient)
	require.NoError(t, err)
	require.NoError(t, vault.EraseSubject(ctx, tag))
	fresh, err := NewRegistry(w.cfg)
	require.NoError(t, err)
	ids, _, err := fresh.Active(ctx, patient)
	require.NoError(t, err)
	require.Empty(t, ids)
	_, err = fresh.CustodialProof(ctx, proof.Receipt.Index)
	require.ErrorIs(t, err, privacy.ErrErased)
	after, err := w.log.Leaf(ctx, proof.Receipt.Index)
	require.NoError(t, err)
	require.Equal(t, leaf, after, "erasure leaves the leaf byte-identical")
	require.NoError(t, VerifyCapturedForm([]byte(scannedPDF), proof, w.ledgerVerifier()))
}

// TestConcurrentCustodialSubmitAndAuthorize runs decisions while a
// custodian records consents, for the race detector, and checks every
// decision re-evaluates.
func TestConcurrentCustodialSubmitAndAuthorize(t *testing.T) {
	ctx := context.Background()
	w := newCustodialWorld(t, nil)
	req := w.researchRequest()
	entries := make([]*ledger.Entry, 5)
	for i := range entries {
		c := researchPermit()
		c.Period = Period{Start: t2025.AddDate(0, 0, i)}
		entries[i], _ = w.custodialGrant(c, w.ehr.did, w.ehr)
	}
	w.now = w.now.Add(-time.Duration(len(entries)) * time.Minute) // keep the entries fresh
	var wg sync.WaitGroup
	var mu sync.Mutex
	var indices []uint64
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
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
	for _, e := range entries {
		_, err := w.reg.Submit(ctx, e)
		require.NoError(t, err)
	}
	wg.Wait()
	require.Len(t, indices, 30)
	for _, i := range indices {
		_, err := w.reg.Reevaluate(ctx, i)
		require.NoError(t, err)
	}
	ids, _, err := w.reg.Active(ctx, patient)
	require.NoError(t, err)
	require.Len(t, ids, len(entries))
}

// didEchoingChecker is a Checker whose refusals quote the DID, as a key
// resolver's errors may.
type didEchoingChecker struct{ SignatureChecker }

func (c didEchoingChecker) CheckSignature(ctx context.Context, did string, msg, sig []byte, at time.Time) error {
	if err := c.SignatureChecker.CheckSignature(ctx, did, msg, sig, at); err != nil {
		return fmt.Errorf("no key of %s verifies: %w", did, err)
	}
	return nil
}

// A replay that skips an entry logs why by the rule it broke, never by an
// error text that may quote a DID.
func TestReplaySkipLogsNoDID(t *testing.T) {
	ctx := context.Background()
	w := newCustodialWorld(t, newVault(t))
	var logs bytes.Buffer
	cfg := w.cfg
	cfg.Checker = didEchoingChecker{w.keys}
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// A grant in the patient's name signed by the rogue's key, and a
	// custodial grant by a custodian no policy trusts.
	forged, err := w.reg.GrantEntry(ctx, ptr(researchPermit()), w.tick())
	require.NoError(t, err)
	w.rogue.sign(t, forged)
	forged.Writer = patient
	_, err = w.log.Append(ctx, forged)
	require.NoError(t, err)
	rogue, _ := w.custodialGrant(researchPermit(), rogueEHR, w.rogue)
	_, err = w.log.Append(ctx, rogue)
	require.NoError(t, err)

	reg, err := NewRegistry(cfg)
	require.NoError(t, err)
	ids, _, err := reg.Active(ctx, patient)
	require.NoError(t, err)
	require.Empty(t, ids)
	out := logs.String()
	require.Contains(t, out, ErrNotSignedByPatient.Error())
	require.Contains(t, out, ErrUntrustedCustodian.Error())
	for _, did := range []string{patient, rogueEHR, w.ehr.did} {
		require.NotContains(t, out, did)
	}
}

// Submit checks an entry against what other writers appended since the
// registry last looked: a custodian cannot re-grant, through a registry
// that loaded the patient earlier, a consent the patient revoked through
// another one.
func TestSubmitSeesEntriesAppendedElsewhere(t *testing.T) {
	ctx := context.Background()
	w := newCustodialWorld(t, newVault(t))
	id, _ := w.submitCustodial(researchPermit(), w.ehr) // w.reg has the patient loaded
	elsewhere, err := NewRegistry(w.cfg)
	require.NoError(t, err)
	_, err = elsewhere.Submit(ctx, w.patientRevocation(id))
	require.NoError(t, err)

	e, _ := w.custodialGrant(researchPermit(), w.ehr.did, w.ehr)
	before := w.size()
	_, err = w.reg.Submit(ctx, e)
	require.ErrorIs(t, err, ErrPatientPrecedence)
	require.Equal(t, before, w.size(), "nothing appended")
	ids, _, err := w.reg.Active(ctx, patient)
	require.NoError(t, err)
	require.Empty(t, ids, "the revocation appended elsewhere is seen")
}
