package identity

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"golang.org/x/mod/sumdb/note"
)

// Ledger is the part of a ledger a Resolver reads. *ledger.Log implements
// it. Implementations MUST be safe for concurrent use.
type Ledger interface {
	// Checkpoint returns the latest signed checkpoint note.
	Checkpoint(ctx context.Context) ([]byte, error)
	// BySubject returns up to limit indices of entries with the subject
	// tag, in increasing order, from start (inclusive).
	BySubject(ctx context.Context, s ledger.SubjectTag, start uint64, limit int) ([]uint64, error)
	// Leaf returns the exact leaf bytes (encoded entry) at index.
	Leaf(ctx context.Context, index uint64) ([]byte, error)
	// InclusionProof returns the proof of leaf index in the tree of size.
	InclusionProof(ctx context.Context, index, size uint64) ([]merkle.Hash, error)
}

// Ledger entry kinds of identity operations: KindIdentityFirst + OpType.
const (
	KindCreate     = ledger.KindIdentityFirst + ledger.Kind(OpCreate)
	KindUpdate     = ledger.KindIdentityFirst + ledger.Kind(OpUpdate)
	KindRotate     = ledger.KindIdentityFirst + ledger.Kind(OpRotate)
	KindDeactivate = ledger.KindIdentityFirst + ledger.Kind(OpDeactivate)
)

// Defaults of Config.
const (
	DefaultMaxOperations = 10000
	DefaultMaxClockSkew  = 5 * time.Minute
)

// Config configures a [Resolver]. The zero value of each field means its
// documented default.
type Config struct {
	// Ledger is where did:hl operations are read. Nil means none yet; set it
	// later with [Resolver.SetLedger] (a Log that uses the Resolver as its
	// WriterVerifier must be opened first). Without a ledger, did:hl
	// resolution fails with ErrNoLedger; did:key still works.
	Ledger Ledger
	// CheckpointVerifier, if set, must have signed every checkpoint the
	// Resolver relies on, and Origin must then be the log's origin. Nil
	// means the checkpoint's signature is not checked (inclusion in the
	// checkpoint's tree still is): use that only with a local, trusted Log.
	CheckpointVerifier note.Verifier
	// Origin is the log's checkpoint origin. Required with CheckpointVerifier.
	Origin string
	// Rules are the state machine parameters (recovery window, default 72 h).
	Rules Rules
	// MaxOperations bounds the operations read for one DID. Default
	// DefaultMaxOperations.
	MaxOperations int
	// MaxClockSkew is how far in the future (by Now) VerifyWriter accepts
	// an identity operation's time. Default DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// CurrentWriterKeys makes VerifyWriter also require that the key that
	// signed a non-identity entry is still an assertionMethod key of its
	// writer now (by Now), not only at the entry's time. Entry times are
	// asserted by the writer, so without it a key that was removed can
	// still sign entries dated back to when it was valid. Default false:
	// the key must be valid at the entry's time only.
	CurrentWriterKeys bool
	// Now returns the current time for VerifyWriter. Default time.Now.
	Now func() time.Time
	// CacheOperations is how many verified operations (and operation
	// signatures) the Resolver remembers, so that resolving a DID again
	// verifies only what is new. Cached results are pure functions of
	// immutable, content-addressed data, and cached entries are trusted only
	// while each newer checkpoint is proven consistent with the one they
	// were verified against (when the Ledger has a ConsistencyProof method,
	// as *ledger.Log does; otherwise entries are re-verified whenever the
	// checkpoint changes). Zero means DefaultCacheOperations; negative
	// disables the cache.
	CacheOperations int
	// Logger receives debug logs (DIDs and indices only). Nil is silent.
	Logger *slog.Logger
}

// Resolver resolves did:hl DIDs from a ledger and did:key DIDs from the DID
// itself, verifies signatures against the resolved documents, and
// implements ledger.WriterVerifier. It is safe for concurrent use.
type Resolver struct {
	cfg    Config
	ledger atomic.Pointer[Ledger] // set once by NewResolver or SetLedger
	cache  *opCache               // nil when disabled; has its own lock
}

// NewResolver returns a Resolver.
func NewResolver(cfg Config) (*Resolver, error) {
	if cfg.CheckpointVerifier != nil && cfg.Origin == "" {
		return nil, fmt.Errorf("identity: Config.Origin is required with a CheckpointVerifier")
	}
	if cfg.MaxOperations <= 0 {
		cfg.MaxOperations = DefaultMaxOperations
	}
	if cfg.MaxClockSkew <= 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Resolver{cfg: cfg, cache: newOpCache(cfg.CacheOperations)}
	if cfg.Ledger != nil {
		r.SetLedger(cfg.Ledger)
	}
	return r, nil
}

// SetLedger sets the ledger did:hl DIDs are resolved from. It exists for
// the construction cycle of a Log that uses this Resolver as its
// WriterVerifier; call it once, before the first did:hl resolution.
func (r *Resolver) SetLedger(l Ledger) { r.ledger.Store(&l) }

