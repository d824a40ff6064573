package records

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/stretchr/testify/require"
)

const (
	frontDesk = "did:hl:staff-frontdesk-7"
	paperForm = "%PDF-1.7 treatment by the cardiology team, signed at the front desk"
)

// custodialDay: the EHR records at the front desk a paper consent for
// treatment by the care team, the clinician reads under it, and the
// patient then revokes it with their own key.
func (r *rig) custodialDay(t *testing.T) *Report { return r.custodialDayTB(t) }

func (r *rig) custodialDayTB(t testing.TB) *Report {
	ctx := context.Background()
	c := consent.Consent{Patient: r.patient.DID(), Status: consent.StatusActive, Decision: consent.Deny,
		Grantors: []string{r.patient.DID()},
		Provisions: []consent.Provision{{
			Actors:   []consent.ActorMatch{{Reference: careTeam}},
			Purposes: []consent.Purpose{consent.PurposeTreat},
		}}}
	now := time.Now().UTC()
	e, _, err := r.reg.CustodialGrantEntry(ctx, &c, r.ehr.DID(), consent.Capture{Method: consent.CapturePaper, Witness: frontDesk,
		CapturedAt: now.Add(-time.Minute), MediaType: "application/pdf", Form: []byte(paperForm)}, now)
	require.NoError(t, err)
	require.NoError(t, r.ehr.SignEntry(e))
	_, err = r.reg.Submit(ctx, e)
	require.NoError(t, err)
	a, err := r.svc.Anchor(ctx, r.patient.DID(), readVector(t, "hba1c-6.1.json"))
	require.NoError(t, err)
	acc, err := r.svc.RecordAccess(ctx, &AccessRequest{Anchor: a, Action: ActionRead, Actor: clinician, Purpose: consent.PurposeTreat})
	require.NoError(t, err)
	require.True(t, acc.Decision.Custodial(), "the read relied on the custodial consent")
	id, err := c.ID()
	require.NoError(t, err)
	rv, err := r.reg.RevocationEntry(ctx, r.patient.DID(), id, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, r.patient.SignEntry(rv))
	_, err = r.reg.Submit(ctx, rv)
	require.NoError(t, err)
	rep, err := r.svc.Report(ctx, r.patient.DID())
	require.NoError(t, err)
	return rep
}

