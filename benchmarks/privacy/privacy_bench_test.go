package privacybench

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/healthledger/healthledger/privacy"
	"github.com/healthledger/healthledger/privacy/filekeystore"
)

// BenchmarkSeal seals a 1 KiB payload for one subject whose key exists:
// cached (AES-GCM only) and cold (the wrapped keyset is read from the
// store and unwrapped with the KEK on every call, as with CacheSize < 0).
// parallel seals from GOMAXPROCS goroutines over 1024 cached subjects.
func BenchmarkSeal(b *testing.B) {
	for _, mode := range []struct {
		name  string
		cache int
	}{{"cached", 0}, {"cold", -1}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			v, err := newVault(privacy.NewMemoryKeyStore(), mode.cache)
			if err != nil {
				b.Fatal(err)
			}
			pt, ad, s := make([]byte, payloadSize), []byte("kind=0x0101"), subject(0)
			if _, err := v.Seal(ctx, s, ad, pt); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(payloadSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Seal(ctx, s, ad, pt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seals/s")
		})
	}
	b.Run("cached/parallel", func(b *testing.B) {
		ctx := context.Background()
		v, err := newVault(privacy.NewMemoryKeyStore(), 0)
		if err != nil {
			b.Fatal(err)
		}
		const subjects = 1024
		pt, ad := make([]byte, payloadSize), []byte("kind=0x0101")
		for i := range subjects {
			if _, err := v.Seal(ctx, subject(i), ad, pt); err != nil {
				b.Fatal(err)
			}
		}
		var next atomic.Int64
		b.SetBytes(payloadSize)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.Seal(ctx, subject(int(next.Add(1)%subjects)), ad, pt); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seals/s")
	})
}

// BenchmarkSealNewSubject seals the first payload of a subject: a data key
// is generated, wrapped with the KEK and stored (memory store), then used.
func BenchmarkSealNewSubject(b *testing.B) {
	ctx := context.Background()
	v, err := newVault(privacy.NewMemoryKeyStore(), 0)
	if err != nil {
		b.Fatal(err)
	}
	pt, ad := make([]byte, payloadSize), []byte("kind=0x0101")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := v.Seal(ctx, subject(i), ad, pt); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seals/s")
}

// BenchmarkOpen opens a sealed 1 KiB payload, cached and cold as BenchmarkSeal.
func BenchmarkOpen(b *testing.B) {
	for _, mode := range []struct {
		name  string
		cache int
	}{{"cached", 0}, {"cold", -1}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			v, err := newVault(privacy.NewMemoryKeyStore(), mode.cache)
			if err != nil {
				b.Fatal(err)
			}
			ad, s := []byte("kind=0x0101"), subject(0)
			sealed, err := v.Seal(ctx, s, ad, make([]byte, payloadSize))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(payloadSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Open(ctx, s, ad, sealed); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "opens/s")
		})
	}
}

// BenchmarkTag computes one subject tag (HMAC-SHA256 over the encoded
// origin, namespace, identifier and epoch).
func BenchmarkTag(b *testing.B) {
	h, err := privacy.NewTaggerKeyset()
	if err != nil {
		b.Fatal(err)
	}
	tg, err := privacy.NewTagger(h, origin)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tg.TagAt("mrn", "000123456", 2026); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tags/s")
}

// BenchmarkEraseSubject erases one subject that has a key: on the memory
// store (cache eviction and a map update) and on the file store (overwrite
// and fsync the key file, write and fsync a tombstone, rename, fsync the
// directory). Keys are stored before the timer starts.
func BenchmarkEraseSubject(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) privacy.KeyStore
	}{
		{"mem", func(*testing.B) privacy.KeyStore { return privacy.NewMemoryKeyStore() }},
		{"file", func(b *testing.B) privacy.KeyStore {
			s, err := filekeystore.Open(filekeystore.Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			ctx := context.Background()
			keys := st.open(b)
			if err := seedKeys(ctx, keys, b.N); err != nil {
				b.Fatal(err)
			}
			v, err := newVault(keys, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := v.EraseSubject(ctx, subject(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "erasures/s")
		})
	}
}
