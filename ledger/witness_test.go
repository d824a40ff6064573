package ledger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/merkle"
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
	otherBase64Char(forged, sigEnd-5) // the line still parses
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

// A byte-identical resubmission of the witness's latest checkpoint is not a
// fork: it is cosigned again, before and after a restart, and so is the
// same tree re-signed with a new time (a restarted Trillian store).
func TestWitnessCosignsItsLatestCheckpointAgain(t *testing.T) {
	r := newWitnessRig(t)
	l := r.newLog(t)
	cp := appendN(t, l, 0, 4)
	first, err := r.witness.AddCheckpoint(0, nil, cp)
	require.NoError(t, err)
	again, err := r.witness.AddCheckpoint(4, nil, cp)
	require.NoError(t, err, "the same checkpoint again")
	require.Equal(t, first, again)
	restarted := r.newWitness(t, r.stored[testOrigin])
	_, err = restarted.AddCheckpoint(4, nil, cp)
	require.NoError(t, err, "the same checkpoint after a restart")

	c, err := ledger.ParseSignedCheckpoint(cp)
	require.NoError(t, err)
	resigned, err := ledger.SignCheckpoint(r.signer, c, testNow().Add(time.Hour))
	require.NoError(t, err)
	require.NotEqual(t, cp, resigned)
	_, err = restarted.AddCheckpoint(4, nil, resigned)
	require.NoError(t, err, "the same tree, signed again at another time")

	_, err = restarted.AddCheckpoint(4, []merkle.Hash{{1}}, cp)
	require.ErrorIs(t, err, ledger.ErrInvalidProof, "a same-size request carries no proof")
}

// One witness key listed under two names is one witness: it cannot make a
// quorum of two by cosigning under both names.
func TestWitnessKeyUnderTwoNamesCountsOnce(t *testing.T) {
	r := newWitnessRig(t)
	l := r.newLog(t)
	cp := appendN(t, l, 0, 3)
	skey, _, err := ledger.GenerateCosignerKey("witness-a.example")
	require.NoError(t, err)
	a, err := ledger.NewCosigner(skey)
	require.NoError(t, err)
	// The same seed under another name: rewrite the key's name and ID.
	b := renamedCosigner(t, skey, "witness-b.example")
	require.NotEqual(t, a.VerifierKey(), b.VerifierKey())
	signed, err := a.Cosign(cp, testNow())
	require.NoError(t, err)
	signed, err = b.Cosign(signed, testNow())
	require.NoError(t, err)

	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: r.logKey,
		Witnesses: []string{a.VerifierKey(), b.VerifierKey()}, WitnessThreshold: 2})
	if err != nil {
		require.ErrorIs(t, err, ledger.ErrMalformed, "refused as a duplicate witness")
		return
	}
	_, err = v.VerifyCheckpoint(signed)
	var qe *ledger.QuorumError
	require.ErrorAs(t, err, &qe, "two names of one key are one cosignature")
	require.Equal(t, 1, qe.Valid)
}

// renamedCosigner returns a cosigner with the seed of skey (a cosigner
// key) under another name.
func renamedCosigner(t *testing.T, skey, name string) *ledger.Cosigner {
	t.Helper()
	parts := strings.SplitN(strings.TrimPrefix(skey, "PRIVATE+KEY+"), "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	h := sha256.Sum256(append([]byte(name+"\n\x04"), pub...))
	c, err := ledger.NewCosigner(fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, binary.BigEndian.Uint32(h[:4]), parts[2]))
	require.NoError(t, err)
	return c
}
