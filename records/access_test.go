package records

import (
	"context"
	"testing"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
)

func TestRecordAccess(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	grant := r.grantTreatment(t)
	obs := readVector(t, "hba1c-6.1.json")
	a, err := r.svc.Anchor(ctx, r.patient.DID(), obs)
	require.NoError(t, err)

	t.Run("allowed read is bound to the version, actor, purpose and decision", func(t *testing.T) {
		acc, err := r.svc.RecordAccess(ctx, &AccessRequest{Anchor: a, Action: ActionRead, Actor: clinician, Purpose: consent.PurposeTreat})
		require.NoError(t, err)
		require.True(t, acc.Decision.Allowed)
		st := acc.Statement
		require.Equal(t, a.Receipt.Index, st.AnchorIndex)
		ae, err := r.verifier.VerifyReceipt(a.Receipt)
		require.NoError(t, err)
		require.Equal(t, ae.Digest, st.AnchorCommitment, "bound to the anchor's salted commitment")
		require.Equal(t, acc.DecisionReceipt.Index, st.DecisionIndex)
		require.Equal(t, clinician.DID, st.Actor)
		require.Equal(t, "TREAT", st.Purpose)
		require.Less(t, grant.Index, st.DecisionIndex)
		require.Less(t, st.DecisionIndex, acc.Receipt.Index)
		e, err := r.verifier.VerifyReceipt(acc.Receipt)
		require.NoError(t, err)
		require.Equal(t, ledger.KindRecordAccessed, e.Kind)
		c, err := st.Commitment(acc.Salt)
		require.NoError(t, err)
		require.Equal(t, c, e.Digest)
		require.NotContains(t, string(acc.Receipt.Leaf), clinician.DID)
		// The decision entry is consent's, and re-evaluates.
		re, err := r.reg.Reevaluate(ctx, st.DecisionIndex)
		require.NoError(t, err)
		require.Equal(t, "Observation", re.Record.Request.Resource.Type)
		require.Equal(t, "hba1c-3", re.Record.Request.Resource.ID)
		// Changing any bound field changes the commitment.
		for _, mut := range []func(*AccessStatement){
			func(s *AccessStatement) { s.Actor = "did:hl:other" },
			func(s *AccessStatement) { s.Purpose = "HRESCH" },
			func(s *AccessStatement) { s.DecisionIndex++ },
			func(s *AccessStatement) { s.AnchorIndex++ },
			func(s *AccessStatement) { s.AnchorCommitment[0] ^= 1 },
			func(s *AccessStatement) { s.Action = ActionExport },
		} {
			m := st
			mut(&m)
			c2, err := m.Commitment(acc.Salt)
			require.NoError(t, err)
			require.NotEqual(t, c, c2)
		}
	})

	t.Run("refused: typed error, the denial recorded, no access entry", func(t *testing.T) {
		before, err := r.log.Checkpoint(ctx)
		require.NoError(t, err)
		cpBefore, err := ledger.ParseSignedCheckpoint(before)
		require.NoError(t, err)
		_, err = r.svc.RecordAccess(ctx, &AccessRequest{Anchor: a, Action: ActionRead, Actor: researcher, Purpose: consent.PurposeResearch})
		var re *RefusedError
		require.ErrorAs(t, err, &re)
		require.ErrorIs(t, err, ErrRefused)
		require.False(t, re.Decision.Allowed)
		after, err := r.log.Checkpoint(ctx)
		require.NoError(t, err)
		cpAfter, err := ledger.ParseSignedCheckpoint(after)
		require.NoError(t, err)
		require.Equal(t, cpBefore.Size+1, cpAfter.Size, "only the decision was written")
		e, err := r.log.Entry(ctx, re.DecisionIndex)
		require.NoError(t, err)
		require.Equal(t, consent.KindAccessDecided, e.Kind)
	})

	t.Run("invalid requests write nothing", func(t *testing.T) {
		before, err := r.log.Checkpoint(ctx)
		require.NoError(t, err)
		for _, req := range []*AccessRequest{
			{Action: ActionRead, Actor: clinician, Purpose: consent.PurposeTreat},
			{Anchor: a, Action: ActionRead, Actor: clinician},
			{Anchor: a, Actor: clinician, Purpose: consent.PurposeTreat},
			{Anchor: a, Action: ActionQuery, Actor: clinician, Purpose: consent.PurposeTreat},
		} {
			_, err := r.svc.RecordAccess(ctx, req)
			require.ErrorIs(t, err, ErrInvalidRequest)
		}
		after, err := r.log.Checkpoint(ctx)
		require.NoError(t, err)
		require.Equal(t, string(before), string(after))
	})

	t.Run("break-glass is allowed, flagged and bound", func(t *testing.T) {
		acc, err := r.svc.RecordAccess(ctx, &AccessRequest{Anchor: a, Action: ActionRead, Actor: erDoctor, Purpose: consent.PurposeBreakTheGlass})
		require.NoError(t, err)
		require.True(t, acc.Decision.BreakGlass)
		require.True(t, acc.Statement.BreakGlass)
	})

	t.Run("each action is checked as its consent action", func(t *testing.T) {
		want := map[Action]consent.Action{ActionRead: consent.ActionAccess, ActionCreate: consent.ActionCollect,
			ActionUpdate: consent.ActionCorrect, ActionShare: consent.ActionDisclose, ActionExport: consent.ActionDisclose,
			ActionPrint: consent.ActionDisclose, ActionQuery: consent.ActionAccess}
		for act, ca := range want {
			require.Equal(t, ca, consentAction(act), act.String())
		}
	})
}
