package ledger

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/healthledger/healthledger/merkle"
	"golang.org/x/mod/sumdb/note"
)

// Defaults of Config.
const (
	DefaultMaxBatch   = 1024
	DefaultMaxPending = 8192
)

// Log is a verifiable, append-only log of entries. It is safe for
// concurrent use by many goroutines.
//
// Appends are group-committed: a single sequencer goroutine takes every
// append waiting in the queue (up to Config.MaxBatch), has the store assign
// indices, extend the tree, sign one checkpoint and write it all in one
// atomic step, and then wakes each caller with its receipt. When Append
// returns a receipt, the entry is durable (as durable as the store), in the
// tree, and covered by the signed checkpoint in the receipt.
type Log struct {
	cfg      Config
	store    Store
	logger   *slog.Logger
	verifier note.Verifier // of cfg.Signer's key

	// guard keeps the latest signed checkpoint apart from the store;
	// ownGuard says Close closes it (a default FileGuard).
	guard    CheckpointGuard
	ownGuard io.Closer
	// cosign collects witness cosignatures (see Config.Witnesses); nil
	// without witnesses.
	cosign *cosigning
	// metrics are the Log's instruments (no-ops without a MeterProvider).
	metrics *logMetrics

	// mu guards the fields below. They are written by Open and by the
	// sequencer after each commit, read by sign (called by the store
	// inside Add, in the sequencer goroutine).
	mu sync.Mutex
	// head is the tree head of the latest checkpoint committed (the one
	// in the guard); signedAt is its signed time. guarded is the signed
	// checkpoint the guard holds.
	head     TreeHead
	signedAt time.Time
	guarded  []byte
	// pendingAt is the time sign gave the checkpoint being committed.
	pendingAt time.Time
	// guardedSize is the tree size of guarded; published is closed (and
	// replaced) whenever guarded moves, to wake waitPublished.
	guardedSize atomic.Uint64 // written under mu, read without it
	published   chan struct{}

	// queue holds appends waiting for the sequencer; its capacity is
	// MaxPending. Written by Append, read by the sequencer only.
	queue chan *appendReq
	// quit is closed by Close; done is closed by the publisher once the
	// sequencer has stopped and every batch it took has been released or
	// failed.
	quit, done chan struct{}
	closeOnce  sync.Once
	closed     atomic.Bool
	// inflight counts the Appends between their entry and their return,
	// a hint for batching (see gather). publishing counts those of them
	// in batches handed to the publisher and not yet released, and
	// lastPublish is how long the latest batch took from its commit to its
	// release, in nanoseconds (see waitForBatch).
	inflight    atomic.Int64
	publishing  atomic.Int64
	lastPublish atomic.Int64
}

// appendReq is one Append waiting for its batch. The sequencer sets the
// result fields and then closes ready; the caller reads them after that.
type appendReq struct {
	leaf  Leaf
	ready chan struct{}

	index      uint64
	existed    bool
	size       uint64
	checkpoint []byte
	proof      []merkle.Hash
	err        error
}

// appendCall is what one Append allocates: its request and the receipt it
// returns, in one object, so that an append costs one allocation fewer.
// The receipt keeps the object alive; Append drops the request's leaf
// (the encoded payload with it) before returning the receipt.
type appendCall struct {
	req     appendReq
	receipt Receipt
}

