package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// cosignRig is a log key, witnesses of it, and switchable failures.
type cosignRig struct {
	signer    *ledger.Signer
	logKey    string
	witnesses []*ledger.Witness
	keys      []string
	down      []atomic.Bool // a down witness fails every call
	calls     []atomic.Int32
	olds      [][]uint64 // the old sizes each witness was sent
	mu        sync.Mutex
}

func newCosignRig(t *testing.T, n int) *cosignRig {
	skey, vkey, err := ledger.GenerateKey(testOrigin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	r := &cosignRig{signer: signer, logKey: vkey, down: make([]atomic.Bool, n), calls: make([]atomic.Int32, n), olds: make([][]uint64, n)}
	for i := range n {
		wskey, wvkey, err := ledger.GenerateCosignerKey(fmt.Sprintf("witness-%d.example", i))
		require.NoError(t, err)
		cs, err := ledger.NewCosigner(wskey)
		require.NoError(t, err)
		w, err := ledger.NewWitness(ledger.WitnessConfig{Cosigner: cs, Logs: []ledger.WitnessedLog{{Origin: testOrigin, LogKey: vkey}}, Now: testNow})
		require.NoError(t, err)
		r.witnesses, r.keys = append(r.witnesses, w), append(r.keys, wvkey)
	}
	return r
}

// rigCosigner is witness i of the rig, reachable unless down.
type rigCosigner struct {
	r *cosignRig
	i int
}

var errWitnessDown = errors.New("witness down")

func (c rigCosigner) AddCheckpoint(ctx context.Context, old uint64, proof []merkle.Hash, signed []byte) ([]byte, error) {
	c.r.calls[c.i].Add(1)
	c.r.mu.Lock()
	c.r.olds[c.i] = append(c.r.olds[c.i], old)
	c.r.mu.Unlock()
	if c.r.down[c.i].Load() {
		return nil, errWitnessDown
	}
	return ledger.NewLocalCosigner(c.r.witnesses[c.i]).AddCheckpoint(ctx, old, proof, signed)
}

func (r *cosignRig) logWitnesses() []ledger.LogWitness {
	var ws []ledger.LogWitness
	for i, k := range r.keys {
		ws = append(ws, ledger.LogWitness{Key: k, Cosigner: rigCosigner{r, i}})
	}
	return ws
}

func (r *cosignRig) open(t *testing.T, st ledger.Store, cfg ledger.Config) *ledger.Log {
	t.Helper()
	cfg.Store, cfg.Signer, cfg.Origin, cfg.Now = st, r.signer, testOrigin, testNow
	if cfg.Witnesses == nil {
		cfg.Witnesses = r.logWitnesses()
	}
	l, err := ledger.Open(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func (r *cosignRig) verifier(t *testing.T, threshold int) *ledger.Verifier {
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: r.logKey, Witnesses: r.keys, WitnessThreshold: threshold})
	require.NoError(t, err)
	return v
}

func TestLogReceiptsCarryWitnessCosignatures(t *testing.T) {
	ctx := context.Background()
	r := newCosignRig(t, 3)
	l := r.open(t, memstore.New(), ledger.Config{})
	all := r.verifier(t, 3)
	for i := range 10 {
		rc, err := l.Append(ctx, testEntry(i))
		require.NoError(t, err)
		_, err = all.VerifyReceipt(rc)
		require.NoError(t, err, "receipt %d", i)
		cp, err := l.Checkpoint(ctx)
		require.NoError(t, err)
		require.Equal(t, rc.Checkpoint, cp, "Log.Checkpoint serves the cosigned checkpoint")
		require.NoError(t, all.Advance(cp, mustConsistency(t, l, all, cp)))
	}
	// Every witness was asked from the size it last cosigned.
	for i := range r.witnesses {
		require.Equal(t, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, r.olds[i], "witness %d", i)
		require.NotNil(t, r.witnesses[i].Latest(testOrigin))
	}
	rc, err := l.Receipt(ctx, 3)
	require.NoError(t, err)
	_, err = all.VerifyReceipt(rc)
	require.NoError(t, err)
}

func mustConsistency(t *testing.T, l *ledger.Log, v *ledger.Verifier, cp []byte) []merkle.Hash {
	old, ok := v.TrustedCheckpoint()
	if !ok {
		return nil
	}
	c, err := ledger.ParseSignedCheckpoint(cp)
	require.NoError(t, err)
	if c.Size == old.Size {
		return nil
	}
	p, err := l.ConsistencyProof(context.Background(), old.Size, c.Size)
	require.NoError(t, err)
	return p
}

// TestLogWithoutQuorumWithholdsReceipts: below the quorum, appends fail
// with a *WitnessQuorumError, the entries stay stored, and a retry returns
// them once the witnesses are back.
func TestLogWithoutQuorumWithholdsReceipts(t *testing.T) {
	ctx := context.Background()
	r := newCosignRig(t, 3)
	st := memstore.New()
	l := r.open(t, st, ledger.Config{WitnessThreshold: 2, WitnessTimeout: time.Second})
	first, err := l.Append(ctx, testEntry(0))
	require.NoError(t, err)

	r.down[1].Store(true)
	r.down[2].Store(true)
	_, err = l.Append(ctx, testEntry(1))
	var qe *ledger.WitnessQuorumError
	require.ErrorAs(t, err, &qe)
	require.ErrorIs(t, err, ledger.ErrWitnessQuorum)
	require.Equal(t, 1, qe.Cosigned)
	require.Equal(t, 2, qe.Required)
	require.Len(t, qe.Failures, 2)
	require.ErrorIs(t, qe.Failures[0].Err, errWitnessDown)
	require.Equal(t, uint64(2), storeSize(t, st), "the entry is stored")
	_, err = l.Receipt(ctx, 1)
	require.ErrorIs(t, err, ledger.ErrWitnessQuorum)
	// Log.Checkpoint falls back to the last checkpoint that met the quorum.
	cp, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, first.Checkpoint, cp)

	r.down[2].Store(false)
	rc, err := l.Append(ctx, testEntry(1))
	require.NoError(t, err)
	require.True(t, rc.Existed)
	require.Equal(t, uint64(1), rc.Index)
	_, err = r.verifier(t, 2).VerifyReceipt(rc)
	require.NoError(t, err)
	_, err = r.verifier(t, 3).VerifyReceipt(rc)
	require.ErrorIs(t, err, ledger.ErrBadSignature, "witness 1 is still down")
}

