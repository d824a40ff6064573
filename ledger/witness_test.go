package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
)

// witnessRig is a log (signed with one key) and a witness of it.
type witnessRig struct {
	signer  *ledger.Signer
	logKey  string
	cosign  *ledger.Cosigner
	witness *ledger.Witness
	stored  map[string][]byte
}

func newWitnessRig(t *testing.T) *witnessRig {
	skey, vkey, err := ledger.GenerateKey(testOrigin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	wskey, _, err := ledger.GenerateCosignerKey("witness.hospital-a.example")
	require.NoError(t, err)
	cs, err := ledger.NewCosigner(wskey)
	require.NoError(t, err)
	r := &witnessRig{signer: signer, logKey: vkey, cosign: cs, stored: map[string][]byte{}}
	r.witness = r.newWitness(t, nil)
	return r
}

func (r *witnessRig) newWitness(t *testing.T, latest []byte) *ledger.Witness {
	w, err := ledger.NewWitness(ledger.WitnessConfig{
		Cosigner: r.cosign,
		Logs:     []ledger.WitnessedLog{{Origin: testOrigin, LogKey: r.logKey, Latest: latest}},
		Persist:  func(origin string, signed []byte) error { r.stored[origin] = signed; return nil },
		Now:      func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) },
	})
	require.NoError(t, err)
	return w
}

// newLog opens a fresh log signed with the rig's key and appends n entries
// starting at entry number first.
func (r *witnessRig) newLog(t *testing.T) *ledger.Log {
	l, err := ledger.Open(context.Background(), ledger.Config{Store: memstore.New(), Signer: r.signer, Origin: testOrigin, Now: testNow})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func appendN(t *testing.T, l *ledger.Log, first, n int) []byte {
	var cp []byte
	for i := first; i < first+n; i++ {
		r, err := l.Append(context.Background(), testEntry(i))
		require.NoError(t, err)
		cp = r.Checkpoint
	}
	return cp
}

func TestWitnessCosignsOnlyConsistentCheckpoints(t *testing.T) {
	ctx := context.Background()
	r := newWitnessRig(t)
	l := r.newLog(t)
	cp5 := appendN(t, l, 0, 5)

	// First sight: no proof, old size 0.
	line, err := r.witness.AddCheckpoint(0, nil, cp5)
	require.NoError(t, err)
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: r.logKey, Witnesses: []string{r.cosign.VerifierKey()}, WitnessThreshold: 1})
	require.NoError(t, err)
	_, err = v.VerifyCheckpoint(cp5)
	require.ErrorIs(t, err, ledger.ErrBadSignature, "without the cosignature the quorum is not met")
	_, err = v.VerifyCheckpoint(append(append([]byte(nil), cp5...), line...))
	require.NoError(t, err, "the witness's line makes the quorum")
	require.Equal(t, cp5, r.stored[testOrigin], "persisted before cosigning")

	// Growth with a valid consistency proof.
	cp9 := appendN(t, l, 5, 4)
	p, err := l.ConsistencyProof(ctx, 5, 9)
	require.NoError(t, err)
	_, err = r.witness.AddCheckpoint(9, p, cp9)
	var conflict *ledger.WitnessConflictError
	require.ErrorAs(t, err, &conflict)
	require.EqualValues(t, 5, conflict.Latest)
	require.ErrorIs(t, err, ledger.ErrStaleCheckpoint)
	_, err = r.witness.AddCheckpoint(5, p, cp9)
	require.NoError(t, err)
	require.Equal(t, cp9, r.witness.Latest(testOrigin))

	// A fork: the same key signs another history of a larger size.
	fork := r.newLog(t)
	cpFork := appendN(t, fork, 100, 12)
	pf, err := fork.ConsistencyProof(ctx, 9, 12)
	require.NoError(t, err)
	_, err = r.witness.AddCheckpoint(9, pf, cpFork)
	var inc *ledger.InconsistencyError
	require.ErrorAs(t, err, &inc)
	require.Equal(t, cp9, inc.Trusted)
	require.Equal(t, cpFork, inc.Candidate)
	require.Equal(t, cp9, r.witness.Latest(testOrigin), "a refused checkpoint changes nothing")

	// A fork of the same size: a different root, no proof can help.
	sameSize := r.newLog(t)
	cpSame := appendN(t, sameSize, 200, 9)
	_, err = r.witness.AddCheckpoint(9, nil, cpSame)
	require.ErrorAs(t, err, &inc)

	// Rollback: an older checkpoint of the real log.
	_, err = r.witness.AddCheckpoint(9, nil, cp5)
	require.ErrorIs(t, err, ledger.ErrStaleCheckpoint)

	// The same checkpoint again is fine (idempotent).
	_, err = r.witness.AddCheckpoint(9, nil, cp9)
	require.NoError(t, err)
}

