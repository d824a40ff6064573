package privacy_test

import (
	"errors"
	"testing"

	"github.com/healthledger/healthledger/privacy"
)

// FuzzOpen feeds arbitrary bytes to Open: it never panics, never opens
// what it did not seal, and every failure is one of the typed errors.
func FuzzOpen(f *testing.F) {
	kek, _ := newKEK(f)
	v := newVault(f, kek, privacy.NewMemoryKeyStore())
	s := subject("fuzz")
	sealed, err := v.Seal(f.Context(), s, []byte("ad"), []byte("sealed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, []byte("ad"))
	f.Add(sealed[:privacy.SealOverhead], []byte{})
	f.Add([]byte{1}, []byte("ad"))
	f.Fuzz(func(t *testing.T, b, ad []byte) {
		pt, err := v.Open(t.Context(), s, ad, b)
		if err == nil {
			if string(pt) != "sealed" || string(ad) != "ad" {
				t.Fatalf("opened forged input to %q", pt)
			}
			return
		}
		if !errors.Is(err, privacy.ErrMalformed) && !errors.Is(err, privacy.ErrNotAuthentic) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}
