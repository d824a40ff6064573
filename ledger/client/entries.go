package client

import (
	"context"
	"errors"
	"fmt"
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
// Config.FetchPayloads, a version 2 entry comes with its payload, checked
// against its commitment (ErrInvalidProof if it does not match; an
// *ErasedError if the log erased it).
func (c *Client) Entry(ctx context.Context, index uint64) (*ledger.Entry, error) {
	leaf, err := c.Leaf(ctx, index)
	if err != nil {
		return nil, err
	}
	e, err := ledger.UnmarshalEntry(leaf)
	if err != nil || !c.payload || e.PayloadCommitment == (ledger.Commitment{}) {
		return e, err
	}
	path := "payload/" + strconv.FormatUint(index, 10)
	raw, err := c.fetch(ctx, path, ledger.PayloadSaltSize+ledger.MaxPayloadSize)
	var he *HTTPError
	if errors.As(err, &he) && he.Status == http.StatusGone {
		return nil, &ledger.ErasedError{Index: index}
	}
	if err != nil {
		return nil, err
	}
	p, err := ledger.ParsePayload(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ledger.ErrInvalidProof, path, err)
	}
	if p.Commitment() != e.PayloadCommitment {
		return nil, fmt.Errorf("%w: %s does not match the entry's commitment", ledger.ErrInvalidProof, path)
	}
	e.Payload = p
	return e, nil
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
