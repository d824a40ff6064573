package consent

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

func TestSubmitRefusesWhatThePatientDidNotSign(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		make func(w *world) *ledger.Entry
		err  error
	}{
		{name: "signed by another DID's key", err: ErrNotSignedByPatient, make: func(w *world) *ledger.Entry {
			return w.grant(active(Permit), w.ehr)
		}},
		{name: "unsigned", err: ErrNotSignedByPatient, make: func(w *world) *ledger.Entry {
			e := w.grant(active(Permit), w.patient)
			e.Signature = nil
			return e
		}},
		{name: "written by the EHR for the patient", err: ErrNotSignedByPatient, make: func(w *world) *ledger.Entry {
			e := w.grant(active(Permit), w.patient)
			e.Writer = w.ehr.did
			w.ehr.sign(w.t, e)
			return e
		}},
		{name: "signed with a revoked key", err: ErrNotSignedByPatient, make: func(w *world) *ledger.Entry {
			w.keys.revoke(patient, w.now)
			return w.grant(active(Permit), w.patient)
		}},
		{name: "body altered after signing", err: ErrNotSignedByPatient, make: func(w *world) *ledger.Entry {
			e := w.grant(active(Permit), w.patient)
			other, err := w.reg.GrantEntry(ctx, ptr(active(Deny)), e.Time)
			require.NoError(w.t, err)
			e.Body, e.Digest = other.Body, other.Digest
			return e
		}},
		{name: "digest not matching the body", err: ErrMalformed, make: func(w *world) *ledger.Entry {
			e := w.grant(active(Permit), w.patient)
			e.Digest[0] ^= 1
			w.patient.sign(w.t, e)
			return e
		}},
		{name: "dated an hour ago", err: ErrNotFresh, make: func(w *world) *ledger.Entry {
			e := w.grant(active(Permit), w.patient)
			e.Time = w.now.Add(-time.Hour)
			w.patient.sign(w.t, e)
			return e
		}},
		{name: "revoking a consent never granted", err: ErrUnknownConsent, make: func(w *world) *ledger.Entry {
			e, err := w.reg.RevocationEntry(ctx, patient, ID{1}, w.tick())
			require.NoError(w.t, err)
			w.patient.sign(w.t, e)
			return e
		}},
		{name: "re-grant dated before the consent's revocation", err: ErrOutOfOrder, make: func(w *world) *ledger.Entry {
			first := w.now
			id := w.submitGrant(active(Permit))
			w.submitRevocation(id, w.tick())
			e, err := w.reg.GrantEntry(ctx, ptr(active(Permit)), first)
			require.NoError(w.t, err)
			w.patient.sign(w.t, e)
			return e
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, nil)
			e := tc.make(w)
			before := w.size()
			_, err := w.reg.Submit(ctx, e)
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, before, w.size(), "a refused entry is not appended")
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestGrantRevokeReplay(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "clear", true: "sealed"}[sealed], func(t *testing.T) {
			ctx := context.Background()
			var s Sealer
			if sealed {
				s = newVault(t)
			}
			w := newWorld(t, s)
			req := w.request()
			d, err := w.reg.Decide(&req)
			require.ErrorIs(t, err, ErrNotLoaded, "a patient never loaded is not a no-consent")
			require.False(t, d.Allowed)
			require.NoError(t, w.reg.Sync(ctx, patient))
			d, err = w.reg.Decide(&req)
			require.NoError(t, err)
			require.Equal(t, NoConsent, d.Effect)

			careID := w.submitGrant(careTeamOnly(Provision{Labels: []Label{LabelPsychiatry}}))
			denyID := w.submitGrant(active(Permit, Provision{Actors: []ActorMatch{{Organization: orgUniv}}}))
			req = w.request()
			d, err = w.reg.Decide(&req)
			require.NoError(t, err)
			require.True(t, d.Allowed)
			require.Equal(t, []Basis{{Consent: careID, Path: "1", Effect: Permit}, {Consent: denyID, Effect: Permit}}, d.Basis)

			// A forged grant appended straight to the log is ignored on replay.
			forged := w.grant(active(Permit), w.ehr)
			forged.Writer = patient
			w.ehr.sign(t, forged)
			_, err = w.log.Append(ctx, forged)
			require.NoError(t, err)

			// Revoke the care-team consent.
			rv, err := w.reg.RevocationEntry(ctx, patient, careID, w.tick())
			require.NoError(t, err)
			require.NoError(t, w.patient.SignEntry(rv))
			_, err = w.reg.Submit(ctx, rv)
			require.NoError(t, err)
			ids, _, err := w.reg.Active(ctx, patient)
			require.NoError(t, err)
			require.Equal(t, []ID{denyID}, ids)

			// A new registry rebuilds the same state from the ledger alone.
			fresh, err := NewRegistry(w.cfg)
			require.NoError(t, err)
			ids2, _, err := fresh.Active(ctx, patient)
			require.NoError(t, err)
			require.Equal(t, ids, ids2)

			if sealed {
				for i := uint64(0); i < w.size(); i++ {
					leaf, err := w.log.Leaf(ctx, i)
					require.NoError(t, err)
					require.False(t, bytes.Contains(leaf, []byte("PSY")), "sealed bodies hide the consent")
					require.False(t, bytes.Contains(leaf, []byte(orgUniv)))
				}
			}
		})
	}
}

