package tessera_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

// Settings of the Tessera appender, chosen to give Tessera its best
// latency and throughput in this closed-loop benchmark (see
// benchmarks/README.md). The batch size limit is the number of writers, so a
// batch is cut as soon as every writer waits on it.
const (
	// entrySize is the size of every appended entry, the same as the
	// encoded ledger leaves of the ledger benchmarks.
	entrySize = 1024
	// batchMaxAge is how long the first entry of a batch waits for more.
	// Shorter ages were measured to be slower: timer-cut small batches
	// queue up behind the driver's single sequencing goroutine, each paying
	// a full round of file writes and fsyncs (about 500 entries/s at 1 ms
	// against 9,000 at 10 ms, 256 writers).
	batchMaxAge = 10 * time.Millisecond
	// checkpointInterval is the POSIX driver's minimum checkpoint interval.
	checkpointInterval = 100 * time.Millisecond
	// awaitPollPeriod is how often the PublicationAwaiter reads the checkpoint.
	awaitPollPeriod = 5 * time.Millisecond
	// origin names the benchmark log.
	origin = "bench.healthledger.example/tessera"
)

// writerCounts are the concurrency levels of every append benchmark: the
// same as the ledger's BenchmarkAppend (benchmarks/ledger,
// appendWriterCounts), so that benchreport compares them at each count and
// draws both as curves against writers.
var writerCounts = []int{1, 16, 64, 256}

// BenchmarkTesseraAppend measures durable appends (the Add future resolved)
// and published appends (covered by a published checkpoint).
func BenchmarkTesseraAppend(b *testing.B) {
	for _, mode := range []string{"durable", "published"} {
		for _, w := range writerCounts {
			b.Run(fmt.Sprintf("posix/%s/writers=%d", mode, w), func(b *testing.B) {
				benchAppend(b, w, mode == "published")
			})
		}
	}
}

func benchAppend(b *testing.B, writers int, awaitPublication bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lg, err := openLog(ctx, b.TempDir(), writers)
	if err != nil {
		b.Fatal(err)
	}
	op := lg.addOp(awaitPublication)
	b.SetBytes(entrySize)
	loadgen.Run(ctx, b, writers, "entries/s", op)
	if err := lg.shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}

// testLog is a Tessera POSIX log opened for appending.
type testLog struct {
	appender *tessera.Appender
	awaiter  *tessera.PublicationAwaiter
	shutdown func(context.Context) error
	tag      [8]byte // distinguishes the entries of this log from other runs
}

// openLog opens a new Tessera POSIX log in dir for the given number of
// concurrent writers. Its background goroutines stop when ctx is cancelled.
func openLog(ctx context.Context, dir string, writers int) (*testLog, error) {
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	driver, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return nil, err
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(uint(writers), batchMaxAge).
		WithCheckpointInterval(checkpointInterval)
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		return nil, err
	}
	lg := &testLog{
		appender: appender,
		awaiter:  tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, awaitPollPeriod),
		shutdown: shutdown,
	}
	if _, err := rand.Read(lg.tag[:]); err != nil {
		return nil, err
	}
	return lg, nil
}

// addOp returns the benchmark operation: append the seq-th entry and wait
// until it is durable, or also published if awaitPublication is set.
func (lg *testLog) addOp(awaitPublication bool) loadgen.Op {
	return func(ctx context.Context, _ int, seq uint64) error {
		future := lg.appender.Add(ctx, tessera.NewEntry(entryData(lg.tag, seq)))
		var (
			idx tessera.Index
			err error
		)
		if awaitPublication {
			idx, _, err = lg.awaiter.Await(ctx, future)
		} else {
			idx, err = future()
		}
		if err != nil {
			return err
		}
		if idx.IsDup {
			return fmt.Errorf("entry %d reported as a duplicate", seq)
		}
		return nil
	}
}

// entryData returns a distinct entrySize-byte entry for seq.
func entryData(tag [8]byte, seq uint64) []byte {
	d := make([]byte, entrySize)
	copy(d, tag[:])
	binary.BigEndian.PutUint64(d[8:], seq)
	for i := 16; i < len(d); i++ {
		d[i] = byte(i)
	}
	return d
}
