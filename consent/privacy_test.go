package consent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/healthledger/healthledger/privacy"
	"github.com/stretchr/testify/require"
)

// A Registry seals bodies and keys tags unless a visibly insecure option
// says otherwise.
func TestRegistryRequiresSealingAndKeyedTags(t *testing.T) {
	w := newWorld(t, newVault(t))
	for name, cfg := range map[string]RegistryConfig{
		"no sealer":          {Log: w.log, Checker: w.keys, Tagger: newTagger(t)},
		"no tagger":          {Log: w.log, Checker: w.keys, Sealer: newVault(t)},
		"sealer and opt-out": {Log: w.log, Checker: w.keys, Sealer: newVault(t), InsecureClearBodies: true, Tagger: newTagger(t)},
		"tagger and opt-out": {Log: w.log, Checker: w.keys, Sealer: newVault(t), Tagger: newTagger(t), InsecurePublicTags: true},
	} {
		_, err := NewRegistry(cfg)
		require.ErrorIs(t, err, ErrInvalidConfig, name)
	}
}

// With the default configuration the log holds neither the consent's nor
// the access record's details, nor a tag anyone could derive from the DID
// (only the patient's own grants name the patient, as their writer);
// erasing the patient's key makes their bodies unreadable and their
// consents no longer count.
func TestSealedBodiesKeepDetailsOffTheLog(t *testing.T) {
	ctx := context.Background()
	vault := newVault(t)
	w := newWorld(t, vault)
	w.submitGrant(careTeamOnly())
	req := w.request()
	a, err := w.reg.Authorize(ctx, &req)
	require.NoError(t, err)
	require.True(t, a.Decision.Allowed)

	tag, err := w.reg.SubjectTag(patient)
	require.NoError(t, err)
	require.NotEqual(t, DefaultSubjectTag(patient), tag, "the tag is keyed")
	secrets := []string{patient, cardioTeam, req.Actor.DID, req.Resource.ID}
	for i := uint64(0); i < w.size(); i++ {
		leaf, err := w.log.Leaf(ctx, i)
		require.NoError(t, err)
		e, err := w.log.Entry(ctx, i)
		require.NoError(t, err)
		if e.Writer == patient {
			// A grant the patient signed names its writer, so that anyone
			// can check the signature; a deployment that must keep even that
			// off the log gives patients a DID of their own for it (see the
			// package doc, "Privacy"). Everything else must not show.
			leaf = bytes.Replace(leaf, []byte(patient), nil, 1)
		}
		for _, s := range secrets {
			for _, form := range []string{s, hex.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s))} {
				require.False(t, bytes.Contains(leaf, []byte(form)), "leaf %d holds %q", i, s)
			}
		}
		require.False(t, bytes.Contains(leaf, func() []byte { p := DefaultSubjectTag(patient); return p[:] }()), "leaf %d holds the public tag", i)
	}

	// Moving a sealed body into another entry (another time) fails.
	e, err := w.log.Entry(ctx, a.Receipt.Index)
	require.NoError(t, err)
	moved := *e
	moved.Time = moved.Time.Add(1)
	_, err = w.reg.open(ctx, &moved)
	require.ErrorIs(t, err, privacy.ErrNotAuthentic)

	// Erasure: the patient's bodies no longer open, so no consent of theirs
	// counts (the evaluator falls back to the no-consent default: deny).
	require.NoError(t, vault.EraseSubject(ctx, tag))
	_, err = w.reg.open(ctx, e)
	require.ErrorIs(t, err, privacy.ErrErased)
	fresh, err := NewRegistry(w.cfg)
	require.NoError(t, err)
	ids, _, err := fresh.Active(ctx, patient)
	require.NoError(t, err)
	require.Empty(t, ids)
}
