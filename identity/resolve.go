package identity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/healthledger/healthledger/ledger"
)

// Metadata is the DID document metadata of a resolution.
type Metadata struct {
	// Created is the time of the genesis operation (did:hl only).
	Created time.Time `json:"created,omitzero"`
	// Updated is the time of the operation that set this version.
	Updated time.Time `json:"updated,omitzero"`
	// Deactivated reports a deactivated DID; the document is then empty.
	Deactivated bool `json:"deactivated,omitempty"`
	// VersionID is the hex hash of the operation that set this version.
	VersionID string `json:"versionId,omitempty"`
	// LogIndex is the ledger index of that operation's entry.
	LogIndex uint64 `json:"logIndex,omitempty"`
	// TreeSize is the size of the checkpoint the operations were checked
	// against.
	TreeSize uint64 `json:"treeSize,omitempty"`
}

// Resolution is the result of resolving a DID.
type Resolution struct {
	// Document is the DID document.
	Document *Document
	// Metadata describes the version.
	Metadata Metadata
	// RotationKeys are the rotation keys of this version, highest priority
	// first (did:hl only; empty when deactivated).
	RotationKeys []PublicKey
	// History is the audit history of every operation read (did:hl only).
	History []HistoryEntry
	// Head is the operation that set this version, with its hash and
	// ledger index (did:hl only; nil for did:key). For [Resolver.Resolve]
	// it is the DID's current head: the next operation names Head.Hash as
	// its prev, starts from Head.Operation.State, is dated at or after
	// Head.Operation.Time and is signed by one of RotationKeys, with no
	// need to read the ledger again. Head.Operation is a copy; changing it
	// changes nothing in the Resolver.
	Head *Version
}

// Resolve resolves did at its latest version.
func (r *Resolver) Resolve(ctx context.Context, did string) (*Resolution, error) {
	return r.resolve(ctx, did, func(c *Chain) (Version, error) { return c.Head() }, 0)
}

// ResolveAt resolves did as it was at time t according to the ledger's
// current history: the last non-nullified operation dated at or before t
// (an operation takes effect at exactly its time). Operations nullified by
// a recovery never count, even for times before the recovery.
func (r *Resolver) ResolveAt(ctx context.Context, did string, t time.Time) (*Resolution, error) {
	return r.resolve(ctx, did, func(c *Chain) (Version, error) { return c.At(t) }, 0)
}

// ResolveAtSize resolves did as a reader saw it when the ledger had size
// entries: only entries with index < size are replayed, so operations that
// a later recovery nullified still count here. A size of 0, or one at
// which the DID did not exist yet, fails with ErrNotFound; a size larger
// than the ledger's latest checkpoint fails with ErrSizeBeyondLedger
// (which also matches ledger.ErrNotFound), since the ledger cannot show
// what it has not yet integrated.
func (r *Resolver) ResolveAtSize(ctx context.Context, did string, size uint64) (*Resolution, error) {
	if size == 0 {
		return nil, fmt.Errorf("%w: empty ledger", ErrNotFound)
	}
	return r.resolve(ctx, did, func(c *Chain) (Version, error) { return c.Head() }, size)
}

func (r *Resolver) resolve(ctx context.Context, did string, pick func(*Chain) (Version, error), limit uint64) (*Resolution, error) {
	d, err := ParseDID(did)
	if err != nil {
		return nil, err
	}
	if d.Method == MethodKey {
		k, err := ParseMultibase(d.ID)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedDID, err)
		}
		return &Resolution{Document: didKeyDocument(did, k)}, nil
	}
	c, cp, err := r.chain(ctx, did, limit)
	if err != nil {
		return nil, err
	}
	v, err := pick(c)
	if err != nil {
		return nil, err
	}
	head := v
	head.Operation = v.Operation.Clone()
	res := &Resolution{
		Metadata: Metadata{
			Created: v.Created, Updated: v.Operation.Time, Deactivated: v.Deactivated,
			VersionID: v.Hash.String(), LogIndex: v.Index, TreeSize: cp.Size,
		},
		RotationKeys: slices.Clone(v.Operation.State.RotationKeys),
		History:      c.History(),
		Head:         &head,
	}
	if v.Deactivated {
		res.Document = NewDocument(did, &State{})
	} else {
		res.Document = NewDocument(did, &v.Operation.State)
	}
	return res, nil
}

