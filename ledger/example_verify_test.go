package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

const exampleOrigin = "ledger.example-hospital.org/audit"

// openExampleLog opens an in-memory log and returns it with the verifier
// key clients need.
func openExampleLog(ctx context.Context) (*ledger.Log, string, error) {
	skey, vkey, err := ledger.GenerateKey(exampleOrigin)
	if err != nil {
		return nil, "", err
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		return nil, "", err
	}
	log, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: exampleOrigin, Now: exampleNow})
	return log, vkey, err
}

// exampleNow is the log's clock in the examples, so that their output is
// stable: the time of exampleEntry's entries.
func exampleNow() time.Time { return time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC) }

func exampleEntry(n int) *ledger.Entry {
	return &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("example", fmt.Sprintf("record-%d", n)),
		Writer:  "did:web:ehr.example-hospital.org",
		Time:    time.Date(2026, 11, 22, 9, 30, n, 0, time.UTC),
		Digest:  ledger.Digest{byte(n)},
	}
}

// A client checks a receipt offline, with only the log's public key.
func ExampleVerifier_VerifyReceipt() {
	ctx := context.Background()
	log, vkey, err := openExampleLog(ctx)
	if err != nil {
		panic(err)
	}
	defer log.Close()
	for i := range 3 {
		if _, err := log.Append(ctx, exampleEntry(i)); err != nil {
			panic(err)
		}
	}
	receipt, err := log.Append(ctx, exampleEntry(3))
	if err != nil {
		panic(err)
	}

	// The receipt travels as text (C2SP tlog-proof).
	text, err := receipt.MarshalText()
	if err != nil {
		panic(err)
	}
	received, err := ledger.ParseReceipt(text)
	if err != nil {
		panic(err)
	}

	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: exampleOrigin, LogKey: vkey})
	if err != nil {
		panic(err)
	}
	e, err := v.VerifyReceipt(received)
	if err != nil {
		panic(err)
	}
	fmt.Printf("entry %d: kind %#04x by %s at %s\n", received.Index, uint16(e.Kind), e.Writer, e.Time.Format(time.RFC3339))

	// One flipped bit in the leaf and the proof no longer holds.
	received.Leaf[len(received.Leaf)-1] ^= 1
	_, err = v.VerifyReceipt(received)
	fmt.Println("tampered receipt rejected:", errors.Is(err, ledger.ErrInvalidProof))
	// Output:
	// entry 3: kind 0x0001 by did:web:ehr.example-hospital.org at 2026-11-22T09:30:03Z
	// tampered receipt rejected: true
}

// A client follows the log, trusting a newer checkpoint only when the log
// proves it extends the one trusted before.
func ExampleVerifier_Advance() {
	ctx := context.Background()
	log, vkey, err := openExampleLog(ctx)
	if err != nil {
		panic(err)
	}
	defer log.Close()
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: exampleOrigin, LogKey: vkey})
	if err != nil {
		panic(err)
	}

	var trustedSize uint64
	var first []byte
	for round := range 3 {
		for i := range 5 {
			if _, err := log.Append(ctx, exampleEntry(round*5+i)); err != nil {
				panic(err)
			}
		}
		signed, err := log.Checkpoint(ctx)
		if err != nil {
			panic(err)
		}
		if first == nil {
			first = signed
		}
		cp, err := v.VerifyCheckpoint(signed)
		if err != nil {
			panic(err)
		}
		var proof []merkle.Hash
		if trustedSize > 0 {
			if proof, err = log.ConsistencyProof(ctx, trustedSize, cp.Size); err != nil {
				panic(err)
			}
		}
		if err := v.Advance(signed, proof); err != nil {
			panic(err)
		}
		trusted, _ := v.TrustedCheckpoint()
		trustedSize = trusted.Size
		fmt.Println("trusted size", trustedSize)
	}

	// An old checkpoint cannot roll the client back.
	err = v.Advance(first, nil)
	fmt.Println("rollback refused:", errors.Is(err, ledger.ErrStaleCheckpoint))
	// Output:
	// trusted size 5
	// trusted size 10
	// trusted size 15
	// rollback refused: true
}