func (r *Resolver) getLedger() (Ledger, error) {
	p := r.ledger.Load()
	if p == nil || *p == nil {
		return nil, ErrNoLedger
	}
	return *p, nil
}

func (r *Resolver) debug(msg string, args ...any) {
	if r.cfg.Logger != nil {
		r.cfg.Logger.Debug(msg, args...)
	}
}

// SubjectTag returns the ledger subject tag of a DID's operations:
// ledger.DeriveSubjectTag("did", did).
func SubjectTag(did string) ledger.SubjectTag { return ledger.DeriveSubjectTag("did", did) }

// checkpoint reads and checks the latest checkpoint and moves the cache's
// trusted tree to it.
func (r *Resolver) checkpoint(ctx context.Context, l Ledger) (ledger.Checkpoint, error) {
	signed, err := l.Checkpoint(ctx)
	if err != nil {
		return ledger.Checkpoint{}, fmt.Errorf("identity: reading checkpoint: %w", err)
	}
	if cp, ok := r.cache.knownCheckpoint(signed); ok {
		return cp, nil
	}
	cp, err := r.openCheckpoint(signed)
	if err != nil {
		return cp, err
	}
	if err := r.cache.advance(ctx, l, signed, cp); err != nil {
		return cp, err
	}
	return cp, nil
}

func (r *Resolver) openCheckpoint(signed []byte) (ledger.Checkpoint, error) {
	if r.cfg.CheckpointVerifier != nil {
		cp, _, err := ledger.OpenCheckpoint(signed, r.cfg.Origin, r.cfg.CheckpointVerifier)
		if err != nil {
			return ledger.Checkpoint{}, fmt.Errorf("%w: checkpoint: %w", ErrNotIncluded, err)
		}
		return cp, nil
	}
	cp, err := ledger.ParseSignedCheckpoint(signed)
	if err != nil {
		return ledger.Checkpoint{}, fmt.Errorf("%w: checkpoint: %w", ErrNotIncluded, err)
	}
	return cp, nil
}

// subjectIndices lists the indices of a DID's entries below size, in
// increasing order. Replay order is ledger index order, so a ledger that
// lists them otherwise (which its contract forbids) is an error, not an
// order to follow.
func (r *Resolver) subjectIndices(ctx context.Context, l Ledger, did string, size uint64) ([]uint64, error) {
	tag := SubjectTag(did)
	const page = 1024
	var out []uint64
	var start uint64
	for {
		idx, err := l.BySubject(ctx, tag, start, page)
		if err != nil {
			return nil, fmt.Errorf("identity: reading subject index: %w", err)
		}
		for _, i := range idx {
			if i < start || (len(out) > 0 && i <= out[len(out)-1]) {
				return nil, fmt.Errorf("%w: subject index lists %d out of increasing order", ErrNotIncluded, i)
			}
			if i >= size {
				return out, nil
			}
			out = append(out, i)
		}
		if len(idx) < page {
			return out, nil
		}
		start = idx[len(idx)-1] + 1
	}
}

// chain reads, verifies and replays the operations of did that are in the
// ledger below limit (0: no limit), checking each entry's inclusion in the
// latest checkpoint.
func (r *Resolver) chain(ctx context.Context, did string, limit uint64) (*Chain, ledger.Checkpoint, error) {
	l, err := r.getLedger()
	if err != nil {
		return nil, ledger.Checkpoint{}, err
	}
	cp, err := r.checkpoint(ctx, l)
	if err != nil {
		return nil, cp, err
	}
	size := cp.Size
	if limit > cp.Size {
		return nil, cp, fmt.Errorf("%w (%w): size %d, checkpoint size %d", ErrSizeBeyondLedger, ledger.ErrNotFound, limit, cp.Size)
	}
	if limit > 0 {
		size = limit
	}
	indices, err := r.subjectIndices(ctx, l, did, size)
	if err != nil {
		return nil, cp, err
	}
	leaves := make([]verifiedLeaf, len(indices))
	for i, index := range indices {
		if v, ok := r.cache.leaf(index, cp); ok && v.did == did {
			leaves[i] = v
			continue
		}
		v, err := r.loadLeaf(ctx, l, did, index, cp)
		if err != nil {
			return nil, cp, err
		}
		r.cache.putLeaf(index, cp, v)
		leaves[i] = v
	}
	// The bound counts operations, not entries: anyone may append entries
	// under a DID's subject tag, and such junk must not stop the DID from
	// resolving (it is read, found invalid and skipped).
	ops := 0
	for _, v := range leaves {
		if v.op != nil {
			ops++
		}
	}
	if ops > r.cfg.MaxOperations {
		return nil, cp, fmt.Errorf("%w: more than %d", ErrTooManyOperations, r.cfg.MaxOperations)
	}
	r.cache.preverify(leaves)
	c := NewChain(did, r.cfg.Rules)
	c.sigs = r.cache
	for i, v := range leaves {
		if v.op == nil {
			c.reject(indices[i], v.err)
			r.debug("identity: skipping invalid operation entry", "did", did, "index", indices[i])
			continue
		}
		if err := c.apply(indices[i], v.op, v.opH, nil); err != nil {
			r.debug("identity: operation rejected", "did", did, "index", indices[i])
		}
	}
	return c, cp, nil
}