// Open starts a Log over cfg.Store. The caller keeps ownership of the
// store: close the Log first, then the store.
//
// Open refuses a store it must not extend: one whose checkpoint is for
// another origin (ErrInvalidConfig), is not signed by cfg.Signer's key
// (ErrWrongKey) or does not match the store's own tree (ErrCorrupt), and
// one that is behind or disagrees with the latest checkpoint the log
// signed, as kept by the checkpoint guard (*RollbackError).
func Open(ctx context.Context, cfg Config) (*Log, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: Config.Store is nil", ErrInvalidConfig)
	case cfg.Signer == nil:
		return nil, fmt.Errorf("%w: Config.Signer is nil", ErrInvalidConfig)
	case cfg.Origin == "" || !utf8.ValidString(cfg.Origin) || bytes.ContainsAny([]byte(cfg.Origin), "\n"):
		return nil, fmt.Errorf("%w: Config.Origin must be one non-empty line", ErrInvalidConfig)
	case cfg.MaxBatch < 0 || cfg.MaxPending < 0:
		return nil, fmt.Errorf("%w: negative MaxBatch or MaxPending", ErrInvalidConfig)
	case cfg.MaxClockSkew < 0:
		return nil, fmt.Errorf("%w: negative MaxClockSkew", ErrInvalidConfig)
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	vkey, err := note.NewEd25519VerifierKey(cfg.Signer.Name(), cfg.Signer.PublicKey())
	if err != nil {
		return nil, fmt.Errorf("%w: Config.Signer: %w", ErrInvalidConfig, err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil || verifier.KeyHash() != cfg.Signer.KeyHash() {
		return nil, fmt.Errorf("%w: Config.Signer's key ID does not match its public key", ErrInvalidConfig)
	}
	l := &Log{
		cfg:       cfg,
		store:     cfg.Store,
		logger:    logger,
		verifier:  verifier,
		queue:     make(chan *appendReq, cfg.MaxPending),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		published: make(chan struct{}),
	}
	if err := l.openGuard(); err != nil {
		return nil, err
	}
	if err := l.checkStore(ctx); err != nil {
		l.closeGuard()
		return nil, err
	}
	if l.cosign, err = newCosigning(cfg, cfg.Signer.PublicKey(), l.head.Size, l.store.ConsistencyProof); err != nil {
		l.closeGuard()
		return nil, err
	}
	l.metrics = newLogMetrics(cfg.MeterProvider, l)
	if l.cosign != nil {
		l.cosign.metrics = l.metrics
	}
	go l.sequence()
	return l, nil
}

// Append adds e to the log and returns its receipt once it is durable and
// covered by a signed checkpoint. Appending an entry identical to one
// already in the log returns the receipt of the existing one (Existed set).
//
// Append fails with ErrPushback when MaxPending appends are already
// waiting, with ErrClosed after Close, with errors wrapping ErrInvalidEntry,
// ErrTooLarge, ErrClockSkew (an entry dated more than MaxClockSkew before
// or after the log's clock) or ErrWriterRejected for entries it refuses
// (nothing is written then). If ctx ends while the entry waits for its batch, Append
// returns ctx.Err() and the entry may or may not be appended; appending it
// again is safe, since it is deduplicated.
//
// Append refuses every KindErasure entry, new or already in the log, with a
// *FieldError wrapping ErrUseErase (and ErrInvalidEntry), and writes
// nothing: an erasure entry says that payloads were deleted, so it enters
// the log only through [Log.Erase], which deletes them.
func (l *Log) Append(ctx context.Context, e *Entry) (*Receipt, error) {
	if e != nil && e.Kind == KindErasure {
		return nil, fieldErr(ErrUseErase, "kind", "refused by Log.Append")
	}
	return l.appendEntry(ctx, e)
}

// appendEntry is Append without the refusal of erasure entries: the way in
// of Log.Erase.
func (l *Log) appendEntry(ctx context.Context, e *Entry) (*Receipt, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	start := time.Now()
	l.inflight.Add(1)
	defer l.inflight.Add(-1)
	data, err := e.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if err := e.checkPayload(); err != nil {
		return nil, err
	}
	if l.cfg.WriterVerifier != nil {
		if err := l.cfg.WriterVerifier.VerifyWriter(ctx, e); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWriterRejected, err)
		}
	}
	call := &appendCall{req: appendReq{
		leaf:  Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: e.Subject},
		ready: make(chan struct{}),
	}}
	r := &call.req
	if e.Payload != nil {
		r.leaf.Payload = encodePayload(e.Payload)
	}
	if err := CheckTime(e.Time, l.cfg.Now(), l.cfg.MaxClockSkew); err != nil {
		// A retry of an entry appended before is answered with its
		// receipt, however long ago that was; a new entry is refused.
		if idx, ierr := l.store.IndexOf(ctx, r.leaf.Hash); ierr == nil {
			return l.existing(ctx, idx)
		}
		return nil, err
	}
	if pc, ok := l.store.(Prechecker); ok {
		// Look for an earlier append here, in parallel with other callers,
		// so that the sequencer only checks what was committed since.
		idx, found, size, err := pc.Precheck(ctx, r.leaf.Hash)
		if err != nil {
			return nil, fmt.Errorf("ledger: duplicate check: %w", err)
		}
		if found {
			return l.existing(ctx, idx)
		}
		r.leaf.AbsentBelow = size
	}
	select {
	case l.queue <- r:
	default:
		l.metrics.pushbacks.Add(ctx, 1)
		return nil, ErrPushback
	}
	if l.closed.Load() {
		// Close may have drained the queue before r was in it: fail what
		// is queued now, r included unless the sequencer took it. Every
		// queued request is closed by whoever takes it from the queue, so
		// r.ready is always closed, and the wait below needs no other
		// channel (every waiter selecting on one shared channel, l.done,
		// made its lock the hottest in the process: 10% of the CPU of 256
		// writers appending to a memory store).
		l.failQueued()
	}
	if done := ctx.Done(); done == nil {
		<-r.ready
	} else {
		select {
		case <-r.ready:
		case <-done:
			return nil, ctx.Err()
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	proof := r.proof
	if proof == nil && r.index < r.size {
		if proof, err = l.store.InclusionProof(ctx, r.index, r.size); err != nil {
			return nil, fmt.Errorf("ledger: inclusion proof for new entry %d: %w", r.index, err)
		}
	}
	l.metrics.appended(start)
	// The sequencer read r.leaf before it closed r.ready and does not
	// touch r after that.
	r.leaf = Leaf{}
	call.receipt = Receipt{Index: r.index, Leaf: data, Proof: proof, Checkpoint: r.checkpoint, Existed: r.existed}
	return &call.receipt, nil
}

// existing returns the receipt of an entry appended before, Existed set.
// The entry may be in a batch the store committed whose checkpoint is not
// published yet (its receipts not released): wait for it.
func (l *Log) existing(ctx context.Context, index uint64) (*Receipt, error) {
	if err := l.waitPublished(ctx, index); err != nil {
		return nil, err
	}
	rc, err := l.Receipt(ctx, index)
	if err != nil {
		return nil, err
	}
	rc.Existed = true
	return rc, nil
}

// sequence is the sequencer goroutine: it owns the store's Add.
//
// It commits batch after batch and hands each committed batch to the
// publisher goroutine, which records the checkpoint in the guard, collects
// witness cosignatures and only then releases the receipts: the guard's
// fsync and the witnesses' round trip of batch N overlap the store commit
// of batch N+1, in order, and no receipt is released early.
func (l *Log) sequence() {
	published := make(chan publishJob, publishDepth)
	go l.publish(published)
	defer close(published)
	for {
		batch := make([]*appendReq, 0, l.cfg.MaxBatch)
		select {
		case <-l.quit:
			l.failQueued()
			return
		case r := <-l.queue:
			batch = append(batch[:0], r)
		}
		l.metrics.queueDepth.Record(context.Background(), int64(len(l.queue)+1))
		l.fill(&batch)
		l.gather(&batch)
		j := l.commit(batch)
		l.publishing.Add(int64(len(batch)))
		published <- j
	}
}

// publishDepth is how many committed batches may wait for the publisher:
// one being published while the next is committed.
const publishDepth = 1

// publishJob is a committed (or failed) batch on its way to its callers.
type publishJob struct {
	batch []*appendReq
	res   AddResult
	err   error
	// committed is when the store's Add returned.
	committed time.Time
}

// publish is the publisher goroutine: it owns the guard's writes and the
// witness rounds, and closes done when the sequencer has stopped and every
// batch it committed has been released.
func (l *Log) publish(jobs <-chan publishJob) {
	defer close(l.done)
	for j := range jobs {
		l.release(j)
	}
}

// maxGatherYields bounds the yields of gather for one batch.
const maxGatherYields = 16

// gather lets appends on their way join batch. While fewer than half of
// the Appends in progress are in it, others are likely runnable but not
// yet queued (on two cores, callers just released compete for the CPU
// with the sequencer), so it yields and takes what was queued meanwhile,
// again as long as the queue keeps growing (at most maxGatherYields times)
// and the batch is not full. Every append of a batch shares one checkpoint
// signature and one store commit, so a larger batch costs each of them
// less. A lone append (one writer) is never held back.
//
// If the store is a [BatchWaiter], gather then waits, up to its BatchWait,
// for more of the Appends in progress to join (see waitForBatch).
func (l *Log) gather(batch *[]*appendReq) {
	l.yieldForBatch(batch)
	if bw, ok := l.store.(BatchWaiter); ok {
		l.waitForBatch(batch, bw.BatchWait())
	}
}

// yieldForBatch is gather's yielding part, for every store.
func (l *Log) yieldForBatch(batch *[]*appendReq) {
	for range maxGatherYields {
		n := len(*batch)
		if n >= l.cfg.MaxBatch || int64(2*n) >= l.inflight.Load() {
			return
		}
		runtime.Gosched()
		l.fill(batch)
		if len(*batch) == n {
			return
		}
	}
}

// batchRecheck is how often waitForBatch looks again at the Appends in
// progress while no append arrives: callers that gave up, or whose
// receipts were just released, no longer count.
const batchRecheck = 250 * time.Microsecond

// waitForBatch waits up to wait for queued appends to join batch, until
// the batch is full or holds every Append on its way (those not queued
// yet: mostly the callers of the batch just committed, about to get their
// receipts and append again). It returns at once when wait is not
// positive or one Append alone is in progress, and when the Log is
// closed.
//
// The callers of a batch being published come back only after its
// publish (the guard's write, witnesses). Once the latest publish took
// longer than wait, they are not counted as on their way: they could not
// join within the bound, and counting them would hold every batch for all
// of it.
func (l *Log) waitForBatch(batch *[]*appendReq, wait time.Duration) {
	if wait <= 0 {
		return
	}
	var (
		deadline time.Time
		tick     *time.Ticker
	)
	for {
		n := len(*batch)
		onTheirWay := l.inflight.Load()
		if time.Duration(l.lastPublish.Load()) > wait {
			onTheirWay -= l.publishing.Load()
		}
		if n >= l.cfg.MaxBatch || int64(n) >= onTheirWay {
			return
		}
		if tick == nil {
			deadline = time.Now().Add(wait)
			tick = time.NewTicker(min(wait, batchRecheck))
			defer tick.Stop()
		}
		select {
		case r := <-l.queue:
			*batch = append(*batch, r)
			l.fill(batch)
		case now := <-tick.C:
			if !now.Before(deadline) {
				l.fill(batch)
				return
			}
		case <-l.quit:
			return
		}
	}
}

// fill moves queued appends into batch, up to MaxBatch, without waiting.
func (l *Log) fill(batch *[]*appendReq) {
	for len(*batch) < l.cfg.MaxBatch {
		select {
		case r := <-l.queue:
			*batch = append(*batch, r)
		default:
			return
		}
	}
}

// commit integrates one batch in the store and records its head as the
// latest committed one (which sign checks the next head against).
func (l *Log) commit(batch []*appendReq) publishJob {
	leaves := make([]Leaf, len(batch))
	for i, r := range batch {
		leaves[i] = r.leaf
	}
	l.metrics.batchSize.Record(context.Background(), int64(len(batch)))
	start := time.Now()
	res, err := l.store.Add(context.Background(), leaves, l.sign)
	committed := time.Now()
	if err == nil && (len(res.Indices) != len(batch) || len(res.Existed) != len(batch) || (res.Proofs != nil && len(res.Proofs) != len(batch))) {
		err = fmt.Errorf("%w: store returned %d indices for %d leaves", ErrCorrupt, len(res.Indices), len(batch))
	}
	if err == nil {
		err = l.committed(res.Head)
	}
	if err == nil {
		l.metrics.commitDuration.Record(context.Background(), committed.Sub(start).Seconds())
	}
	return publishJob{batch: batch, res: res, err: err, committed: committed}
}

// release records a committed batch's checkpoint in the guard, has the
// witnesses cosign it (if any) and wakes its callers. No receipt is
// released before the guard holds the batch's checkpoint and, with
// witnesses, before their quorum cosigned it.
func (l *Log) release(j publishJob) {
	batch, res, err := j.batch, j.res, j.err
	if err == nil {
		err = l.advanceGuard(res.Checkpoint, res.Head.Size)
	}
	if err == nil && l.cosign != nil {
		res.Checkpoint, err = l.cosignBatch(res.Checkpoint)
	}
	if err != nil {
		l.logger.Error("ledger: append batch failed", "entries", len(batch), "error", err)
	}
	var (
		proofs   [][]merkle.Hash
		firstNew uint64
	)
	if err == nil && res.Proofs == nil {
		proofs, firstNew = l.batchProofs(res)
	}
	// Recorded before the callers wake, so that what a caller sees after
	// its Append returned includes its batch.
	l.publishing.Add(-int64(len(batch)))
	took := time.Since(j.committed)
	l.lastPublish.Store(int64(took))
	if err == nil {
		l.metrics.publishDuration.Record(context.Background(), took.Seconds())
	}
	for i, r := range batch {
		if err != nil {
			r.err = err
		} else {
			r.index, r.existed, r.size, r.checkpoint = res.Indices[i], res.Existed[i], res.Head.Size, res.Checkpoint
			switch {
			case res.Proofs != nil:
				r.proof = res.Proofs[i]
			case proofs != nil && r.index >= firstNew && r.index < res.Head.Size:
				r.proof = proofs[r.index-firstNew]
			}
		}
		close(r.ready)
	}
}

// batchProofs builds the inclusion proofs of the leaves a committed batch
// added, which are the last ones of its tree, in one call if the store is
// a BatchProver: proofs[i] is the proof of leaf firstNew+i. It returns nil
// when it cannot (the callers then ask the store for their proof each, and
// see its error if it fails again).
func (l *Log) batchProofs(res AddResult) (proofs [][]merkle.Hash, firstNew uint64) {
	bp, ok := l.store.(BatchProver)
	if !ok {
		return nil, 0
	}
	var added uint64
	for _, existed := range res.Existed {
		if !existed {
			added++
		}
	}
	if added == 0 || added > res.Head.Size {
		return nil, 0
	}
	firstNew = res.Head.Size - added
	proofs, err := bp.InclusionProofs(context.Background(), firstNew, added, res.Head.Size)
	if err != nil || uint64(len(proofs)) != added {
		l.logger.Warn("ledger: building a batch's inclusion proofs failed; each caller asks for its own", "entries", added, "error", err)
		return nil, 0
	}
	return proofs, firstNew
}

// sign signs the tree head the store is about to commit. It refuses a head
// that does not extend the latest committed one by size, and a head of the
// same size with another root: the log never signs two roots for one size.
// Checkpoint times never go backwards, even if the clock does.
func (l *Log) sign(h TreeHead) ([]byte, error) {
	l.mu.Lock()
	last, lastAt := l.head, l.signedAt
	l.mu.Unlock()
	if h.Size < last.Size || (h.Size == last.Size && h.Root != last.Root) {
		return nil, &RollbackError{Guarded: last, Stored: h, Behind: h.Size < last.Size}
	}
	t := l.cfg.Now()
	if t.Before(lastAt) {
		t = lastAt
	}
	l.mu.Lock()
	l.pendingAt = t
	l.mu.Unlock()
	return SignCheckpoint(l.cfg.Signer, Checkpoint{Origin: l.cfg.Origin, Size: h.Size, Root: h.Root}, t)
}

// failQueued fails every append still queued; called by the sequencer on
// quit, by Close, and by an Append that queued after Close began.
func (l *Log) failQueued() {
	for {
		select {
		case r := <-l.queue:
			r.err = ErrClosed
			close(r.ready)
		default:
			return
		}
	}
}

// Close stops the Log: appends not yet committed fail with ErrClosed, and
// later calls fail with ErrClosed. It waits for a batch being committed to
// finish. It does not close the store.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		close(l.quit)
	})
	<-l.done
	// An Append that passed the closed check may have queued after the
	// sequencer drained the queue; this fails it (or the Append itself
	// does, if it queued later still: it checks closed after queueing).
	l.failQueued()
	return l.closeGuard()
}