// TestLogLearnsWitnessSizes: a Log reopened over a store, with a witness
// that has never seen the log and one that is ahead of what the Log
// guesses, gets both to cosign through the 409 path.
func TestLogLearnsWitnessSizes(t *testing.T) {
	ctx := context.Background()
	r := newCosignRig(t, 2)
	st := memstore.New()
	l := r.open(t, st, ledger.Config{Witnesses: r.logWitnesses()[:1]})
	appendRange(t, l, 0, 4)
	require.NoError(t, l.Close())

	l = r.open(t, st, ledger.Config{})
	rc, err := l.Append(ctx, testEntry(4))
	require.NoError(t, err)
	_, err = r.verifier(t, 2).VerifyReceipt(rc)
	require.NoError(t, err)
	require.Equal(t, []uint64{4}, r.olds[0][4:], "witness 0 cosigned size 4 before the restart, as the Log guessed")
	require.Equal(t, []uint64{4, 0}, r.olds[1], "witness 1 had seen nothing: a 409, then from 0")
}

// TestLogReturnsAtQuorum: a hanging witness does not delay receipts once
// the others meet the quorum; it is cancelled.
func TestLogReturnsAtQuorum(t *testing.T) {
	r := newCosignRig(t, 3)
	hung := make(chan struct{})
	ws := r.logWitnesses()
	ws[2].Cosigner = hangingCosigner{hung}
	l := r.open(t, memstore.New(), ledger.Config{Witnesses: ws, WitnessThreshold: 2, WitnessTimeout: time.Minute})
	start := time.Now()
	rc, err := l.Append(context.Background(), testEntry(0))
	require.NoError(t, err)
	require.Less(t, time.Since(start), 30*time.Second)
	<-hung // cancelled
	_, err = r.verifier(t, 2).VerifyReceipt(rc)
	require.NoError(t, err)
}

