// Package identity benchmarks DID resolution from the durable Pebble store.
package identity

import (
	"context"
	"crypto/sha256"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/pebblestore"
	"golang.org/x/mod/sumdb/note"
)

const origin = "bench.example.org/identity"

// setup builds a Pebble-backed log holding one DID with ops operations
// (a genesis and ops-1 updates, each adding or replacing a device key)
// interleaved with other entries, and returns a resolver config for it.
func setup(b *testing.B, ops, othersPerOp int, kt identity.KeyType) (identity.Config, string) {
	b.Helper()
	ctx := context.Background()
	store, err := pebblestore.Open(ctx, pebblestore.Config{Dir: b.TempDir(), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		b.Fatal(err)
	}
	// The operations are dated a minute apart on a simulated clock, which
	// the log reads too (it refuses entries dated far from its clock).
	var clock time.Time
	log, err := ledger.Open(ctx, ledger.Config{Store: store, Signer: signer, Origin: origin, Now: func() time.Time { return clock }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { log.Close(); store.Close() })

	rot, err := identity.GenerateKey(kt)
	if err != nil {
		b.Fatal(err)
	}
	state := func(i int) identity.State {
		dev, err := identity.GenerateKey(identity.KeyTypeEd25519)
		if err != nil {
			b.Fatal(err)
		}
		return identity.State{
			RotationKeys:        []identity.PublicKey{rot.Public()},
			VerificationMethods: []identity.VerificationMethod{{ID: fmt.Sprintf("device-%d", i), Key: dev.Public(), Relationships: identity.AssertionMethod | identity.Authentication}},
			Services:            []identity.Service{{ID: "fhir", Type: "FhirEndpoint", Endpoint: "https://ehr.example.org/fhir"}},
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock = t0
	op, did, err := identity.NewGenesis(state(0), t0, rot)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < ops; i++ {
		if i > 0 {
			prev, err := op.Hash()
			if err != nil {
				b.Fatal(err)
			}
			clock = t0.Add(time.Duration(i) * time.Minute)
			if op, err = identity.NewOperation(identity.OpUpdate, prev, state(i), clock, rot); err != nil {
				b.Fatal(err)
			}
		}
		e, err := identity.OperationEntry(did, op, rot)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := log.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < othersPerOp; j++ {
			other := &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: ledger.DeriveSubjectTag("record", fmt.Sprint(i, j)),
				Writer: "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th", Time: clock, Digest: sha256.Sum256([]byte(fmt.Sprint(i, j)))}
			if _, err := log.Append(ctx, other); err != nil {
				b.Fatal(err)
			}
		}
	}
	return identity.Config{Ledger: log, CheckpointVerifier: verifier, Origin: origin}, did
}

// BenchmarkResolve100Ops resolves a DID with 100 operations from a
// Pebble-backed log of 1,000 entries: the checkpoint signature, 100
// inclusion proofs and 100 operation signatures are verified on every
// resolution (a fresh Resolver each time, nothing cached; signatures are
// verified on GOMAXPROCS goroutines).
func BenchmarkResolve100Ops(b *testing.B) {
	for _, kt := range []identity.KeyType{identity.KeyTypeEd25519, identity.KeyTypeP256} {
		b.Run("rotation="+kt.String(), func(b *testing.B) {
			cfg, did := setup(b, 100, 9, kt)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				r, err := identity.NewResolver(cfg)
				if err != nil {
					b.Fatal(err)
				}
				res, err := r.Resolve(ctx, did)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.History) != 100 {
					b.Fatalf("history has %d operations", len(res.History))
				}
			}
			report(b, cpu0)
		})
	}
}

// BenchmarkResolve100OpsCached resolves the same DID again with one
// long-lived Resolver: the checkpoint is re-read and the subject index
// re-queried, while the operations verified by an earlier resolution
// (inclusion and signatures) are reused from its cache.
func BenchmarkResolve100OpsCached(b *testing.B) {
	for _, kt := range []identity.KeyType{identity.KeyTypeEd25519, identity.KeyTypeP256} {
		b.Run("rotation="+kt.String(), func(b *testing.B) {
			cfg, did := setup(b, 100, 9, kt)
			ctx := context.Background()
			r, err := identity.NewResolver(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Resolve(ctx, did); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				res, err := r.Resolve(ctx, did)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.History) != 100 {
					b.Fatalf("history has %d operations", len(res.History))
				}
			}
			report(b, cpu0)
		})
	}
}

// cpuTime returns the CPU time (user + system) of this process so far.
// The machine is shared, so besides wall time per resolution the
// benchmarks report CPU time per resolution, which other load on the
// machine distorts less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, cpu0 time.Duration) {
	n := float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/n, "ms/resolve")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/n, "cpu-ms/resolve")
	b.ReportMetric(n/b.Elapsed().Seconds(), "resolves/s")
}