// Origin returns the log's origin line.
func (l *Log) Origin() string { return l.cfg.Origin }

// Leaf returns the exact leaf bytes at index.
func (l *Log) Leaf(ctx context.Context, index uint64) ([]byte, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	if err := l.readable(index); err != nil {
		return nil, err
	}
	return l.store.Leaf(ctx, index)
}

// publishedSize returns the size of the published checkpoint. The Log's
// reads stop there: the store may hold a newer batch whose checkpoint is
// not published yet, and nothing of that batch is shown before it is.
func (l *Log) publishedSize() uint64 {
	return l.guardedSize.Load()
}

// readable fails with ErrNotFound for an index beyond the published size.
func (l *Log) readable(index uint64) error {
	if size := l.publishedSize(); index >= size {
		return fmt.Errorf("%w: index %d, published size %d", ErrNotFound, index, size)
	}
	return nil
}

// Entry returns the entry at index, with its payload (read from beside the
// tree and checked against the leaf's commitment) for a version 2 entry.
// An entry whose payload was erased fails with an *ErasedError carrying
// the erasure entry's receipt; its leaf is still readable with Log.Leaf.
func (l *Log) Entry(ctx context.Context, index uint64) (*Entry, error) {
	data, err := l.Leaf(ctx, index)
	if err != nil {
		return nil, err
	}
	e, err := UnmarshalEntry(data)
	if err != nil {
		return nil, fmt.Errorf("%w: entry %d: %w", ErrCorrupt, index, err)
	}
	if e.PayloadCommitment != (Commitment{}) {
		if err := l.readPayload(ctx, e, index); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// InclusionProof returns the proof that the entry at index is in the tree
// of the given size.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([]merkle.Hash, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	if size > l.publishedSize() {
		return nil, fmt.Errorf("%w: tree size %d beyond the published size", ErrNotFound, size)
	}
	return l.store.InclusionProof(ctx, index, size)
}

