package consent

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
)

// erase has the EHR erase the payloads of the patient's entries below
// before, on the real ledger, and returns the erasure's receipt.
func (w *world) erase(before uint64) *ledger.Receipt {
	rc, err := w.log.Erase(context.Background(), w.erasureEntry(before))
	require.NoError(w.t, err)
	return rc
}

// erasureEntry returns the erasure entry, signed by the EHR, of the
// payloads of the patient's entries below before.
func (w *world) erasureEntry(before uint64) *ledger.Entry {
	tag, err := w.reg.SubjectTag(patient)
	require.NoError(w.t, err)
	ex, err := ledger.NewErasureEntry(tag, before, "GDPR Art. 17(1)(a)", w.ehr.did, w.tick())
	require.NoError(w.t, err)
	require.NoError(w.t, w.ehr.SignEntry(ex))
	return ex
}

// TestErasedGrantNoLongerCounts: after an erasure of the patient's grant,
// a Registry that had loaded it (Sync), a fresh one (replay) and an
// auditor (Reevaluate) all stop relying on it, and none of them fails.
func TestErasedGrantNoLongerCounts(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, newVault(t))
	w.submitGrant(careTeamOnly())
	req := w.request()
	a, err := w.reg.Authorize(ctx, &req)
	require.NoError(t, err)
	require.True(t, a.Decision.Allowed)

	erasure := w.erase(a.Receipt.Index) // the grant only

	t.Run("a loaded registry drops the grant on Sync", func(t *testing.T) {
		require.NoError(t, w.reg.Sync(ctx, patient))
		d, err := w.reg.Decide(&req)
		require.NoError(t, err)
		require.False(t, d.Allowed, "an erased grant no longer permits")
		require.Equal(t, ReasonNoConsentDefault, d.Reason)
		ids, _, err := w.reg.Active(ctx, patient)
		require.NoError(t, err)
		require.Empty(t, ids)
	})
	t.Run("a fresh registry replays without failing", func(t *testing.T) {
		fresh, err := NewRegistry(w.cfg)
		require.NoError(t, err)
		ids, _, err := fresh.Active(ctx, patient)
		require.NoError(t, err)
		require.Empty(t, ids)
		ev, err := fresh.Replay(ctx, patient, w.size())
		require.NoError(t, err)
		d, err := ev.Decide(&req)
		require.NoError(t, err)
		require.False(t, d.Allowed)
	})
	t.Run("a decision under an erased grant is not re-evaluated", func(t *testing.T) {
		re, err := w.reg.Reevaluate(ctx, a.Receipt.Index)
		require.ErrorIs(t, err, ErrConsentErased)
		require.NotErrorIs(t, err, ErrDecisionMismatch, "the recorder is not accused")
		var ee *ledger.ErasedError
		require.ErrorAs(t, err, &ee)
		require.Equal(t, uint64(0), ee.Index)
		require.Equal(t, erasure.Index, ee.ErasedBy)
		require.NotNil(t, re)
		require.True(t, re.Record.Decision.Allowed, "the record itself is still readable")
	})
	t.Run("history lists the grant as erased", func(t *testing.T) {
		h, err := w.reg.History(ctx, patient)
		require.NoError(t, err)
		require.Len(t, h, 1)
		require.NotNil(t, h[0].Erased)
		require.Equal(t, KindConsentGranted, h[0].Kind)
		require.Equal(t, patient, h[0].Writer)
		require.Nil(t, h[0].Granted)
		require.Equal(t, erasure.Index, h[0].Erased.ErasedBy)
		require.Equal(t, erasure.Index, h[0].Erased.Erasure.Index)
		require.Equal(t, uint64(0), h[0].Receipt.Index)
	})
	t.Run("a new grant after the erasure counts", func(t *testing.T) {
		w.submitGrant(careTeamOnly())
		req := w.request()
		a, err := w.reg.Authorize(ctx, &req)
		require.NoError(t, err)
		require.True(t, a.Decision.Allowed)
		_, err = w.reg.Reevaluate(ctx, a.Receipt.Index)
		require.NoError(t, err, "its consent state holds no erased grant that counted")
	})
}

