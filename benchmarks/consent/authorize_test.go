package consentbench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
)

// keys is a SignatureChecker over fixed Ed25519 keys (DID resolution is
// measured by the identity benchmarks, not here).
type keys map[string]ed25519.PublicKey

func (k keys) CheckSignature(_ context.Context, did string, msg, sig []byte, _ time.Time) error {
	if pub, ok := k[did]; ok && ed25519.Verify(pub, msg, sig) {
		return nil
	}
	return errors.New("bad signature")
}

type holder struct {
	did  string
	priv ed25519.PrivateKey
}

func (h holder) SignEntry(e *ledger.Entry) error {
	e.Writer = h.did
	msg, err := e.SignedMessage()
	if err != nil {
		return err
	}
	e.Signature = ed25519.Sign(h.priv, msg)
	return nil
}

func newHolder(b *testing.B, k keys, did string) holder {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	k[did] = pub
	return holder{did: did, priv: priv}
}

// BenchmarkAuthorize measures decisions recorded on an in-memory ledger
// (decide, encode, sign, append with group commit and receipt), from
// parallel callers, with 10 consents per patient.
func BenchmarkAuthorize(b *testing.B) {
	ctx := context.Background()
	skey, _, err := ledger.GenerateKey("bench/consent")
	if err != nil {
		b.Fatal(err)
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	l, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: "bench/consent"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	k := keys{}
	patient := newHolder(b, k, Patient)
	// Clear bodies and public tags: this measures the decision and the
	// append; sealing is measured in benchmarks/privacy.
	reg, err := consent.NewRegistry(consent.RegistryConfig{Log: l, Checker: k, Recorder: newHolder(b, k, "did:hl:ehr"), InsecureClearBodies: true, InsecurePublicTags: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range Consents(10) {
		e, err := reg.GrantEntry(ctx, &c, time.Now().UTC())
		if err != nil {
			b.Fatal(err)
		}
		if err := patient.SignEntry(e); err != nil {
			b.Fatal(err)
		}
		if _, err := reg.Submit(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		r := CareTeamRead().Consent
		for i := 0; pb.Next(); i++ {
			r.Time = start.Add(time.Duration(i)) // distinct entries
			r.Resource.ID = "obs-" + string(rune('a'+i%26))
			a, err := reg.Authorize(ctx, &r)
			if err != nil {
				b.Error(err)
				return
			}
			if !a.Decision.Allowed {
				b.Error("denied")
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
}
