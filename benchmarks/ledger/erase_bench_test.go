package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/healthledger/healthledger/ledger"
)

// Workload of the erasure benchmark, documented in benchmarks/README.md.
const (
	// erasedEntries is the number of entries of the erased subject.
	erasedEntries = 10_000
	// erasureStride: every erasureStride-th entry of the log is the erased
	// subject's; the others cycle through erasureOthers other subjects.
	erasureStride = 4
	erasureOthers = 1023
	// erasureGround is the ground the erasure entries give.
	erasureGround = "GDPR Art. 17(1)(a)"
)

// BenchmarkErase measures Log.Erase of a subject with 10,000 entries
// among 30,000 entries of 1023 other subjects, every entry with a 1 KiB
// payload, on Pebble: appending the erasure entry (with its receipt),
// then deleting the subject's payloads, which pebblestore does in a synced
// batch followed by a flush, a compaction of the payload key range and a
// reopen of the database. Log.Erase hands the store one page of at most
// 1024 indices at a time, so a 10,000-entry subject costs 10 such rounds
// (erase=log). erase=one-store-call is the same erasure with all the
// subject's indices in a single Store.ErasePayloads call (the erasure
// entry appended by Log.Erase over a store that deletes nothing, since
// Log.Append refuses erasure entries, then Store.BySubject and
// Store.ErasePayloads), to show what the paging costs. Each iteration
// erases from a fresh copy of a log built once per process; the copy and
// the Open are outside the timer.
func BenchmarkErase(b *testing.B) {
	for _, via := range []string{"log", "one-store-call"} {
		b.Run(fmt.Sprintf("store=pebble/subject-entries=%d/erase=%s", erasedEntries, via), func(b *testing.B) {
			benchErase(b, via == "log")
		})
	}
}

func benchErase(b *testing.B, viaLog bool) {
	ctx := context.Background()
	b.StopTimer()
	tmpl := sharedErasureLog(b)
	b.ReportAllocs()
	var elapsed time.Duration
	root := b.TempDir()
	for i := range b.N {
		dir := filepath.Join(root, fmt.Sprint(i))
		r, err := openErasureCopy(ctx, tmpl, dir, viaLog)
		fatalIf(b, err)
		b.StartTimer()
		t0 := time.Now()
		if viaLog {
			_, err = r.erase(ctx)
		} else {
			err = r.eraseOneCall(ctx)
		}
		elapsed += time.Since(t0)
		b.StopTimer()
		fatalIf(b, err)
		fatalIf(b, r.checkErased(ctx))
		fatalIf(b, r.close())
		fatalIf(b, errors.Join(os.RemoveAll(dir), os.Remove(dir+".checkpoint")))
	}
	b.ReportMetric(elapsed.Seconds()*1000/float64(b.N), "ms/erasure")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "erasures/s")
}

// erasureLog is a closed Pebble log directory (and its checkpoint guard
// beside it) in which one subject has erasedEntries entries.
type erasureLog struct {
	dir     string // the store directory; dir+".checkpoint" is its guard
	keys    logKeys
	subject ledger.SubjectTag
	size    uint64
	// first and last are the indices of the subject's first and last
	// entries (writers append concurrently, so indices are not sequence
	// numbers); other is the index of an entry of another subject.
	first, last, other uint64
}

// buildErasureLog appends erasedEntries*erasureStride entries with 1 KiB
// payloads into a new Pebble log in dir from 256 writers, and closes it.
func buildErasureLog(ctx context.Context, dir string, subjectEntries int) (*erasureLog, error) {
	keys, err := newLogKeys()
	if err != nil {
		return nil, err
	}
	maker, err := newEntryMaker(leafSize)
	if err != nil {
		return nil, err
	}
	target := ledger.DeriveSubjectTag("bench-erased", "patient")
	others := make([]ledger.SubjectTag, erasureOthers)
	for i := range others {
		others[i] = ledger.DeriveSubjectTag("bench-kept", fmt.Sprint(i))
	}
	data := make([]byte, dataSize)
	rig, err := newAppendRigKeys(ctx, "pebble", dir, 256, keys, appendOptions{
		newEntry: func(_ context.Context, seq uint64) (*ledger.Entry, error) {
			e := maker.entry(seq)
			e.Body, e.Subject = nil, target
			if seq%erasureStride != 0 {
				e.Subject = others[seq%erasureOthers]
			}
			return e, e.SetPayload(data)
		},
	})
	if err != nil {
		return nil, err
	}
	size := uint64(subjectEntries * erasureStride)
	if _, err := loadgen.Measure(ctx, int(size), 256, rig.op); err != nil {
		rig.close()
		return nil, err
	}
	idx, err := rig.log.BySubject(ctx, target, 0, subjectEntries+1)
	if err == nil && len(idx) != subjectEntries {
		err = fmt.Errorf("the subject has %d entries, want %d", len(idx), subjectEntries)
	}
	if err != nil {
		rig.close()
		return nil, err
	}
	x := &erasureLog{dir: dir, keys: keys, subject: target, size: size, first: idx[0], last: idx[len(idx)-1], other: uint64(len(idx))}
	for i, j := range idx {
		if uint64(i) != j {
			x.other = uint64(i) // the first index that is not the subject's
			break
		}
	}
	if err := rig.close(); err != nil {
		return nil, err
	}
	return x, nil
}

