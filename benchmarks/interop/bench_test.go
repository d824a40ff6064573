package interop_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/healthledger/healthledger/merkle"
	tclient "github.com/transparency-dev/tessera/client"
)

// servedEntries is the size of the logs the tile benchmarks serve: 64 full
// level-0 tiles of 8 KiB each.
const servedEntries = 64 * 256

// clients is the number of concurrent HTTP clients of the tile benchmarks.
const clients = 256

type server struct{ name, url string }

var (
	servedOnce sync.Once
	served     []server
)

// BenchmarkTilesServed measures full tiles served per second over HTTP
// keep-alive connections from 256 concurrent clients on 127.0.0.1: the
// healthledger read path (ledger/tileserver over the memory and Pebble
// stores) next to Go's http.FileServer serving the same number of tiles
// that Tessera's POSIX driver wrote, in the same run. Every request is a
// full level-0 tile (8 KiB), round robin over the 64 of each log.
//
// The three logs are built once per process and shared by every -count
// round, so that rounds after the first measure stores at rest (the Pebble
// store's compactions after its 16,384 appends have finished).
func BenchmarkTilesServed(b *testing.B) {
	servers := servedLogs(b)
	paths := tilePaths()
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) { benchServe(b, s.url, paths) })
	}
}

func benchServe(b *testing.B, base string, paths []string) {
	run, done := loader(base, paths)
	defer done()
	if _, err := run(clients * 2); err != nil { // open the connections
		b.Fatal(err)
	}
	b.SetBytes(256 * merkle.HashSize)
	b.ReportAllocs()
	b.ResetTimer()
	elapsed, err := run(int64(b.N))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tiles/s")
}

// BenchmarkTilesServedInterleaved serves the same load from the
// healthledger handler (memory store) and from http.FileServer on
// Tessera's files in alternating slices of 2,048 requests, so that both
// see the same machine (other processes, frequency changes) and their
// ratio is meaningful on a shared machine. It reports both throughputs
// and ratio = healthledger / FileServer.
func BenchmarkTilesServedInterleaved(b *testing.B) {
	servers := servedLogs(b)
	ours, theirs := servers[0], servers[2]
	runOurs, doneOurs := loader(ours.url, tilePaths())
	defer doneOurs()
	runTheirs, doneTheirs := loader(theirs.url, tilePaths())
	defer doneTheirs()
	for _, run := range []func(int64) (time.Duration, error){runOurs, runTheirs} {
		if _, err := run(clients * 2); err != nil {
			b.Fatal(err)
		}
	}
	const slice = 2048
	var tOurs, tTheirs time.Duration
	b.SetBytes(2 * 256 * merkle.HashSize)
	b.ResetTimer()
	for left := int64(b.N); left > 0; left -= slice {
		n := min(left, slice)
		d, err := runOurs(n)
		if err != nil {
			b.Fatal(err)
		}
		tOurs += d
		if d, err = runTheirs(n); err != nil {
			b.Fatal(err)
		}
		tTheirs += d
	}
	b.ReportMetric(float64(b.N)/tOurs.Seconds(), "healthledger-tiles/s")
	b.ReportMetric(float64(b.N)/tTheirs.Seconds(), "fileserver-tiles/s")
	b.ReportMetric(tTheirs.Seconds()/tOurs.Seconds(), "ratio")
}

// servedLogs builds the logs of the tile benchmarks once per process.
func servedLogs(b *testing.B) []server {
	servedOnce.Do(func() {
		k := keep(b)
		ctx := context.Background()
		th := newTheirs(k, ctx, servedEntries)
		// Only the files are served: stop Tessera's background work.
		check(b, th.shutdown(ctx))
		served = []server{
			{"healthledger/memory", newOurs(k, "", servedEntries).srv.URL},
			{"healthledger/pebble", newOurs(k, k.TempDir(), servedEntries).srv.URL},
			{"tessera-posix/http.FileServer", th.srv.URL},
		}
	})
	if served == nil {
		b.Fatal("building the served logs failed")
	}
	return served
}

func tilePaths() []string {
	paths := make([]string, servedEntries/256)
	for i := range paths {
		paths[i] = "/" + merkle.TileID{Level: 0, Index: uint64(i)}.Path(256)
	}
	return paths
}

// loader returns a function that makes n GETs of paths (round robin) from
// 256 concurrent keep-alive clients and returns the time they took.
func loader(base string, paths []string) (run func(n int64) (time.Duration, error), done func()) {
	tr := &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients, DisableCompression: true}
	hc := &http.Client{Transport: tr}
	get := func(p string) error {
		resp, err := hc.Get(base + p)
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || n != 256*merkle.HashSize {
			return fmt.Errorf("GET %s: status %d, %d bytes", p, resp.StatusCode, n)
		}
		return nil
	}
	run = func(n int64) (time.Duration, error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		start := time.Now()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= n {
						return
					}
					if err := get(paths[i%int64(len(paths))]); err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start), firstErr
	}
	return run, tr.CloseIdleConnections
}

// proofEntries is the size of the log of the proof benchmarks: past the
// first level-2 hash, so proofs cross three tile levels.
const proofEntries = 1<<16 + 4000

// BenchmarkClientInclusionProofs measures inclusion proofs per second for
// random leaves of a 69,536-entry log, built from a warm tile cache (every
// tile of the tree read once before timing): ledger/client, next to
// Tessera's ProofBuilder over the same server and the Log's own store, in
// the same run. One goroutine each (ProofBuilder is not safe for
// concurrent use); "client/parallel" runs the client from GOMAXPROCS
// goroutines.
func BenchmarkClientInclusionProofs(b *testing.B) {
	ctx := context.Background()
	o := newOurs(b, "", proofEntries)
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: ourOrigin, LogKey: o.logKey})
	check(b, err)
	c, err := client.New(client.Config{URL: o.srv.URL, Verifier: v})
	check(b, err)
	cp, err := c.Update(ctx)
	check(b, err)
	size := cp.Size
	u, err := url.Parse(o.srv.URL + "/")
	check(b, err)
	f, err := tclient.NewHTTPFetcher(u, nil)
	check(b, err)
	pb, err := tclient.NewProofBuilder(ctx, size, f.ReadTile)
	check(b, err)
	// Warm both caches: one proof per level-0 tile reads every tile.
	for i := uint64(0); i < size; i += 256 {
		_, err := c.InclusionProof(ctx, i, size)
		check(b, err)
		_, err = pb.InclusionProof(ctx, i)
		check(b, err)
	}
	verify := func(i uint64, p []merkle.Hash) {
		leaf, err := o.log.Leaf(ctx, i)
		check(b, err)
		check(b, merkle.VerifyInclusion(merkle.HashLeaf(leaf), i, size, p, cp.Root))
	}
	cases := []struct {
		name  string
		proof func(i uint64) error
	}{
		{"client", func(i uint64) error {
			_, err := c.InclusionProof(ctx, i, size)
			return err
		}},
		{"tessera-proofbuilder", func(i uint64) error {
			_, err := pb.InclusionProof(ctx, i)
			return err
		}},
		{"local-log", func(i uint64) error {
			_, err := o.log.InclusionProof(ctx, i, size)
			return err
		}},
	}
	p, err := c.InclusionProof(ctx, 12345, size)
	check(b, err)
	verify(12345, p)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if err := tc.proof(r.Uint64N(size)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "proofs/s")
		})
	}
	b.Run("client/parallel", func(b *testing.B) {
		var seed atomic.Uint64
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 2))
			for pb.Next() {
				if _, err := c.InclusionProof(ctx, r.Uint64N(size), size); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "proofs/s")
	})
}
