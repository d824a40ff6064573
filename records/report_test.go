package records

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/stretchr/testify/require"
)

// day plays a patient's day on the rig and returns the report.
func (r *rig) day(t testing.TB) *Report {
	ctx := context.Background()
	r.grantTreatment(t)
	a, err := r.svc.Anchor(ctx, r.patient.DID(), readVector(t, "hba1c-6.1.json"))
	require.NoError(t, err)
	_, err = r.svc.AnchorDocument(ctx, r.patient.DID(), "application/pdf", "letter-1", "1", []byte("%PDF-1.7 letter"))
	require.NoError(t, err)
	_, err = r.svc.RecordAccess(ctx, &AccessRequest{Anchor: a, Action: ActionRead, Actor: clinician, Purpose: consent.PurposeTreat, Client: "ehr-web", ClientAddress: "10.0.0.7"})
	require.NoError(t, err)
	_, err = r.svc.RecordAccess(ctx, &AccessRequest{Anchor: a, Action: ActionRead, Actor: researcher, Purpose: consent.PurposeResearch})
	require.ErrorIs(t, err, ErrRefused)
	_, err = r.svc.RecordAccess(ctx, &AccessRequest{Anchor: a, Action: ActionRead, Actor: erDoctor, Purpose: consent.PurposeBreakTheGlass})
	require.NoError(t, err)
	_, err = r.svc.RecordAccess(ctx, &AccessRequest{Action: ActionQuery, Patient: r.patient.DID(), ResourceType: "Observation",
		Query: "Observation?patient=example&code=4548-4", Actor: clinician, Purpose: consent.PurposeTreat})
	require.NoError(t, err)
	_, err = r.svc.RecordAccess(ctx, &AccessRequest{Anchor: a, Action: ActionUpdate, Actor: clinician, Purpose: consent.PurposeTreat})
	require.NoError(t, err)
	ids, _, err := r.reg.Active(ctx, r.patient.DID())
	require.NoError(t, err)
	rv, err := r.reg.RevocationEntry(ctx, r.patient.DID(), ids[0], time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, r.patient.SignEntry(rv))
	_, err = r.reg.Submit(ctx, rv)
	require.NoError(t, err)
	rep, err := r.svc.Report(ctx, r.patient.DID())
	require.NoError(t, err)
	return rep
}

func TestReport(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	rep := r.day(t)
	var types []EventType
	for _, ev := range rep.Events {
		types = append(types, ev.Type)
	}
	require.Equal(t, []EventType{
		EventConsentGrant, EventAnchor, EventAnchor,
		EventDecision, EventAccess, // clinician reads
		EventDecision,                          // research denied
		EventBreakGlass, EventBreakGlassAccess, // ER
		EventDecision, EventAccess, // query
		EventDecision, EventAccess, // update
		EventConsentRevoke, // revocation
	}, types)
	for i := 1; i < len(rep.Events); i++ {
		require.False(t, rep.Events[i].Time.Before(rep.Events[i-1].Time), "time order")
	}

	t.Run("every row verifies offline with public keys only", func(t *testing.T) {
		for _, v := range rep.Verify(ctx, r.verifier, r.keys) {
			require.NoError(t, v.Err, "index %d", v.Index)
		}
	})
	t.Run("JSON round trip keeps every proof", func(t *testing.T) {
		j, err := rep.MarshalJSON()
		require.NoError(t, err)
		back, err := ParseReport(j)
		require.NoError(t, err)
		require.Len(t, back.Events, len(rep.Events))
		res := back.Verify(ctx, r.verifier, r.keys)
		bound := 0
		for _, v := range res {
			require.NoError(t, v.Err)
			if v.ContentBound {
				bound++
			}
		}
		require.Equal(t, 6, bound, "anchors and accesses are bound by their commitment")
	})
	t.Run("tampering is caught row by row", func(t *testing.T) {
		tamper := []struct {
			name string
			mut  func(*Report) int
			want error
		}{
			{"another actor", func(r *Report) int { i := find(r, EventAccess); r.Events[i].Access.Actor = "did:hl:mallory"; return i }, ErrNotAnchored},
			{"another purpose", func(r *Report) int { i := find(r, EventAccess); r.Events[i].Access.Purpose = "HPAYMT"; return i }, ErrNotAnchored},
			{"another version", func(r *Report) int { i := find(r, EventAnchor); r.Events[i].Anchor.Version = "2"; return i }, ErrNotAnchored},
			{"another salt", func(r *Report) int { i := find(r, EventAnchor); r.Events[i].Salt[3] ^= 1; return i }, ErrNotAnchored},
			{"a break-glass shown as ordinary", func(r *Report) int {
				i := find(r, EventBreakGlassAccess)
				r.Events[i].Access.BreakGlass = false
				return i
			}, ErrNotAnchored},
			{"an access whose decision is dropped", func(r *Report) int {
				i := find(r, EventAccess)
				d := r.Events[i].Access.DecisionIndex
				for j := range r.Events {
					if r.Events[j].Index == d {
						r.Events[j].Decision.Decision.Allowed = false
					}
				}
				return i
			}, ErrNotAnchored},
			{"another time", func(r *Report) int {
				i := find(r, EventDecision)
				r.Events[i].Time = r.Events[i].Time.Add(time.Hour)
				return i
			}, ErrNotAnchored},
			{"a receipt of another entry", func(r *Report) int { i := find(r, EventDecision); r.Events[i].Receipt = r.Events[0].Receipt; return i }, ErrNotAnchored},
			{"a forged leaf", func(r *Report) int {
				i := find(r, EventConsentGrant)
				rc := *r.Events[i].Receipt
				rc.Leaf = append([]byte(nil), rc.Leaf...)
				rc.Leaf[10] ^= 1
				r.Events[i].Receipt = &rc
				return i
			}, ErrInvalidProof},
		}
		for _, tc := range tamper {
			t.Run(tc.name, func(t *testing.T) {
				j, err := rep.MarshalJSON()
				require.NoError(t, err)
				cp, err := ParseReport(j)
				require.NoError(t, err)
				i := tc.mut(cp)
				res := cp.Verify(ctx, r.verifier, r.keys)
				require.ErrorIs(t, res[i].Err, tc.want)
			})
		}
	})
	t.Run("an unknown writer key fails the signature", func(t *testing.T) {
		keys := KeyRing{r.patient.DID(): r.keys[r.patient.DID()]}
		res := rep.Verify(ctx, r.verifier, keys)
		require.ErrorIs(t, res[find(rep, EventAnchor)].Err, ErrUnknownWriter)
		require.NoError(t, res[find(rep, EventConsentGrant)].Err)
		swapped := KeyRing{r.patient.DID(): r.keys[r.ehr.DID()], r.ehr.DID(): r.keys[r.patient.DID()]}
		res = rep.Verify(ctx, r.verifier, swapped)
		require.Error(t, res[find(rep, EventConsentGrant)].Err)
	})
	t.Run("another patient's report holds none of these", func(t *testing.T) {
		other, err := r.svc.Report(ctx, "did:hl:someone-else")
		require.NoError(t, err)
		require.Empty(t, other.Events)
	})
}

func find(r *Report, typ EventType) int {
	for i := range r.Events {
		if r.Events[i].Type == typ {
			return i
		}
	}
	panic(errors.New("no event of type " + string(typ)))
}