func TestAuthorizeReevaluateAndReport(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, newVault(t))
	careID := w.submitGrant(careTeamOnly(Provision{Labels: []Label{LabelPsychiatry}}))

	// The care team reads a note: permitted, with a PSY redaction.
	read := w.request()
	a1, err := w.reg.Authorize(ctx, &read)
	require.NoError(t, err)
	require.True(t, a1.Decision.Allowed)
	require.Equal(t, []Obligation{{Kind: ObligationRedact, Label: LabelPsychiatry}}, a1.Decision.Obligations)

	// An ER doctor breaks the glass.
	emergency := w.request()
	asERDoc(PurposeBreakTheGlass)(&emergency)
	a2, err := w.reg.Authorize(ctx, &emergency)
	require.NoError(t, err)
	require.True(t, a2.Decision.Allowed)
	require.True(t, a2.Decision.BreakGlass)

	// A researcher is denied; the denial is recorded too.
	research := w.request()
	research.Actor, research.Purpose = Actor{DID: researcher, Organization: orgUniv}, PurposeResearch
	a3, err := w.reg.Authorize(ctx, &research)
	require.NoError(t, err)
	require.False(t, a3.Decision.Allowed)

	// The patient revokes; the care team's next read is denied...
	rv, err := w.reg.RevocationEntry(ctx, patient, careID, w.tick())
	require.NoError(t, err)
	require.NoError(t, w.patient.SignEntry(rv))
	_, err = w.reg.Submit(ctx, rv)
	require.NoError(t, err)
	again := w.request()
	a4, err := w.reg.Authorize(ctx, &again)
	require.NoError(t, err)
	require.False(t, a4.Decision.Allowed)

	// ...but every recorded decision re-evaluates to the same answer as of its time.
	for _, a := range []*Access{a1, a2, a3, a4} {
		re, err := w.reg.Reevaluate(ctx, a.Receipt.Index)
		require.NoError(t, err)
		require.Equal(t, a.Decision.Allowed, re.Recomputed.Allowed)
		require.Equal(t, w.ehr.did, re.Recorder)
	}
	_, err = w.reg.Reevaluate(ctx, 0)
	require.ErrorIs(t, err, ErrNotAccessEntry)

	// The patient's report lists the four accesses with verifiable receipts.
	report, err := w.reg.AccessReport(ctx, patient)
	require.NoError(t, err)
	require.Len(t, report, 4)
	var notify int
	for i, item := range report {
		require.Equal(t, []*Access{a1, a2, a3, a4}[i].Receipt.Index, item.Index)
		n, err := note.Open(item.Receipt.Checkpoint, note.VerifierList(w.verifier))
		require.NoError(t, err)
		cp, err := ledger.ParseCheckpoint([]byte(n.Text))
		require.NoError(t, err)
		require.NoError(t, merkle.VerifyInclusion(merkle.HashLeaf(item.Receipt.Leaf), item.Index, cp.Size, item.Receipt.Proof, cp.Root))
		if item.Record.Decision.BreakGlass {
			notify++
			require.Equal(t, erDoc, item.Record.Request.Actor.DID)
		}
	}
	require.Equal(t, 1, notify, "exactly the break-glass access is flagged for notification")
}

func TestReevaluateDetectsAFalseRecord(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, nil)
	w.submitGrant(active(Deny))
	req := w.request()
	// A recorder claims a permit the consents never gave.
	rec := AccessRecord{Request: req, Decision: Decision{Effect: Permit, Allowed: true, Reason: ReasonConsent}, ConsentState: w.size()}
	body, err := rec.MarshalBinary()
	require.NoError(t, err)
	e, err := w.reg.entry(ctx, KindAccessDecided, patient, "", req.Time, body)
	require.NoError(t, err)
	require.NoError(t, w.ehr.SignEntry(e))
	rcpt, err := w.log.Append(ctx, e)
	require.NoError(t, err)
	re, err := w.reg.Reevaluate(ctx, rcpt.Index)
	require.ErrorIs(t, err, ErrDecisionMismatch)
	require.False(t, re.Recomputed.Allowed)

	// An access entry signed by someone else than its writer is refused.
	e.Time = w.tick()
	w.patient.sign(t, e)
	rcpt, err = w.log.Append(ctx, e)
	require.NoError(t, err)
	_, err = w.reg.Reevaluate(ctx, rcpt.Index)
	require.ErrorIs(t, err, ErrRecorderSignature)
}

