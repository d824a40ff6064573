package consent

import (
	"context"
	"sync"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
)

// TestRegistryEraseDeniesAtOnce: after Registry.Erase of the patient's
// grant, Authorize denies with no Sync in between; after ledger.Log.Erase
// alone, the loaded Registry still permits until its next Sync (the
// documented behaviour Registry.Erase exists to avoid).
func TestRegistryEraseDeniesAtOnce(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "clear", true: "sealed"}[sealed], func(t *testing.T) {
			ctx := context.Background()
			var w *world
			if sealed {
				w = newWorld(t, newVault(t))
			} else {
				w = newWorld(t, nil)
			}
			w.submitGrant(careTeamOnly())
			req := w.request()
			a, err := w.reg.Authorize(ctx, &req)
			require.NoError(t, err)
			require.True(t, a.Decision.Allowed)

			rc, err := w.reg.Erase(ctx, patient, w.erasureEntry(w.size()))
			require.NoError(t, err)
			require.False(t, rc.Existed)
			req = w.request()
			a, err = w.reg.Authorize(ctx, &req)
			require.NoError(t, err)
			require.False(t, a.Decision.Allowed, "an erased grant no longer permits, without a Sync")
			require.Equal(t, ReasonNoConsentDefault, a.Decision.Reason)
			d, err := w.reg.Decide(&req)
			require.NoError(t, err)
			require.False(t, d.Allowed)
			ids, _, err := w.reg.Active(ctx, patient)
			require.NoError(t, err)
			require.Empty(t, ids)

			// A grant submitted after the erasure counts again.
			w.submitGrant(careTeamOnly())
			req = w.request()
			a, err = w.reg.Authorize(ctx, &req)
			require.NoError(t, err)
			require.True(t, a.Decision.Allowed)
		})
	}
}

// TestLogEraseAloneLeavesTheRegistryStale pins the limitation
// Registry.Erase closes: Log.Erase alone is not seen before a Sync.
func TestLogEraseAloneLeavesTheRegistryStale(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, nil)
	w.submitGrant(careTeamOnly())
	req := w.request()
	_, err := w.reg.Authorize(ctx, &req)
	require.NoError(t, err)
	w.erase(w.size())
	d, err := w.reg.Decide(&req)
	require.NoError(t, err)
	require.True(t, d.Allowed, "decided from the cached state")
	require.NoError(t, w.reg.Sync(ctx, patient))
	d, err = w.reg.Decide(&req)
	require.NoError(t, err)
	require.False(t, d.Allowed)
}

// TestRegistryEraseOfAnUnloadedPatient: a patient the Registry never
// loaded is replayed, on first use, from the ledger after the erasure.
func TestRegistryEraseOfAnUnloadedPatient(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, nil)
	w.submitGrant(careTeamOnly())
	fresh, err := NewRegistry(w.cfg)
	require.NoError(t, err)
	_, err = fresh.Erase(ctx, patient, w.erasureEntry(w.size()))
	require.NoError(t, err)
	req := w.request()
	_, err = fresh.Decide(&req)
	require.ErrorIs(t, err, ErrNotLoaded)
	a, err := fresh.Authorize(ctx, &req)
	require.NoError(t, err)
	require.False(t, a.Decision.Allowed)
}

// TestRegistryEraseRetriesAFailedDeletion: if the ledger recorded the
// erasure but did not delete, Registry.Erase fails with the receipt, the
// grant (still readable) keeps counting, and calling Erase again
// completes the erasure and the update.
func TestRegistryEraseRetriesAFailedDeletion(t *testing.T) {
	ctx := context.Background()
	st := &failingEraser{Store: memstore.New()}
	w := newWorldOn(t, nil, st)
	w.submitGrant(careTeamOnly())
	req := w.request()
	_, err := w.reg.Authorize(ctx, &req)
	require.NoError(t, err)
	ex := w.erasureEntry(w.size())

	st.fail.Store(true)
	rc, err := w.reg.Erase(ctx, patient, ex)
	require.ErrorIs(t, err, errEraseFailed)
	require.NotNil(t, rc, "recorded")
	d, err := w.reg.Decide(&req)
	require.NoError(t, err)
	require.True(t, d.Allowed, "nothing was deleted: the grant still counts")

	st.fail.Store(false)
	again, err := w.reg.Erase(ctx, patient, ex)
	require.NoError(t, err)
	require.True(t, again.Existed)
	require.Equal(t, rc.Index, again.Index)
	d, err = w.reg.Decide(&req)
	require.NoError(t, err)
	require.False(t, d.Allowed)
}

// readOnlyLog hides the ledger's Erase.
type readOnlyLog struct{ Log }

// TestRegistryEraseRefuses: an entry that is not an erasure of the
// patient's entries, or a Log that cannot erase, is refused and nothing
// is written or deleted.
func TestRegistryEraseRefuses(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, nil)
	w.submitGrant(careTeamOnly())
	req := w.request()
	_, err := w.reg.Authorize(ctx, &req)
	require.NoError(t, err)
	size := w.size()

	other, err := ledger.NewErasureEntry(DefaultSubjectTag("did:hl:someone-else"), size, "GDPR Art. 17(1)(a)", w.ehr.did, w.tick())
	require.NoError(t, err)
	require.NoError(t, w.ehr.SignEntry(other))
	notErasure := w.grant(careTeamOnly(), w.patient)
	malformed := w.erasureEntry(size)
	malformed.Body = []byte("HLX\x01short")
	for name, e := range map[string]*ledger.Entry{"another subject": other, "not an erasure": notErasure, "malformed": malformed, "nil": nil} {
		rc, err := w.reg.Erase(ctx, patient, e)
		require.ErrorIs(t, err, ErrNotPatientErasure, name)
		require.Nil(t, rc, name)
	}

	cfg := w.cfg
	cfg.Log = readOnlyLog{w.log}
	ro, err := NewRegistry(cfg)
	require.NoError(t, err)
	_, err = ro.Erase(ctx, patient, w.erasureEntry(size))
	require.ErrorIs(t, err, ErrInvalidConfig)

	require.Equal(t, size, w.size(), "nothing written")
	d, err := w.reg.Decide(&req)
	require.NoError(t, err)
	require.True(t, d.Allowed, "nothing erased")
	e, err := w.log.Entry(ctx, 0)
	require.NoError(t, err)
	require.NotNil(t, e.Payload)
}

// TestRegistryEraseWhileDeciding: decisions and Erase run concurrently
// (under -race), and every decision that starts after Erase returned
// denies.
func TestRegistryEraseWhileDeciding(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, nil)
	w.submitGrant(careTeamOnly())
	req := w.request()
	ex := w.erasureEntry(w.size())
	_, err := w.reg.Authorize(ctx, &req)
	require.NoError(t, err)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d Decision
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := req
				_ = w.reg.DecideInto(&r, &d)
				if _, err := w.reg.Authorize(ctx, &r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	_, err = w.reg.Erase(ctx, patient, ex)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	a, err := w.reg.Authorize(ctx, &req)
	require.NoError(t, err)
	require.False(t, a.Decision.Allowed)
}