func TestReportShowsCustodialConsents(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	rep := r.custodialDay(t)
	var types []EventType
	for _, ev := range rep.Events {
		types = append(types, ev.Type)
	}
	require.Equal(t, []EventType{EventCustodialGrant, EventAnchor, EventDecision, EventAccess, EventConsentRevoke}, types)
	g := &rep.Events[0]
	require.True(t, g.OnBehalf())
	require.True(t, g.ContentBound())
	require.Equal(t, r.ehr.DID(), g.Writer)
	require.Equal(t, consent.CapturePaper, g.Custodial.Method)
	require.Equal(t, frontDesk, g.Custodial.Witness)
	require.True(t, rep.Events[2].OnBehalf(), "the decision under the custodial consent is flagged")
	require.False(t, rep.Events[4].OnBehalf(), "the patient's own revocation is not")

	j, err := rep.MarshalJSON()
	require.NoError(t, err)
	back, err := ParseReport(j)
	require.NoError(t, err)
	for _, v := range back.Verify(ctx, r.verifier, r.keys) {
		require.NoError(t, v.Err, "index %d", v.Index)
	}
	var raw struct {
		Events []struct {
			Type      EventType       `json:"type"`
			Custodial json.RawMessage `json:"custodial"`
			Decision  string          `json:"decision"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal(j, &raw))
	require.Contains(t, string(raw.Events[0].Custodial), `"method": "paper"`)
	require.Contains(t, raw.Events[2].Decision, `"custodial":true`)

	t.Run("tampering with the custodial statement is caught", func(t *testing.T) {
		other := consent.Consent{Patient: r.patient.DID(), Status: consent.StatusActive, Decision: consent.Permit}
		for field, mut := range map[string]func(ev *Event){
			"commitment": func(ev *Event) { ev.Custodial.Witness = "did:hl:someone-else" },
			"custodian":  func(ev *Event) { ev.Custodial.Custodian = r.patient.DID() },
			"consent":    func(ev *Event) { ev.Granted = &other },
			"patient":    func(ev *Event) { ev.Custodial.Patient = "did:hl:someone-else" },
		} {
			cp, err := ParseReport(j)
			require.NoError(t, err)
			mut(&cp.Events[0])
			res := cp.Verify(ctx, r.verifier, r.keys)
			var mm *MismatchError
			require.ErrorAs(t, res[0].Err, &mm, field)
			require.Equal(t, field, mm.Field)
		}
	})

	t.Run("the AuditEvent names the custodian acting on the patient's behalf", func(t *testing.T) {
		b, err := rep.AuditBundle(AuditConfig{})
		require.NoError(t, err)
		var bundle js
		require.NoError(t, json.Unmarshal(b, &bundle))
		grant := o(o(arr(bundle["entry"])[0])["resource"])
		checkR4(t, grant)
		custodians := slice(grant["agent"], systemParticipation, "CST")
		require.Len(t, custodians, 1)
		require.Equal(t, r.ehr.DID(), o(o(custodians[0]["who"])["identifier"])["value"])
		ext := arr(custodians[0]["extension"])
		require.Len(t, ext, 1)
		require.Equal(t, extensionOnBehalfOf, o(ext[0])["url"])
		ref := o(o(ext[0])["valueReference"])
		require.Equal(t, "Patient", ref["type"])
		require.Equal(t, r.patient.DID(), o(ref["identifier"])["value"])
		witnesses := slice(grant["agent"], systemParticipation, "WIT")
		require.Len(t, witnesses, 1)
		require.Equal(t, frontDesk, o(o(witnesses[0]["who"])["identifier"])["value"])
		require.True(t, hasCoding(arr(grant["subtype"])[0], systemHealthledger, "custodial-consent-grant"))

		decision := o(o(arr(bundle["entry"])[2])["resource"])
		consents := slice(decision["entity"], systemResourceTypes, "Consent")
		require.Len(t, consents, 1)
		require.Equal(t, "custodial", o(arr(consents[0]["detail"])[0])["type"])
		// The patient's own revocation has no custodian agent.
		rv := o(o(arr(bundle["entry"])[4])["resource"])
		require.Empty(t, slice(rv["agent"], systemParticipation, "CST"))
	})

	t.Run("the HTML page marks what was recorded on the patient's behalf", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, back.WriteHTML(&buf, back.Verify(ctx, r.verifier, r.keys)))
		page := buf.String()
		require.Equal(t, 1, strings.Count(page, "<strong>(recorded on your behalf)</strong>"))
		require.Equal(t, 1, strings.Count(page, "<strong>(under a consent recorded on your behalf)</strong>"))
		require.Contains(t, page, "1 consent event(s) were recorded on your behalf")
		require.Contains(t, page, "paper form captured")
		require.Contains(t, page, "witnessed by "+frontDesk)
	})
}

func TestReportWithoutCustodialConsentsSaysNothingOfThem(t *testing.T) {
	r := newRig(t)
	rep := r.day(t)
	var buf bytes.Buffer
	require.NoError(t, rep.WriteHTML(&buf, nil))
	require.NotContains(t, buf.String(), "on your behalf")
	for _, ev := range rep.Events {
		require.False(t, ev.OnBehalf())
	}
}

// FuzzParseReport: a report, custodial statements included, parses or is
// refused with a typed error, and what parses writes back and parses again.
// Its seed is a whole custodial day's report, in testdata/fuzz (building
// one here would run a ledger in every fuzz worker).
func FuzzParseReport(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ParseReport(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		out, err := p.MarshalJSON()
		if err != nil {
			return // a receipt or statement that parses but cannot be written back
		}
		again, err := ParseReport(out)
		if err != nil || len(again.Events) != len(p.Events) {
			t.Fatalf("a parsed report does not round-trip: %v", err)
		}
	})
}

// TestCustodianWithdrawsItsConsent: a custodian revoking the custodial
// consent it recorded is an event of its own, verified offline and shown
// as recorded on the patient's behalf.
func TestCustodianWithdrawsItsConsent(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	c := consent.Consent{Patient: r.patient.DID(), Status: consent.StatusActive, Decision: consent.Permit, Grantees: []string{careTeam}}
	now := time.Now().UTC()
	e, _, err := r.reg.CustodialGrantEntry(ctx, &c, r.ehr.DID(), consent.Capture{Method: consent.CaptureTelephone, Witness: frontDesk,
		CapturedAt: now, MediaType: "text/plain", Form: []byte("call note")}, now)
	require.NoError(t, err)
	require.NoError(t, r.ehr.SignEntry(e))
	_, err = r.reg.Submit(ctx, e)
	require.NoError(t, err)
	id, err := c.ID()
	require.NoError(t, err)
	rv, err := r.reg.CustodialRevocationEntry(ctx, r.patient.DID(), r.ehr.DID(), id, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, r.ehr.SignEntry(rv))
	_, err = r.reg.Submit(ctx, rv)
	require.NoError(t, err)

	rep, err := r.svc.Report(ctx, r.patient.DID())
	require.NoError(t, err)
	require.Len(t, rep.Events, 2)
	require.Equal(t, EventCustodialRevoke, rep.Events[1].Type)
	require.Equal(t, id.String(), rep.Events[1].Consent)
	require.True(t, rep.Events[1].OnBehalf())
	res := rep.Verify(ctx, r.verifier, r.keys)
	for _, v := range res {
		require.NoError(t, v.Err)
	}
	require.False(t, res[1].ContentBound, "a revocation's details are sealed")
	var buf bytes.Buffer
	require.NoError(t, rep.WriteHTML(&buf, res))
	require.Equal(t, 2, strings.Count(buf.String(), "<strong>(recorded on your behalf)</strong>"))
	require.Contains(t, buf.String(), "consent by telephone")
	b, err := rep.AuditBundle(AuditConfig{})
	require.NoError(t, err)
	var bundle js
	require.NoError(t, json.Unmarshal(b, &bundle))
	ae := o(o(arr(bundle["entry"])[1])["resource"])
	checkR4(t, ae)
	require.Equal(t, "D", ae["action"])
	require.Len(t, slice(ae["agent"], systemParticipation, "CST"), 1)
}