// Witnesses cosign checkpoints; a client can require k of n of them.
func ExampleCosigner_Cosign() {
	ctx := context.Background()
	log, vkey, err := openExampleLog(ctx)
	if err != nil {
		panic(err)
	}
	defer log.Close()
	receipt, err := log.Append(ctx, exampleEntry(0))
	if err != nil {
		panic(err)
	}

	var witnessKeys []string
	var cosigners []*ledger.Cosigner
	for _, name := range []string{"witness.hospital-a.example", "witness.hospital-b.example", "witness.regulator.example"} {
		skey, wkey, err := ledger.GenerateCosignerKey(name)
		if err != nil {
			panic(err)
		}
		c, err := ledger.NewCosigner(skey)
		if err != nil {
			panic(err)
		}
		cosigners = append(cosigners, c)
		witnessKeys = append(witnessKeys, wkey)
	}
	v, err := ledger.NewVerifier(ledger.VerifierConfig{
		Origin: exampleOrigin, LogKey: vkey, Witnesses: witnessKeys, WitnessThreshold: 2,
	})
	if err != nil {
		panic(err)
	}

	for _, c := range cosigners[:2] {
		_, err = v.VerifyReceipt(receipt)
		var q *ledger.QuorumError
		if errors.As(err, &q) {
			fmt.Printf("%d of %d cosignatures: rejected\n", q.Valid, q.Required)
		}
		// A witness checks the log's signature and consistency, then cosigns.
		if receipt.Checkpoint, err = c.Cosign(receipt.Checkpoint, time.Unix(1795000000, 0)); err != nil {
			panic(err)
		}
	}
	_, err = v.VerifyReceipt(receipt)
	fmt.Println("2 of 2 cosignatures: accepted:", err == nil)
	// Output:
	// 0 of 2 cosignatures: rejected
	// 1 of 2 cosignatures: rejected
	// 2 of 2 cosignatures: accepted: true
}

// TestLogReceiptsVerify checks receipts of concurrent appends to a real Log
// with the Verifier, and follows the log with consistency proofs.
func TestLogReceiptsVerify(t *testing.T) {
	ctx := context.Background()
	log, vkey, err := openExampleLog(ctx)
	require.NoError(t, err)
	defer log.Close()
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: exampleOrigin, LogKey: vkey})
	require.NoError(t, err)

	const n = 300
	receipts := make([]*ledger.Receipt, n)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := w; i < n; i += 6 {
				r, err := log.Append(ctx, exampleEntry(i))
				if err != nil {
					t.Error(err)
					return
				}
				receipts[i] = r
			}
		})
	}
	wg.Wait()

	var trusted uint64
	for i, r := range receipts {
		require.NotNil(t, r)
		text, err := r.MarshalText()
		require.NoError(t, err)
		parsed, err := ledger.ParseReceipt(text)
		require.NoError(t, err)
		e, err := v.VerifyReceipt(parsed)
		require.NoError(t, err, "receipt %d", i)
		require.Equal(t, exampleEntry(i).Digest, e.Digest)

		// Follow the log forward along the receipts' checkpoints.
		cp, err := v.VerifyCheckpoint(r.Checkpoint)
		require.NoError(t, err)
		if cp.Size > trusted {
			var proof []merkle.Hash
			if trusted > 0 {
				proof, err = log.ConsistencyProof(ctx, trusted, cp.Size)
				require.NoError(t, err)
			}
			require.NoError(t, v.Advance(r.Checkpoint, proof))
			trusted = cp.Size
		}
	}
	// Receipts against the latest checkpoint verify too.
	for _, i := range []uint64{0, 1, n / 2, n - 1} {
		r, err := log.Receipt(ctx, i)
		require.NoError(t, err)
		_, err = v.VerifyReceipt(r)
		require.NoError(t, err)
	}
	// A duplicate append returns a receipt for the existing entry.
	r, err := log.Append(ctx, exampleEntry(7))
	require.NoError(t, err)
	require.True(t, r.Existed)
	e, err := v.VerifyReceipt(r)
	require.NoError(t, err)
	require.Equal(t, exampleEntry(7).Digest, e.Digest)
}