type hangingCosigner struct{ cancelled chan struct{} }

func (h hangingCosigner) AddCheckpoint(ctx context.Context, _ uint64, _ []merkle.Hash, _ []byte) ([]byte, error) {
	<-ctx.Done()
	close(h.cancelled)
	return nil, ctx.Err()
}

// TestLogKeepsOnlyValidCosignatures: a witness that answers with lines of
// another key, or a forged line, does not count.
func TestLogKeepsOnlyValidCosignatures(t *testing.T) {
	r := newCosignRig(t, 2)
	ws := r.logWitnesses()
	// Witness 1's endpoint answers with witness 0's cosignature.
	ws[1].Cosigner = rigCosigner{r, 0}
	l := r.open(t, memstore.New(), ledger.Config{Witnesses: ws, WitnessTimeout: time.Second})
	_, err := l.Append(context.Background(), testEntry(0))
	require.ErrorIs(t, err, ledger.ErrWitnessQuorum)
	require.ErrorIs(t, err.(*ledger.WitnessQuorumError).Failures[0].Err, ledger.ErrBadSignature)
}

func TestLogWitnessPolicy(t *testing.T) {
	ctx := context.Background()
	r := newCosignRig(t, 3)
	text := fmt.Sprintf("log %s\nwitness a %s\nwitness b %s\nwitness c %s\ngroup ab any a b\ngroup q all ab c\nquorum q\n", r.logKey, r.keys[0], r.keys[1], r.keys[2])
	p, err := ledger.ParsePolicy([]byte(text))
	require.NoError(t, err)
	l := r.open(t, memstore.New(), ledger.Config{WitnessPolicy: p, WitnessTimeout: time.Second})
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: r.logKey, Policy: p})
	require.NoError(t, err)

	r.down[0].Store(true)
	rc, err := l.Append(ctx, testEntry(0))
	require.NoError(t, err, "b and c meet the quorum")
	_, err = v.VerifyReceipt(rc)
	require.NoError(t, err)

	r.down[2].Store(true)
	_, err = l.Append(ctx, testEntry(1))
	var qe *ledger.WitnessQuorumError
	require.ErrorAs(t, err, &qe, "c is required")
	require.Equal(t, 2, qe.Required)
}

func TestLogWitnessConfig(t *testing.T) {
	r := newCosignRig(t, 2)
	other := newCosignRig(t, 1)
	onlyA, err := ledger.ParsePolicy([]byte("witness a " + r.keys[0] + "\nquorum a\n"))
	require.NoError(t, err)
	needsOther, err := ledger.ParsePolicy([]byte(fmt.Sprintf("witness a %s\nwitness x %s\ngroup g all a x\nquorum g\n", r.keys[0], other.keys[0])))
	require.NoError(t, err)
	logAsWitness := r.logWitnesses()[:1]
	logAsWitness[0].Key = r.logKey
	tests := map[string]ledger.Config{
		"threshold above n":     {WitnessThreshold: 3},
		"negative threshold":    {WitnessThreshold: -1},
		"policy and threshold":  {WitnessPolicy: onlyA, WitnessThreshold: 1},
		"witness not in policy": {WitnessPolicy: onlyA},
		"quorum unreachable":    {Witnesses: r.logWitnesses()[:1], WitnessPolicy: needsOther},
		"log key as witness":    {Witnesses: logAsWitness},
		"duplicate witness":     {Witnesses: append(r.logWitnesses(), r.logWitnesses()[0])},
		"no cosigner":           {Witnesses: []ledger.LogWitness{{Key: r.keys[0]}}},
		"threshold, no witness": {Witnesses: []ledger.LogWitness{}, WitnessThreshold: 1},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			cfg.Store, cfg.Signer, cfg.Origin = memstore.New(), r.signer, testOrigin
			if cfg.Witnesses == nil {
				cfg.Witnesses = r.logWitnesses()
			}
			_, err := ledger.Open(context.Background(), cfg)
			require.ErrorIs(t, err, ledger.ErrInvalidConfig)
			require.False(t, strings.Contains(err.Error(), "PRIVATE"))
		})
	}
}
