// Package records benchmarks package records: anchors per second of a
// 1 KiB FHIR Observation, and building and verifying the report of a
// patient with 10k entries, on the memory store with writer signatures
// checked by an identity resolver, sealed payloads and keyed tags (the
// configuration of examples/ehr).
package records

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/privacy/privacytest"
	"github.com/healthledger/healthledger/records"
	"github.com/stretchr/testify/require"
)

const origin = "bench.example/records"

type rig struct {
	log      *ledger.Log
	verifier *ledger.Verifier
	patient  *identity.Holder
	keys     records.KeyRing
	svc      *records.Service
	reg      *consent.Registry
}

func newRig(b *testing.B) *rig {
	ctx := context.Background()
	resolver, err := identity.NewResolver(identity.Config{})
	require.NoError(b, err)
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(b, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(b, err)
	log, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin, WriterVerifier: resolver, MaxPending: 1 << 16})
	require.NoError(b, err)
	b.Cleanup(func() { log.Close() })
	resolver.SetLedger(log)
	r := &rig{log: log, keys: records.KeyRing{}}
	r.patient = r.newDID(b, ctx)
	ehr := r.newDID(b, ctx)
	vault, tagger := privacytest.Vault(b, origin), privacytest.Tagger(b, origin)
	r.reg, err = consent.NewRegistry(consent.RegistryConfig{Log: log, Checker: resolver, Recorder: ehr, Sealer: vault, Tagger: tagger,
		Evaluator: consent.Config{NoConsent: consent.OptIn}})
	require.NoError(b, err)
	r.svc, err = records.New(records.Config{Log: log, Registry: r.reg, Signer: ehr, Sealer: vault})
	require.NoError(b, err)
	r.verifier, err = ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: vkey})
	require.NoError(b, err)
	return r
}

func (r *rig) newDID(b *testing.B, ctx context.Context) *identity.Holder {
	rotation, err := identity.GenerateKey(identity.KeyTypeEd25519)
	require.NoError(b, err)
	device, err := identity.GenerateKey(identity.KeyTypeEd25519)
	require.NoError(b, err)
	state := identity.State{RotationKeys: []identity.PublicKey{rotation.Public()},
		VerificationMethods: []identity.VerificationMethod{{ID: "key-1", Key: device.Public(), Relationships: identity.AssertionMethod}}}
	op, did, err := identity.NewGenesis(state, time.Now().UTC().Add(-time.Second), rotation)
	require.NoError(b, err)
	e, err := identity.OperationEntry(did, op, rotation)
	require.NoError(b, err)
	_, err = r.log.Append(ctx, e)
	require.NoError(b, err)
	h, err := identity.NewHolder(did, did+"#key-1", device)
	require.NoError(b, err)
	r.keys[did] = []identity.PublicKey{device.Public()}
	return h
}

// observation returns a FHIR Observation of exactly 1024 bytes.
func observation(i int) []byte {
	s := fmt.Sprintf(`{"resourceType":"Observation","id":"glucose-%08d","meta":{"versionId":"1","lastUpdated":"2026-03-11T08:15:00Z"},`+
		`"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"15074-8","display":"Glucose [Moles/volume] in Blood"}]},`+
		`"subject":{"reference":"Patient/example"},"effectiveDateTime":"2026-03-11T08:00:00Z","issued":"2026-03-11T08:15:00Z",`+
		`"valueQuantity":{"value":6.30,"unit":"mmol/l","system":"http://unitsofmeasure.org","code":"mmol/L"},`+
		`"referenceRange":[{"low":{"value":3.1,"unit":"mmol/l"},"high":{"value":6.2,"unit":"mmol/l"}}],"note":[{"text":"`, i)
	const tail = `"}]}`
	return []byte(s + strings.Repeat("x", 1024-len(s)-len(tail)) + tail)
}

func BenchmarkAnchor1KiBObservation(b *testing.B) {
	r := newRig(b)
	ctx := context.Background()
	res := observation(1)
	require.Len(b, res, 1024)
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for i := 0; b.Loop(); i++ {
			if _, err := r.svc.Anchor(ctx, r.patient.DID(), res); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "anchors/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(32)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.svc.Anchor(ctx, r.patient.DID(), res); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "anchors/s")
	})
}

func BenchmarkCanonicalize1KiB(b *testing.B) {
	res := observation(1)
	b.ReportAllocs()
	b.SetBytes(int64(len(res)))
	for b.Loop() {
		if _, err := records.CanonicalDigest(res); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReport10k builds (and separately verifies) the report of a
// patient with 10,000 entries: a consent grant, 5,000 anchors and 2,500
// reads, each read a consent decision plus an access entry (1 + 5000 +
// 5000 = 10,001 entries under the patient's tag).
func BenchmarkReport10k(b *testing.B) {
	r := newRig(b)
	ctx := context.Background()
	c := consent.Consent{Patient: r.patient.DID(), Status: consent.StatusActive, Decision: consent.Permit}
	g, err := r.reg.GrantEntry(ctx, &c, time.Now().UTC())
	require.NoError(b, err)
	require.NoError(b, r.patient.SignEntry(g))
	_, err = r.reg.Submit(ctx, g)
	require.NoError(b, err)
	const anchors, reads, workers = 5000, 2500, 32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < anchors; i += workers {
				a, err := r.svc.Anchor(ctx, r.patient.DID(), observation(i))
				if err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					_, err = r.svc.RecordAccess(ctx, &records.AccessRequest{Anchor: a, Action: records.ActionRead,
						Actor: consent.Actor{DID: "did:hl:dr-alice"}, Purpose: consent.PurposeTreat})
					if err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	require.NoError(b, <-errs)
	var rep *records.Report
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rep, err = r.svc.Report(ctx, r.patient.DID()); err != nil {
				b.Fatal(err)
			}
		}
		require.Len(b, rep.Events, 1+anchors+2*reads)
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/report")
		b.ReportMetric(float64(len(rep.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range rep.Verify(ctx, r.verifier, r.keys) {
				if v.Err != nil {
					b.Fatal(v.Err)
				}
			}
		}
		b.ReportMetric(float64(len(rep.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