// loadLeaf reads the entry at index, verifies its inclusion in cp and
// decodes its operation. An entry that is not a valid operation of did is
// returned with err set; only I/O and inclusion failures are errors.
func (r *Resolver) loadLeaf(ctx context.Context, l Ledger, did string, index uint64, cp ledger.Checkpoint) (verifiedLeaf, error) {
	leaf, err := l.Leaf(ctx, index)
	if err != nil {
		return verifiedLeaf{}, fmt.Errorf("identity: reading entry %d: %w", index, err)
	}
	proof, err := l.InclusionProof(ctx, index, cp.Size)
	if err != nil {
		return verifiedLeaf{}, fmt.Errorf("identity: inclusion proof of entry %d: %w", index, err)
	}
	lh := merkle.HashLeaf(leaf)
	if err := merkle.VerifyInclusion(lh, index, cp.Size, proof, cp.Root); err != nil {
		return verifiedLeaf{}, fmt.Errorf("%w: entry %d: %w", ErrNotIncluded, index, err)
	}
	v := verifiedLeaf{hash: lh, did: did}
	if v.op, v.err = operationFromLeaf(did, leaf); v.err == nil {
		if v.opH, v.err = v.op.Hash(); v.err != nil {
			v.op = nil
		}
	}
	return v, nil
}

// reject records an entry that does not even decode as an operation.
func (c *Chain) reject(index uint64, err error) {
	if oerr := c.inOrder(index); oerr != nil {
		err = oerr
	}
	c.history = append(c.history, HistoryEntry{Index: index, Status: StatusRejected, Signer: -1, Err: err})
}

// operationFromLeaf decodes an identity operation entry of did and checks
// that the entry and the operation agree (SPEC.md, "Ledger entries").
func operationFromLeaf(did string, leaf []byte) (*Operation, error) {
	e, err := ledger.UnmarshalEntry(leaf)
	if err != nil {
		return nil, fmt.Errorf("%w: entry: %w", ErrMalformedOperation, err)
	}
	return OperationFromEntry(did, e)
}

// OperationFromEntry decodes the operation carried by a ledger entry of did
// and checks the entry's kind, writer, subject, digest and time against it.
func OperationFromEntry(did string, e *ledger.Entry) (*Operation, error) {
	if e.Kind < KindCreate || e.Kind > KindDeactivate {
		return nil, fmt.Errorf("%w: entry kind %#04x is not an identity operation", ErrMalformedOperation, uint16(e.Kind))
	}
	if e.Writer != did || e.Subject != SubjectTag(did) {
		return nil, ErrDIDMismatch
	}
	if ledger.Digest(sha256.Sum256(e.Body)) != e.Digest {
		return nil, fmt.Errorf("%w: entry digest is not SHA-256 of the body", ErrMalformedOperation)
	}
	op, err := UnmarshalOperation(e.Body)
	if err != nil {
		return nil, err
	}
	if ledger.Kind(op.Type)+ledger.KindIdentityFirst != e.Kind {
		return nil, fmt.Errorf("%w: entry kind does not match operation type", ErrMalformedOperation)
	}
	if !op.Time.Equal(e.Time) {
		return nil, fmt.Errorf("%w: entry time differs from operation time", ErrMalformedOperation)
	}
	return op, nil
}

// OperationEntry returns the ledger entry that carries op for did, signed
// (as the entry's writer signature) by signer, which must be the rotation
// key that signed op.
//
// Keep the entry until its append has a receipt. If an append times out or
// its reply is lost, retry by appending the same *ledger.Entry (the same
// bytes): the Log deduplicates it and returns the existing index with
// Receipt.Existed set, and a Resolver used as WriterVerifier accepts an
// exact re-append. Do not call OperationEntry or NewOperation again
// instead: P-256 signatures are randomized, so the new entry (or operation)
// would differ, and a second entry for an operation already in the ledger
// is refused with ErrReplayed (a second operation after the same prev would
// be a conflicting one).
func OperationEntry(did string, op *Operation, signer *PrivateKey) (*ledger.Entry, error) {
	if _, err := ParseDID(did); err != nil {
		return nil, err
	}
	body, err := op.MarshalBinary()
	if err != nil {
		return nil, err
	}
	e := &ledger.Entry{
		Kind:    ledger.KindIdentityFirst + ledger.Kind(op.Type),
		Subject: SubjectTag(did),
		Writer:  did,
		Time:    op.Time,
		Digest:  ledger.Digest(sha256.Sum256(body)),
		Body:    body,
	}
	if err := SignEntry(e, signer); err != nil {
		return nil, err
	}
	return e, nil
}

// SignEntry sets e.Signature to k's signature over e.SignedMessage().
func SignEntry(e *ledger.Entry, k *PrivateKey) error {
	msg, err := e.SignedMessage()
	if err != nil {
		return fmt.Errorf("identity: encoding entry to sign: %w", err)
	}
	sig, err := k.Sign(msg)
	if err != nil {
		return err
	}
	e.Signature = sig
	return nil
}
