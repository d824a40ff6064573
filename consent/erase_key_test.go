package consent

import (
	"context"
	"errors"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
)

// Destroying a loaded patient's key through the Vault alone leaves the
// Registry deciding from the consents it had opened, even after Sync;
// EraseKey destroys it and updates the patient, so that the very next
// decision denies, as a fresh Registry's does.
func TestEraseKeyDeniesAtOnce(t *testing.T) {
	ctx := context.Background()
	vault := newVault(t)
	w := newWorld(t, vault)
	w.submitGrant(careTeamOnly())
	req := w.request()
	var d Decision
	require.NoError(t, w.reg.Sync(ctx, patient))
	require.NoError(t, w.reg.DecideInto(&req, &d))
	require.True(t, d.Allowed)

	// The limitation EraseKey closes: the Vault alone.
	tag, err := w.reg.SubjectTag(patient)
	require.NoError(t, err)
	require.NoError(t, vault.EraseSubject(ctx, tag))
	require.NoError(t, w.reg.Sync(ctx, patient))
	require.NoError(t, w.reg.DecideInto(&req, &d))
	require.True(t, d.Allowed, "if this fails, the cached state is no longer a limitation: update EraseKey's doc")

	require.NoError(t, w.reg.EraseKey(ctx, patient))
	require.NoError(t, w.reg.DecideInto(&req, &d))
	require.False(t, d.Allowed, "a consent sealed under an erased key still permits")
	fresh, err := NewRegistry(w.cfg)
	require.NoError(t, err)
	require.NoError(t, fresh.Sync(ctx, patient))
	var fd Decision
	require.NoError(t, fresh.DecideInto(&req, &fd))
	require.Equal(t, fd.Allowed, d.Allowed)
	ids, _, err := w.reg.Active(ctx, patient)
	require.NoError(t, err)
	require.Empty(t, ids)
}

// A patient never loaded is simply not replayed: the first load finds the
// key gone. Erasing twice is harmless.
func TestEraseKeyOfAnUnloadedPatient(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, newVault(t))
	w.submitGrant(careTeamOnly())
	reg, err := NewRegistry(w.cfg)
	require.NoError(t, err)
	require.NoError(t, reg.EraseKey(ctx, patient))
	require.NoError(t, reg.EraseKey(ctx, patient))
	req := w.request()
	var d Decision
	require.ErrorIs(t, reg.DecideInto(&req, &d), ErrNotLoaded)
	require.NoError(t, reg.Sync(ctx, patient))
	require.NoError(t, reg.DecideInto(&req, &d))
	require.False(t, d.Allowed)
}

// failingKeyEraser is a Sealer whose key erasure fails.
type failingKeyEraser struct{ Sealer }

var errKeyEraseFailed = errors.New("test: key erasure failed")

func (failingKeyEraser) EraseSubject(context.Context, ledger.SubjectTag) error {
	return errKeyEraseFailed
}

// Without a Sealer that erases, EraseKey refuses; a failed erasure changes
// nothing in the Registry.
func TestEraseKeyRefusals(t *testing.T) {
	ctx := context.Background()
	clear := newWorld(t, nil)
	require.ErrorIs(t, clear.reg.EraseKey(ctx, patient), ErrInvalidConfig)

	w := newWorld(t, newVault(t))
	w.submitGrant(careTeamOnly())
	cfg := w.cfg
	cfg.Sealer = failingKeyEraser{w.cfg.Sealer}
	reg, err := NewRegistry(cfg)
	require.NoError(t, err)
	require.NoError(t, reg.Sync(ctx, patient))
	require.ErrorIs(t, reg.EraseKey(ctx, patient), errKeyEraseFailed)
	req := w.request()
	var d Decision
	require.NoError(t, reg.DecideInto(&req, &d))
	require.True(t, d.Allowed)
}