// documentAt resolves did at time t and fails with ErrDeactivated for a
// deactivated DID.
func (r *Resolver) documentAt(ctx context.Context, did string, t time.Time) (*Document, error) {
	res, err := r.ResolveAt(ctx, did, t)
	if err != nil {
		return nil, err
	}
	if res.Metadata.Deactivated {
		return nil, ErrDeactivated
	}
	return res.Document, nil
}

// CheckSignature checks that signature is a signature over message by a key
// in the assertionMethod relationship of did's document as of time at. Keys
// removed or rotated away before at fail; a key valid at at still verifies
// after it was removed. It returns nil or an error wrapping ErrBadSignature,
// ErrDeactivated, ErrNotFound or a resolution error.
func (r *Resolver) CheckSignature(ctx context.Context, did string, message, signature []byte, at time.Time) error {
	doc, err := r.documentAt(ctx, did, at)
	if err != nil {
		return err
	}
	keys, err := doc.Keys(AssertionMethod)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Verify(message, signature) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: no assertionMethod key of the DID at that time verifies", ErrBadSignature)
}

// VerifyWriter implements ledger.WriterVerifier. For an identity operation
// entry (kinds KindCreate..KindDeactivate) the operation must be valid as
// the DID's next operation (every rule of SPEC.md, checked against the
// ledger's current state), its time at most MaxClockSkew ahead of Now, and
// the entry must be signed by the rotation key that signed the operation.
// Any other entry must be signed by an assertionMethod key of its writer
// (did:hl as of the entry's time, or did:key). Errors are typed identity
// errors; the Log wraps them with ledger.ErrWriterRejected.
func (r *Resolver) VerifyWriter(ctx context.Context, e *ledger.Entry) error {
	if e == nil {
		return fmt.Errorf("%w: nil entry", ErrBadSignature)
	}
	msg, err := e.SignedMessage()
	if err != nil {
		return fmt.Errorf("identity: encoding entry: %w", err)
	}
	if e.Kind >= ledger.KindIdentityFirst && e.Kind <= ledger.KindIdentityLast {
		return r.verifyOperationEntry(ctx, e, msg)
	}
	if len(e.Signature) == 0 {
		return fmt.Errorf("%w: entry is not signed", ErrBadSignature)
	}
	if err := r.CheckSignature(ctx, e.Writer, msg, e.Signature, e.Time); err != nil {
		return err
	}
	if r.cfg.CurrentWriterKeys {
		if err := r.CheckSignature(ctx, e.Writer, msg, e.Signature, r.cfg.Now()); err != nil {
			return fmt.Errorf("signing key is no longer valid: %w", err)
		}
	}
	return nil
}

func (r *Resolver) verifyOperationEntry(ctx context.Context, e *ledger.Entry, msg []byte) error {
	d, err := ParseDID(e.Writer)
	if err != nil {
		return err
	}
	if d.Method != MethodHL {
		return fmt.Errorf("%w: identity operations are for did:hl DIDs", ErrUnsupportedMethod)
	}
	op, err := OperationFromEntry(e.Writer, e)
	if err != nil {
		return err
	}
	if op.Time.After(r.cfg.Now().Add(r.cfg.MaxClockSkew)) {
		return ErrClockSkew
	}
	c, _, err := r.chain(ctx, e.Writer, 0)
	if errors.Is(err, ledger.ErrEmptyLog) && op.Type == OpCreate {
		c, err = NewChain(e.Writer, r.cfg.Rules), nil
	}
	if err != nil {
		return err
	}
	signer, err := c.Check(op)
	if errors.Is(err, ErrReplayed) && r.sameEntryStored(ctx, c, op, e) {
		return nil // an exact re-append: the Log deduplicates it
	}
	if err != nil {
		return err
	}
	if err := signer.Verify(msg, e.Signature); err != nil {
		return fmt.Errorf("%w: entry not signed by the operation's rotation key", ErrBadSignature)
	}
	return nil
}

// sameEntryStored reports whether the exact entry e, carrying the already
// applied operation op, is in the ledger, so that retrying an append stays
// idempotent.
func (r *Resolver) sameEntryStored(ctx context.Context, c *Chain, op *Operation, e *ledger.Entry) bool {
	h, err := op.Hash()
	if err != nil {
		return false
	}
	want, err := e.MarshalBinary()
	if err != nil {
		return false
	}
	l, err := r.getLedger()
	if err != nil {
		return false
	}
	for _, he := range c.history {
		if he.Hash != h || he.Status == StatusRejected {
			continue
		}
		got, err := l.Leaf(ctx, he.Index)
		return err == nil && bytes.Equal(got, want)
	}
	return false
}
