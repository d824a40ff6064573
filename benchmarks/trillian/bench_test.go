package trillian

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/trillian"
	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/pebblestore"
	"github.com/healthledger/healthledger/ledger/trillianstore"
	"github.com/healthledger/healthledger/merkle"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	// leafSize is the exact size of every encoded entry.
	leafSize = 1024
	// writers is the number of concurrent Append callers.
	writers = 256
	// proofLogSize is the size of the logs the proof benchmarks read.
	proofLogSize = 1 << 14
	origin       = "bench.healthledger.example/trillian"
	stateEnv     = "HEALTHLEDGER_TRILLIAN"
)

// kinds are the stores BenchmarkAppend measures: Pebble, the embedded
// default, as the reference beside the Trillian figures of
// BenchmarkVsDirect (which measures both Trillian modes against Trillian
// driven directly).
var kinds = []string{"pebble"}

// trillianAddr returns the log server address from the state file named by
// HEALTHLEDGER_TRILLIAN, or skips the benchmark.
func trillianAddr(b *testing.B) string {
	path := os.Getenv(stateEnv)
	if path == "" {
		b.Skipf("NOT RUN: needs Trillian on PostgreSQL; run `make bench-trillian` or `.ci/trillian.sh up` and set %s", stateEnv)
	}
	f, err := os.Open(path)
	fatalIf(b, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "HL_TRILLIAN_ADDR="); ok {
			return v
		}
	}
	b.Fatalf("%s: no HL_TRILLIAN_ADDR", path)
	return ""
}

// openStore opens a new, empty store of the given kind.
// Its connection is closed with the test unless keep is set.
func openStore(b *testing.B, kind string, sign ledger.SignFunc, keep bool) ledger.Store {
	ctx := context.Background()
	if kind == "pebble" {
		s, err := pebblestore.Open(ctx, pebblestore.Config{Dir: b.TempDir()})
		fatalIf(b, err)
		return s
	}
	mode := trillianstore.ModeLog
	if kind == "trillian-preordered" {
		mode = trillianstore.ModePreordered
	}
	cc, err := grpc.NewClient(trillianAddr(b), grpc.WithTransportCredentials(insecure.NewCredentials()))
	fatalIf(b, err)
	if !keep {
		b.Cleanup(func() { cc.Close() })
	}
	tree, err := trillianstore.CreateTree(ctx, cc, mode)
	fatalIf(b, err)
	if !keep {
		b.Cleanup(func() {
			// A deleted tree is no longer sequenced: keep the signer idle.
			_, _ = trillian.NewTrillianAdminClient(cc).DeleteTree(ctx, &trillian.DeleteTreeRequest{TreeId: tree})
		})
	}
	s, err := trillianstore.Open(ctx, trillianstore.Config{Conn: cc, TreeID: tree, Mode: mode, Sign: sign})
	fatalIf(b, err)
	return s
}

// keys is a checkpoint signer for origin.
func keys(b *testing.B) (ledger.SignFunc, ledger.Config) {
	skey, _, err := ledger.GenerateKey(origin)
	fatalIf(b, err)
	signer, err := ledger.NewSigner(skey)
	fatalIf(b, err)
	return trillianstore.SignWith(signer, origin), ledger.Config{Signer: signer, Origin: origin}
}

// BenchmarkAppend measures Log.Append of 1 KiB entries from 256 concurrent
// writers into a new log on each store. An Append returns once its entry is
// durable, in the tree and covered by a signed checkpoint, with its receipt.
func BenchmarkAppend(b *testing.B) {
	for _, kind := range kinds {
		b.Run(fmt.Sprintf("store=%s/writers=%d", kind, writers), func(b *testing.B) {
			sign, cfg := keys(b)
			store := openStore(b, kind, sign, false)
			defer store.Close()
			cfg.Store = store
			l, err := ledger.Open(context.Background(), cfg)
			fatalIf(b, err)
			defer l.Close()
			m := newMaker(b)
			b.SetBytes(leafSize)
			loadgen.Run(context.Background(), b, writers, "entries/s", func(ctx context.Context, _ int, seq uint64) error {
				rc, err := l.Append(ctx, m.entry(seq))
				if err == nil && (rc.Existed || len(rc.Leaf) != leafSize) {
					err = fmt.Errorf("entry %d: unexpected receipt", seq)
				}
				return err
			})
		})
	}
}

// BenchmarkInclusionProof measures Store.InclusionProof for scattered
// indices at the full size of a 16384-entry log, from GOMAXPROCS readers.
// Trillian serves proofs the same way in both tree modes; the log is built
// in PREORDERED_LOG mode because that is faster.
func BenchmarkInclusionProof(b *testing.B) {
	for _, kind := range []string{"pebble", "trillian-preordered"} {
		b.Run(fmt.Sprintf("store=%s/size=%d", kind, proofLogSize), func(b *testing.B) {
			s := proofStore(b, kind)
			b.ReportAllocs()
			loadgen.Run(context.Background(), b, runtime.GOMAXPROCS(0), "proofs/s", func(ctx context.Context, _ int, seq uint64) error {
				idx := (seq * 2654435761) % proofLogSize
				p, err := s.InclusionProof(ctx, idx, proofLogSize)
				if err == nil && len(p) != 14 {
					err = fmt.Errorf("proof of %d hashes, want 14", len(p))
				}
				return err
			})
		})
	}
}

var (
	proofStoresMu sync.Mutex
	proofStores   = map[string]ledger.Store{}
)

// proofStore returns a store of kind holding proofLogSize entries, built
// once per process (benchmarks run their function several times).
func proofStore(b *testing.B, kind string) ledger.Store {
	proofStoresMu.Lock()
	defer proofStoresMu.Unlock()
	if s, ok := proofStores[kind]; ok {
		return s
	}
	sign, _ := keys(b)
	s := openStore(b, kind, sign, true)
	m := newMaker(b)
	for start := uint64(0); start < proofLogSize; start += 1024 {
		leaves := make([]ledger.Leaf, 1024)
		for i := range leaves {
			e := m.entry(start + uint64(i))
			data, err := e.MarshalBinary()
			fatalIf(b, err)
			leaves[i] = ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: e.Subject}
		}
		_, err := s.Add(context.Background(), leaves, sign)
		fatalIf(b, err)
	}
	proofStores[kind] = s // closed when the process exits
	return s
}

// maker makes distinct entries whose encoding is exactly leafSize bytes.
type maker struct {
	tag  [24]byte
	body []byte
	base time.Time
}

func newMaker(b *testing.B) *maker {
	m := &maker{base: time.Now().UTC()} // the log refuses entries dated far from its clock
	_, err := rand.Read(m.tag[:])
	fatalIf(b, err)
	// The body's length prefix grows with it: adjust until exact.
	for range 4 {
		data, err := m.entry(0).MarshalBinary()
		fatalIf(b, err)
		if len(data) == leafSize {
			return m
		}
		m.body = make([]byte, len(m.body)+leafSize-len(data))
	}
	b.Fatal("cannot make entries of exactly leafSize bytes")
	return nil
}

func (m *maker) entry(seq uint64) *ledger.Entry {
	e := &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("bench-patient", fmt.Sprint(seq%4096)),
		Writer:  "did:hl:bench.example",
		Time:    m.base.Add(time.Duration(seq) * time.Microsecond),
		Body:    m.body,
	}
	copy(e.Digest[:], m.tag[:])
	binary.BigEndian.PutUint64(e.Digest[len(m.tag):], seq)
	return e
}

func fatalIf(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
