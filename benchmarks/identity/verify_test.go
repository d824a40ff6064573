package identity

import (
	"testing"

	"github.com/healthledger/healthledger/identity"
)

// BenchmarkVerify measures one operation-signature verification, the unit
// cost that dominates a cold resolution (one per operation).
func BenchmarkVerify(b *testing.B) {
	for _, kt := range []identity.KeyType{identity.KeyTypeEd25519, identity.KeyTypeP256} {
		b.Run(kt.String(), func(b *testing.B) {
			k, err := identity.GenerateKey(kt)
			if err != nil {
				b.Fatal(err)
			}
			msg := make([]byte, 300)
			sig, err := k.Sign(msg)
			if err != nil {
				b.Fatal(err)
			}
			pub := k.Public()
			b.ReportAllocs()
			for b.Loop() {
				if err := pub.Verify(msg, sig); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
		})
	}
}