func TestWitnessRefusesBadInput(t *testing.T) {
	r := newWitnessRig(t)
	l := r.newLog(t)
	cp := appendN(t, l, 0, 3)

	forged := append([]byte(nil), cp...)
	// A byte of the log's signature line (the first after the body; the
	// last line is the log's timestamp).
	sigEnd := bytes.Index(forged, []byte("\n\n")) + 2
	sigEnd += bytes.IndexByte(forged[sigEnd:], '\n')
	forged[sigEnd-5] ^= 1
	_, err := r.witness.AddCheckpoint(0, nil, forged)
	require.ErrorIs(t, err, ledger.ErrBadSignature)

	other := newWitnessRig(t) // another log key, same origin
	ol := other.newLog(t)
	_, err = r.witness.AddCheckpoint(0, nil, appendN(t, ol, 0, 3))
	require.ErrorIs(t, err, ledger.ErrBadSignature)

	_, err = r.witness.AddCheckpoint(0, nil, []byte("elsewhere.example/log\n3\nAAAA\n\n"))
	require.ErrorIs(t, err, ledger.ErrUnknownLog)
	_, err = r.witness.AddCheckpoint(0, nil, []byte("no newline"))
	require.ErrorIs(t, err, ledger.ErrMalformed)

	failing, err := ledger.NewWitness(ledger.WitnessConfig{
		Cosigner: r.cosign,
		Logs:     []ledger.WitnessedLog{{Origin: testOrigin, LogKey: r.logKey}},
		Persist:  func(string, []byte) error { return errors.New("disk full") },
	})
	require.NoError(t, err)
	_, err = failing.AddCheckpoint(0, nil, cp)
	require.Error(t, err)
	require.Nil(t, failing.Latest(testOrigin), "nothing cosigned, nothing remembered")
}

// TestWitnessRestartsFromPersistedState shows that a restarted witness keeps
// refusing what it refused before: it resumes from the persisted checkpoint.
func TestWitnessRestartsFromPersistedState(t *testing.T) {
	ctx := context.Background()
	r := newWitnessRig(t)
	l := r.newLog(t)
	cp4 := appendN(t, l, 0, 4)
	_, err := r.witness.AddCheckpoint(0, nil, cp4)
	require.NoError(t, err)

	restarted := r.newWitness(t, r.stored[testOrigin])
	_, err = restarted.AddCheckpoint(0, nil, cp4)
	var conflict *ledger.WitnessConflictError
	require.ErrorAs(t, err, &conflict)
	require.EqualValues(t, 4, conflict.Latest)
	cp6 := appendN(t, l, 4, 2)
	p, err := l.ConsistencyProof(ctx, 4, 6)
	require.NoError(t, err)
	_, err = restarted.AddCheckpoint(4, p, cp6)
	require.NoError(t, err)

	_, err = ledger.NewWitness(ledger.WitnessConfig{
		Cosigner: r.cosign,
		Logs:     []ledger.WitnessedLog{{Origin: testOrigin, LogKey: r.logKey, Latest: []byte("garbage")}},
	})
	require.Error(t, err, "a corrupt persisted state is refused, not ignored")
}