// sharedErasure is the erasure template log, built on first use and
// removed by TestMain.
var sharedErasure struct {
	once sync.Once
	root string
	log  *erasureLog
	err  error
}

func sharedErasureLog(b *testing.B) *erasureLog {
	b.Helper()
	s := &sharedErasure
	s.once.Do(func() {
		s.root, s.err = os.MkdirTemp("", "healthledger-bench-erasure-")
		if s.err != nil {
			return
		}
		start := time.Now()
		s.log, s.err = buildErasureLog(context.Background(), filepath.Join(s.root, "log"), erasedEntries)
		b.Logf("built the %d-entry erasure log in %v", erasedEntries*erasureStride, time.Since(start).Round(time.Millisecond))
	})
	if s.err != nil {
		b.Fatalf("building the erasure log: %v", s.err)
	}
	return s.log
}

func removeSharedErasureLog() {
	if sharedErasure.root != "" {
		os.RemoveAll(sharedErasure.root)
	}
}

// erasureRun is an open copy of an erasure log.
type erasureRun struct {
	tmpl  *erasureLog
	store ledger.Store
	log   *ledger.Log
}

// noErase is a store whose ErasePayloads deletes nothing: the Log of
// erase=one-store-call is opened over it, so that Log.Erase only appends
// the erasure entry and the benchmark deletes in one store call itself.
type noErase struct{ ledger.Store }

func (noErase) ErasePayloads(context.Context, []uint64, uint64) error { return nil }

// openErasureCopy copies tmpl's directory and guard to dir and
// dir+".checkpoint" and opens a Log over the copy (viaLog false: over a
// noErase of it).
func openErasureCopy(ctx context.Context, tmpl *erasureLog, dir string, viaLog bool) (*erasureRun, error) {
	if err := os.CopyFS(dir, os.DirFS(tmpl.dir)); err != nil {
		return nil, err
	}
	guard, err := os.ReadFile(tmpl.dir + ".checkpoint")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(dir+".checkpoint", guard, 0o600); err != nil {
		return nil, err
	}
	store, err := openStore(ctx, "pebble", dir)
	if err != nil {
		return nil, err
	}
	var l *ledger.Log
	if viaLog {
		l, err = openLog(ctx, store, tmpl.keys)
	} else {
		// noErase hides pebblestore's GuardFiler: name the guard file.
		l, err = openLogWith(ctx, noErase{store}, tmpl.keys, func(c *ledger.Config) { c.GuardFile = dir + ".checkpoint" })
	}
	if err != nil {
		store.Close()
		return nil, err
	}
	return &erasureRun{tmpl: tmpl, store: store, log: l}, nil
}

// erase erases the template's subject: every entry of it below the log's
// size.
func (r *erasureRun) erase(ctx context.Context) (*ledger.Receipt, error) {
	e, err := ledger.NewErasureEntry(r.tmpl.subject, r.tmpl.size, erasureGround, benchWriter, time.Now())
	if err != nil {
		return nil, err
	}
	return r.log.Erase(ctx, e)
}

// eraseOneCall is erase with every index of the subject handed to the
// store in one ErasePayloads call.
func (r *erasureRun) eraseOneCall(ctx context.Context) error {
	e, err := ledger.NewErasureEntry(r.tmpl.subject, r.tmpl.size, erasureGround, benchWriter, time.Now())
	if err != nil {
		return err
	}
	rc, err := r.log.Erase(ctx, e) // over noErase: appends, deletes nothing
	if err != nil {
		return err
	}
	idx, err := r.store.BySubject(ctx, r.tmpl.subject, 0, int(r.tmpl.size))
	if err != nil {
		return err
	}
	idx = slices.DeleteFunc(idx, func(i uint64) bool { return i >= min(r.tmpl.size, rc.Index) })
	return r.store.ErasePayloads(ctx, idx, rc.Index)
}

// checkErased checks that the first and last entries of the subject were
// erased and that an entry of another subject still has its payload.
func (r *erasureRun) checkErased(ctx context.Context) error {
	for _, i := range []uint64{r.tmpl.first, r.tmpl.last} {
		if _, err := r.log.Entry(ctx, i); !errors.Is(err, ledger.ErrErased) {
			return fmt.Errorf("entry %d of the erased subject: got %v, want ErrErased", i, err)
		}
	}
	e, err := r.log.Entry(ctx, r.tmpl.other)
	if err != nil || e.Payload == nil || e.Subject == r.tmpl.subject {
		return fmt.Errorf("entry %d of another subject lost its payload: %v", r.tmpl.other, err)
	}
	return nil
}

func (r *erasureRun) close() error {
	return errors.Join(r.log.Close(), r.store.Close())
}