// ConsistencyProof returns the proof that the tree of size m is a prefix of
// the tree of size n.
func (l *Log) ConsistencyProof(ctx context.Context, m, n uint64) ([]merkle.Hash, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	if n > l.publishedSize() {
		return nil, fmt.Errorf("%w: tree size %d beyond the published size", ErrNotFound, n)
	}
	return l.store.ConsistencyProof(ctx, m, n)
}

// Checkpoint returns the latest signed checkpoint (a C2SP tlog-checkpoint
// note), or ErrEmptyLog. With Config.Witnesses, it is the latest
// checkpoint that met the witness quorum, with the cosignatures (see
// cosignedCheckpoint).
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	if l.cosign != nil {
		return l.cosignedCheckpoint(ctx)
	}
	return l.publishedCheckpoint()
}

// waitPublished waits until the published checkpoint covers index.
func (l *Log) waitPublished(ctx context.Context, index uint64) error {
	for {
		l.mu.Lock()
		size, ch := l.guardedSize.Load(), l.published
		l.mu.Unlock()
		if index < size {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			return ErrClosed
		}
	}
}

// publishedCheckpoint returns the latest checkpoint the guard holds: the store may
// already hold a newer one whose batch is not released yet, and a
// checkpoint is shown to nobody before the guard has it (a store that then
// lost that batch could otherwise be extended into a fork of a checkpoint
// someone saw).
func (l *Log) publishedCheckpoint() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.guarded == nil {
		return nil, ErrEmptyLog
	}
	return bytes.Clone(l.guarded), nil
}

