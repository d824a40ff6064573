package trillianstore

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/lib/pq" // the PostgreSQL driver Trillian's storage uses
	"github.com/stretchr/testify/require"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/storetest"
	"github.com/healthledger/healthledger/merkle"
	"google.golang.org/grpc"
)

// conformance runs the shared ledger.Store conformance suite on trees of
// the given mode served over cc.
func conformance(t *testing.T, cc grpc.ClientConnInterface, mode Mode, payloads PayloadStore) {
	signer, verifier := testSigner(t)
	sign := SignWith(signer, storetest.Origin)
	open := func(t *testing.T, tree int64) ledger.Store {
		// One QueueLeaf at a time: Trillian then integrates a LOG batch in
		// the order it was queued. The suite allows any order within a
		// batch (UnorderedBatches), but CloseWhileReading reads leaf i as
		// the i-th leaf of its batch.
		// Payloads are keyed by leaf hash, so one side store serves every
		// tree of the suite, and a reopened store finds its payloads.
		s, err := Open(t.Context(), Config{Conn: cc, TreeID: tree, Mode: mode, Sign: sign, Concurrency: 1, Payloads: payloads})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storetest.RunHarness(t, storetest.Harness{
		Open: func(t *testing.T) ledger.Store { return open(t, newTree(t, cc, mode)) },
		Reopen: func(t *testing.T, closed ledger.Store) ledger.Store {
			return open(t, closed.(*Store).cfg.TreeID)
		},
		Sign:     sign,
		Verifier: verifier,
		Options: storetest.Options{
			// Every leaf is an RPC in LOG mode: smaller batches, still
			// crossing the 256-leaf tile boundary.
			Sizes:             []int{1, 63, 64, 65, 200},
			ProofSamples:      100,
			ConcurrentBatches: 10,
			UnorderedBatches:  mode == ModeLog,
			NonAtomicAdd:      true,
			// The store keeps no checkpoint: it re-signs Trillian's root on
			// reopen, with a new signed time.
			ResignsOnReopen: true,
		},
	})
}

func TestMemoryConformance(t *testing.T) {
	conformance(t, memEnv(t).ClientConn, ModeLog, NewMemoryPayloads())
}

func TestPostgresConformance(t *testing.T) {
	st := realTrillian(t)
	cc := dialReal(t, st)
	payloads := sqlPayloads(t, st)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) { conformance(t, cc, mode, payloads) })
	}
}

// sqlPayloads returns a SQLPayloads in a fresh table of the PostgreSQL
// database Trillian runs on.
func sqlPayloads(t *testing.T, st map[string]string) *SQLPayloads {
	t.Helper()
	db, err := sql.Open("postgres", fmt.Sprintf("host=127.0.0.1 port=%s user=postgres dbname=trillian sslmode=disable", st["HL_PG_PORT"]))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	table := fmt.Sprintf("healthledger_payloads_%d", time.Now().UnixNano())
	p, err := NewSQLPayloads(t.Context(), db, table)
	require.NoError(t, err)
	return p
}

// SQLPayloads writes and erases a batch in statements of up to 1000 rows:
// a batch of 2500 (three statements), with repeats of stored and erased
// hashes, keeps first payloads and erasures.
func TestPostgresSQLPayloadsBatches(t *testing.T) {
	p := sqlPayloads(t, realTrillian(t))
	ctx := t.Context()
	batch := map[merkle.Hash][]byte{}
	var hashes []merkle.Hash
	for i := range 2500 {
		h := merkle.HashLeaf(fmt.Appendf(nil, "leaf %d", i))
		batch[h] = fmt.Appendf(nil, "payload %d", i)
		hashes = append(hashes, h)
	}
	require.NoError(t, p.Put(ctx, batch))
	require.NoError(t, p.Erase(ctx, append(hashes[:1200:1200], hashes[0]), 7))
	again := map[merkle.Hash][]byte{}
	for _, h := range hashes {
		again[h] = []byte("another payload")
	}
	require.NoError(t, p.Put(ctx, again))
	for i, h := range hashes {
		got, err := p.Get(ctx, h)
		if i < 1200 {
			var ee *ledger.ErasedError
			require.ErrorAs(t, err, &ee, "hash %d", i)
			require.Equal(t, uint64(7), ee.ErasedBy)
			continue
		}
		require.NoError(t, err, "hash %d", i)
		require.Equal(t, fmt.Appendf(nil, "payload %d", i), got)
	}
}