// failingLog fails every append.
type failingLog struct{ Log }

func (failingLog) Append(context.Context, *ledger.Entry) (*ledger.Receipt, error) {
	return nil, ledger.ErrPushback
}

func TestBreakGlassFailsClosedWithoutAudit(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, nil)
	w.submitGrant(active(Deny))
	cfg := w.cfg
	cfg.Log = failingLog{w.log}
	reg, err := NewRegistry(cfg)
	require.NoError(t, err)
	req := w.request()
	asERDoc(PurposeBreakTheGlass)(&req)
	a, err := reg.Authorize(ctx, &req)
	require.ErrorIs(t, err, ErrAuditRequired)
	require.ErrorIs(t, err, ledger.ErrPushback)
	require.False(t, a.Decision.Allowed, "no audit entry, no access")

	bad := w.request()
	bad.Purpose = 0
	a, err = w.reg.Authorize(ctx, &bad)
	require.ErrorIs(t, err, ErrMissingPurpose)
	require.False(t, a.Decision.Allowed)
	require.False(t, errors.Is(err, ErrAuditRequired))
}

func TestRegistryDecideDoesNotAllocate(t *testing.T) {
	w := newWorld(t, nil)
	w.submitGrant(careTeamOnly(Provision{Labels: []Label{LabelPsychiatry}}))
	req := w.request()
	var d Decision
	require.NoError(t, w.reg.DecideInto(&req, &d))
	require.True(t, d.Allowed)
	allocs := testing.AllocsPerRun(100, func() { _ = w.reg.DecideInto(&req, &d) })
	require.Zero(t, allocs)
}

// TestReplayFollowsLedgerOrder: grants and revocations take effect in the
// order the ledger integrated them, whatever times their writers claim,
// except that a grant never undoes a revocation of the same consent that
// it claims to predate.
func TestReplayFollowsLedgerOrder(t *testing.T) {
	ctx := context.Background()
	activeIDs := func(t *testing.T, w *world) (live, replayed []ID) {
		require.NoError(t, w.reg.Sync(ctx, patient))
		live, _, err := w.reg.Active(ctx, patient)
		require.NoError(t, err)
		fresh, err := NewRegistry(w.cfg)
		require.NoError(t, err)
		replayed, _, err = fresh.Active(ctx, patient)
		require.NoError(t, err)
		return live, replayed
	}

	t.Run("a revocation integrated after its grant applies, though dated before it", func(t *testing.T) {
		w := newWorld(t, nil)
		now := w.now
		// One of the patient's devices runs two minutes ahead of another.
		id := w.submitGrantAt(active(Permit), now.Add(2*time.Minute))
		w.submitRevocation(id, now.Add(time.Minute))
		live, replayed := activeIDs(t, w)
		require.Empty(t, live)
		require.Empty(t, replayed)
	})

	t.Run("a grant integrated after another applies, though dated before it", func(t *testing.T) {
		w := newWorld(t, nil)
		now := w.now
		first := w.submitGrantAt(active(Permit), now.Add(2*time.Minute))
		second := w.submitGrantAt(active(Deny), now.Add(time.Minute))
		live, replayed := activeIDs(t, w)
		require.Equal(t, []ID{first, second}, live)
		require.Equal(t, live, replayed)
	})

	t.Run("a grant dated before the revocation of its consent does not resurrect it", func(t *testing.T) {
		w := newWorld(t, nil)
		granted := w.now
		id := w.submitGrantAt(active(Permit), granted)
		revoked := w.tick()
		w.submitRevocation(id, revoked)
		for _, at := range []time.Time{granted, revoked.Add(-time.Second), revoked} {
			e, err := w.reg.GrantEntry(ctx, ptr(active(Permit)), at)
			require.NoError(t, err)
			w.patient.sign(t, e)
			_, err = w.reg.Submit(ctx, e)
			require.ErrorIs(t, err, ErrOutOfOrder)
			// Appended behind the registry's back, it is skipped on replay.
			_, err = w.log.Append(ctx, e)
			require.NoError(t, err)
		}
		live, replayed := activeIDs(t, w)
		require.Empty(t, live)
		require.Empty(t, replayed)

		// Granting the same consent again, after the revocation, is allowed.
		require.Equal(t, id, w.submitGrantAt(active(Permit), w.tick()))
		live, replayed = activeIDs(t, w)
		require.Equal(t, []ID{id}, live)
		require.Equal(t, live, replayed)
	})
}