// Receipt returns a receipt for the entry at index against the latest
// checkpoint. With Config.Witnesses, that checkpoint carries the witness
// quorum's cosignatures, collected now if they were not (an error wrapping
// ErrWitnessQuorum if the witnesses do not cosign).
func (l *Log) Receipt(ctx context.Context, index uint64) (*Receipt, error) {
	cp, err := l.receiptCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	c, err := ParseSignedCheckpoint(cp)
	if err != nil {
		return nil, fmt.Errorf("%w: stored checkpoint: %w", ErrCorrupt, err)
	}
	if index >= c.Size {
		return nil, fmt.Errorf("%w: index %d, log size %d", ErrNotFound, index, c.Size)
	}
	leaf, err := l.store.Leaf(ctx, index)
	if err != nil {
		return nil, err
	}
	proof, err := l.store.InclusionProof(ctx, index, c.Size)
	if err != nil {
		return nil, err
	}
	return &Receipt{Index: index, Leaf: leaf, Proof: proof, Checkpoint: cp}, nil
}

// BySubject returns up to limit indices of entries with the subject tag, in
// increasing order, from index start on.
func (l *Log) BySubject(ctx context.Context, s SubjectTag, start uint64, limit int) ([]uint64, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	idx, err := l.store.BySubject(ctx, s, start, limit)
	size := l.publishedSize()
	for len(idx) > 0 && idx[len(idx)-1] >= size {
		idx = idx[:len(idx)-1]
	}
	return idx, err
}