// TestAccessReportAfterErasure: erasing the patient's access records
// leaves the access report working, each erased record listed as such with
// the erasure's receipt.
func TestAccessReportAfterErasure(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, newVault(t))
	w.submitGrant(careTeamOnly())
	req := w.request()
	a, err := w.reg.Authorize(ctx, &req)
	require.NoError(t, err)
	firstTime := req.Time
	erasure := w.erase(w.size())
	require.NoError(t, w.reg.Sync(ctx, patient))
	req = w.request()
	b, err := w.reg.Authorize(ctx, &req) // after the erasure: denied, still recorded
	require.NoError(t, err)
	require.False(t, b.Decision.Allowed)

	rep, err := w.reg.AccessReport(ctx, patient)
	require.NoError(t, err)
	require.Len(t, rep, 2)
	er := rep[0]
	require.Equal(t, a.Receipt.Index, er.Index)
	require.Nil(t, er.Record)
	require.NotNil(t, er.Erased)
	require.Equal(t, KindAccessDecided, er.Erased.Kind)
	require.Equal(t, w.ehr.did, er.Recorder)
	require.True(t, a.Receipt.Index < erasure.Index)
	require.Equal(t, firstTime, er.Erased.Time)
	require.Equal(t, erasure.Index, er.Erased.ErasedBy)
	require.Equal(t, er.Index, er.Receipt.Index)

	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: w.vkey})
	require.NoError(t, err)
	leaf, err := v.VerifyReceipt(er.Receipt)
	require.NoError(t, err, "the erased entry's receipt verifies")
	ex, err := v.VerifyReceipt(er.Erased.Erasure)
	require.NoError(t, err, "the erasure's receipt verifies")
	x, err := ledger.ParseErasure(ex)
	require.NoError(t, err)
	require.True(t, x.Covers(ex, leaf, er.Index))

	require.NotNil(t, rep[1].Record)
	require.Nil(t, rep[1].Erased)
	require.Equal(t, b.Receipt.Index, rep[1].Index)
}

// TestHistoryKeepsARevocationOfAnErasedGrant: a revocation left readable
// by an erasure of the grant it revoked is still listed (not applied).
func TestHistoryKeepsARevocationOfAnErasedGrant(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, newVault(t))
	id := w.submitGrant(careTeamOnly())
	w.submitRevocation(id, w.tick())
	w.erase(1) // the grant only
	h, err := w.reg.History(ctx, patient)
	require.NoError(t, err)
	require.Len(t, h, 2)
	require.NotNil(t, h[0].Erased)
	require.Equal(t, KindConsentRevoked, h[1].Kind)
	require.True(t, h[1].RevokesErased)
	require.Equal(t, id, h[1].Consent)
	require.Nil(t, h[1].Erased)
}

// failingEraser is a ledger store whose ErasePayloads fails while fail is
// set: Log.Erase then has appended the erasure and deleted nothing, as a
// crash between the two would leave it.
type failingEraser struct {
	ledger.Store
	fail atomic.Bool
}

var errEraseFailed = errors.New("test: ErasePayloads failed")

func (s *failingEraser) ErasePayloads(ctx context.Context, indices []uint64, erasedBy uint64) error {
	if s.fail.Load() {
		return errEraseFailed
	}
	return s.Store.ErasePayloads(ctx, indices, erasedBy)
}

// TestSyncDuringAnErasure: a registry that scans between Log.Erase's
// append of the erasure and its deletion of the payloads (a store whose
// deletion fails, as a crash in between would leave it; Log.Append refuses
// erasure entries) keeps the grant, whose payload is still there, and
// drops it on the Sync after Log.Erase, called again, deleted it.
func TestSyncDuringAnErasure(t *testing.T) {
	ctx := context.Background()
	st := &failingEraser{Store: memstore.New()}
	w := newWorldOn(t, nil, st)
	w.submitGrant(careTeamOnly())
	req := w.request()
	ex := w.erasureEntry(w.size())
	st.fail.Store(true)
	rc, err := w.log.Erase(ctx, ex) // recorded, nothing deleted yet
	require.ErrorIs(t, err, errEraseFailed)
	require.NotNil(t, rc)
	require.NoError(t, w.reg.Sync(ctx, patient))
	d, err := w.reg.Decide(&req)
	require.NoError(t, err)
	require.True(t, d.Allowed, "the payloads are still there")

	st.fail.Store(false)
	_, err = w.log.Erase(ctx, ex) // now deleted
	require.NoError(t, err)
	require.NoError(t, w.reg.Sync(ctx, patient))
	d, err = w.reg.Decide(&req)
	require.NoError(t, err)
	require.False(t, d.Allowed, "the grant is gone once its payload is")
}
