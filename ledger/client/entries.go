package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// maxBundleSize is the largest entry bundle the protocol allows.
const maxBundleSize = merkle.TileWidth * (2 + ledger.MaxEntrySize)

// bundle fetches entry bundle n of the given width of the tree (size,
// root) and checks every leaf against the level-0 tile hashes, which are
// verified against the root.
func (c *Client) bundle(ctx context.Context, cp ledger.Checkpoint, n uint64, width int) ([][]byte, error) {
	data, err := c.fetch(ctx, merkle.EntryBundlePath(n, width), maxBundleSize)
	if err != nil {
		return nil, fmt.Errorf("client: fetching entry bundle %d: %w", n, err)
	}
	leaves, err := ledger.ParseEntryBundle(data, width)
	if err != nil {
		return nil, fmt.Errorf("%w: entry bundle %d: %w", ledger.ErrInvalidProof, n, err)
	}
	ids := make([]merkle.NodeID, width)
	for i := range ids {
		ids[i] = merkle.NewNodeID(0, n*merkle.TileWidth+uint64(i))
	}
	want := make([]merkle.Hash, width)
	if err := c.reader(ctx, cp.Size, cp.Root, false).ReadHashes(ids, want); err != nil {
		return nil, c.readErr(err)
	}
	for i, l := range leaves {
		if merkle.HashLeaf(l) != want[i] {
			return nil, fmt.Errorf("%w: entry %d of bundle %d does not match the tree", ledger.ErrInvalidProof, i, n)
		}
	}
	return leaves, nil
}

// Leaf returns the exact leaf bytes at index, read from an entry bundle
// and verified against the trusted checkpoint. The leaf may be anything
// the log stores (for a log that is not a healthledger, raw bytes); see
// Entry to decode a healthledger entry. It implements identity.Ledger.
func (c *Client) Leaf(ctx context.Context, index uint64) ([]byte, error) {
	cp, err := c.trusted()
	if err != nil {
		return nil, err
	}
	if index >= cp.Size {
		return nil, fmt.Errorf("%w: index %d, trusted size %d", ledger.ErrNotFound, index, cp.Size)
	}
	n := index / merkle.TileWidth
	leaves, err := c.bundle(ctx, cp, n, merkle.TileWidthAt(cp.Size, merkle.TileID{Index: n}))
	if err != nil {
		return nil, err
	}
	return leaves[index%merkle.TileWidth], nil
}