// Tile returns the C2SP tlog-tiles content of a hash tile of the log's
// tree (see [Store.Tile]): what package ledger/tileserver serves at
// /tile/<level>/<index>[.p/<width>].
func (l *Log) Tile(ctx context.Context, level uint8, index uint64, width int) ([]byte, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	if width > merkle.TileWidthAt(l.publishedSize(), merkle.TileID{Level: level, Index: index}) {
		return nil, fmt.Errorf("%w: tile beyond the published size", ErrNotFound)
	}
	return l.store.Tile(ctx, level, index, width)
}

// EntryBundle returns the C2SP tlog-tiles entry bundle of the leaves
// [256*index, 256*index+width) (see [Store.EntryBundle]).
func (l *Log) EntryBundle(ctx context.Context, index uint64, width int) ([]byte, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	if width > merkle.TileWidthAt(l.publishedSize(), merkle.TileID{Index: index}) {
		return nil, fmt.Errorf("%w: entry bundle beyond the published size", ErrNotFound)
	}
	return l.store.EntryBundle(ctx, index, width)
}

// Payload returns what the store keeps beside the leaf at index: the
// payload's salt followed by its data (see [Payload]), as stored and not
// checked; [Log.Entry] returns payloads checked against their commitment.
// It fails with an error wrapping ErrNotFound if the entry has no payload
// and with an *ErasedError if an erasure deleted it. It exists for
// package ledger/tileserver, which serves payloads only when configured
// to.
func (l *Log) Payload(ctx context.Context, index uint64) ([]byte, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	if err := l.readable(index); err != nil {
		return nil, err
	}
	return l.store.Payload(ctx, index)
}