// Entry returns the healthledger entry at index (see Leaf). It fails with
// an error wrapping ledger.ErrMalformed if the leaf is not an entry. With
// Config.Payloads, an entry that commits to a payload comes with it,
// checked against the commitment; a payload the server says was erased is
// a *ledger.ErasedError, after the Client checked that the log holds an
// erasure entry that covers it (with that entry's receipt in Erasure).
func (c *Client) Entry(ctx context.Context, index uint64) (*ledger.Entry, error) {
	leaf, err := c.Leaf(ctx, index)
	if err != nil {
		return nil, err
	}
	e, err := ledger.UnmarshalEntry(leaf)
	if err != nil {
		return nil, err
	}
	if c.payloads && e.PayloadCommitment != (ledger.Commitment{}) {
		if err := c.payload(ctx, index, e); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// payload fetches and checks the payload of e, the entry at index.
func (c *Client) payload(ctx context.Context, index uint64, e *ledger.Entry) error {
	path := "payload/" + strconv.FormatUint(index, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusGone:
		return c.erased(ctx, index, e, resp.Header.Get("X-Erased-By"))
	case http.StatusNotFound:
		return fmt.Errorf("%w: the server does not serve the payload of entry %d", ledger.ErrNotFound, index)
	default:
		return &HTTPError{Path: path, Status: resp.StatusCode}
	}
	const limit = ledger.PayloadSaltSize + ledger.MaxPayloadSize
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return err
	}
	if len(body) < ledger.PayloadSaltSize || len(body) > limit {
		return fmt.Errorf("%w: payload of entry %d has %d bytes", ledger.ErrInvalidProof, index, len(body))
	}
	p := &ledger.Payload{Data: body[ledger.PayloadSaltSize:]}
	copy(p.Salt[:], body)
	if p.Commitment() != e.PayloadCommitment {
		return fmt.Errorf("%w: payload of entry %d does not match its commitment", ledger.ErrInvalidProof, index)
	}
	e.Payload = p
	return nil
}

// erased checks the server's claim that the payload of e (at index) was
// erased by the entry at the index in by: that entry must be in the
// trusted tree, be an erasure, and cover e. A false claim is
// ErrInvalidProof: the server is withholding a payload.
func (c *Client) erased(ctx context.Context, index uint64, e *ledger.Entry, by string) error {
	at, err := strconv.ParseUint(by, 10, 64)
	if err != nil || at <= index {
		// An erasure deletes the payloads of entries before its own.
		return fmt.Errorf("%w: payload of entry %d reported erased without a later erasure entry", ledger.ErrInvalidProof, index)
	}
	// The erasure entry is read from its leaf alone (an erasure carries
	// its body in the leaf), so a lying server cannot send the Client
	// from erasure to erasure.
	leaf, err := c.Leaf(ctx, at)
	var ex *ledger.Entry
	if err == nil {
		ex, err = ledger.UnmarshalEntry(leaf)
	}
	if err != nil {
		return fmt.Errorf("%w: payload of entry %d reported erased by entry %d: %w", ledger.ErrInvalidProof, index, at, err)
	}
	x, err := ledger.ParseErasure(ex)
	if err != nil || !x.CoversAt(ex, at, e, index) {
		return fmt.Errorf("%w: payload of entry %d reported erased by entry %d, which does not erase it", ledger.ErrInvalidProof, index, at)
	}
	ee := &ledger.ErasedError{Index: index, ErasedBy: at}
	if rc, err := c.Receipt(ctx, at); err == nil {
		ee.Erasure = rc
	}
	return ee
}

// Receipt returns a receipt for the entry at index against the trusted
// checkpoint, with the checkpoint's cosignatures, for a ledger.Verifier to
// check offline.
func (c *Client) Receipt(ctx context.Context, index uint64) (*ledger.Receipt, error) {
	signed := c.v.Trusted()
	cp, err := ledger.ParseSignedCheckpoint(signed)
	if err != nil {
		return nil, fmt.Errorf("%w: no trusted checkpoint yet (call Update)", ledger.ErrEmptyLog)
	}
	if index >= cp.Size {
		return nil, fmt.Errorf("%w: index %d, trusted size %d", ledger.ErrNotFound, index, cp.Size)
	}
	leaf, err := c.Leaf(ctx, index)
	if err != nil {
		return nil, err
	}
	proof, err := merkle.InclusionProof(index, cp.Size, c.reader(ctx, cp.Size, cp.Root, false))
	if err != nil {
		return nil, c.readErr(err)
	}
	return &ledger.Receipt{Index: index, Leaf: leaf, Proof: proof, Checkpoint: signed}, nil
}

// Append fails with ErrReadOnly: a Client only reads. It exists so that a
// Client can stand in for a consent.Log when replaying and auditing.
func (c *Client) Append(ctx context.Context, e *ledger.Entry) (*ledger.Receipt, error) {
	return nil, ErrReadOnly
}

// subjectIndex maps subject tags to the indices of their entries, for the
// leaves [0, size) the Client has read.
type subjectIndex struct {
	mu   sync.Mutex // guards the fields; held while the index grows
	size uint64
	m    map[ledger.SubjectTag][]uint64
}

// BySubject returns up to limit indices of entries with the subject tag,
// in increasing order, from start (inclusive), among the entries of the
// trusted checkpoint.
//
// Tiles carry no subject index, so the Client builds one: the first call
// reads every entry bundle of the trusted tree (each verified against the
// checkpoint) and decodes every entry; later calls read only the bundles
// of new entries. That costs one pass over the log and about 40 bytes of
// memory per entry. A leaf that is not a healthledger entry fails the
// call with ledger.ErrMalformed.
func (c *Client) BySubject(ctx context.Context, s ledger.SubjectTag, start uint64, limit int) ([]uint64, error) {
	cp, err := c.trusted()
	if err != nil {
		return nil, err
	}
	c.subjects.mu.Lock()
	defer c.subjects.mu.Unlock()
	if err := c.indexTo(ctx, cp); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	all := c.subjects.m[s]
	i := sort.Search(len(all), func(i int) bool { return all[i] >= start })
	all = all[i:]
	if len(all) > limit {
		all = all[:limit]
	}
	return append([]uint64(nil), all...), nil
}

// indexTo extends the subject index to the tree of cp; called with
// subjects.mu held.
func (c *Client) indexTo(ctx context.Context, cp ledger.Checkpoint) error {
	ix := &c.subjects
	if ix.m == nil {
		ix.m = make(map[ledger.SubjectTag][]uint64)
	}
	for ix.size < cp.Size {
		n := ix.size / merkle.TileWidth
		leaves, err := c.bundle(ctx, cp, n, merkle.TileWidthAt(cp.Size, merkle.TileID{Index: n}))
		if err != nil {
			return err
		}
		for i := ix.size % merkle.TileWidth; i < uint64(len(leaves)); i++ {
			e, err := ledger.UnmarshalEntry(leaves[i])
			if err != nil {
				return fmt.Errorf("client: indexing entry %d: %w", n*merkle.TileWidth+i, err)
			}
			ix.m[e.Subject] = append(ix.m[e.Subject], n*merkle.TileWidth+i)
		}
		ix.size = n*merkle.TileWidth + uint64(len(leaves))
	}
	return nil
}
