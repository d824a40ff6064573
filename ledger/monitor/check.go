package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// result is the outcome of checking one new checkpoint.
type result struct {
	findings []Finding
	// matched reports that the tree recomputed from what was served has
	// the signed root; the monitor then moved to the checkpoint.
	matched bool
	// proof is the consistency proof from the previous size to the new
	// one, computed from the recomputed tiles (nil from size 0).
	proof []merkle.Hash
}

// rebuild is a tree being extended from what the read path serves, with
// the final version of every tile that changed.
type rebuild struct {
	tree  *merkle.Appender
	tiles map[merkle.TileID]*merkle.Tile
}

func newRebuild(from *merkle.Appender) *rebuild {
	return &rebuild{tree: from.Clone(), tiles: make(map[merkle.TileID]*merkle.Tile)}
}

func (b *rebuild) append(hashes []merkle.Hash) {
	for _, t := range b.tree.Append(hashes) {
		b.tiles[t.ID()] = t
	}
}

// ReadHashes reads the nodes of the new tiles, for consistency proofs.
func (b *rebuild) readHashes(old []*merkle.Tile) merkle.HashReader {
	m := make(mapReader, len(old)+len(b.tiles))
	for _, t := range old {
		m[t.ID()] = t
	}
	for id, t := range b.tiles {
		m[id] = t // a newer version extends the old one
	}
	return m
}

type mapReader map[merkle.TileID]*merkle.Tile

func (m mapReader) ReadHashes(ids []merkle.NodeID, out []merkle.Hash) error {
	for i, id := range ids {
		tid, n := merkle.TileOf(id)
		t := m[tid]
		if t == nil {
			return fmt.Errorf("%w: tile %v", merkle.ErrMissingNode, tid)
		}
		h, ok := t.Hash(n)
		if !ok {
			return fmt.Errorf("%w: node %d/%d", merkle.ErrMissingNode, id.Level, id.Index)
		}
		out[i] = h
	}
	return nil
}

// mismatch is a leaf whose hash differs from the served level-0 tile.
type mismatch struct {
	index  uint64
	leaf   []byte
	served merkle.Hash
}

// check checks the entries [m.tree.Size(), cp.Size) of the verified signed
// checkpoint cp. It rebuilds the tree twice: from the leaves of the served
// entry bundles, and from the served level-0 tiles. Whichever has the
// signed root tells which of the two the read path altered; if neither
// has, the checkpoint's root matches nothing the log serves.
func (m *Monitor) check(ctx context.Context, signed []byte, cp ledger.Checkpoint) (result, error) {
	var r result
	t, err := m.v.CheckpointTime(signed)
	if err != nil {
		return r, err
	}
	r.findings = append(r.findings, m.checkWitnesses(signed, cp)...)
	if m.last != nil && t.Before(m.lastTime) {
		r.findings = append(r.findings, Finding{Kind: TimeWentBack, Size: cp.Size, Checkpoint: signed, Other: m.last,
			Detail: fmt.Sprintf("signed time %v is before %v, the time of the checkpoint seen before it", t.UTC(), m.lastTime.UTC())})
	}
	start := m.tree.Size()
	var oldLeaves []merkle.Hash // the verified leaf hashes of a partial first bundle
	for _, e := range m.tree.EdgeTiles() {
		if e.ID().Level == 0 {
			oldLeaves = e.Bottom()
		}
	}
	fromBundles, fromTiles := newRebuild(m.tree), newRebuild(m.tree)
	served0 := make(map[uint64][]byte) // served level-0 tiles that differ from the bundles
	var diffs []mismatch
	var entryFindings []Finding
	for n := start / merkle.TileWidth; n*merkle.TileWidth < cp.Size; n++ {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		width := merkle.TileWidthAt(cp.Size, merkle.TileID{Index: n})
		data, err := m.fetch(ctx, merkle.EntryBundlePath(n, width), width*(2+ledger.MaxEntrySize))
		if err != nil {
			return r, err
		}
		leaves, err := ledger.ParseEntryBundle(data, width)
		if err != nil {
			r.findings = append(r.findings, Finding{Kind: BundleMismatch, Size: cp.Size, Index: n * merkle.TileWidth, Checkpoint: signed,
				Detail: fmt.Sprintf("entry bundle %d: %v", n, err)})
			return r, nil
		}
		tile0, err := m.fetch(ctx, merkle.TileID{Index: n}.Path(width), width*merkle.HashSize)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return r, err
		}
		first := 0
		if n == start/merkle.TileWidth {
			first = int(start % merkle.TileWidth)
		}
		for i := range first {
			if len(tile0) != width*merkle.HashSize || !bytes.Equal(tile0[i*merkle.HashSize:(i+1)*merkle.HashSize], oldLeaves[i][:]) {
				served0[n] = tile0 // the served tile changed a hash already checked
			}
			if merkle.HashLeaf(leaves[i]) != oldLeaves[i] {
				r.findings = append(r.findings, Finding{Kind: BundleMismatch, Size: cp.Size, Index: n*merkle.TileWidth + uint64(i),
					Checkpoint: signed, Served: bytes.Clone(leaves[i]), Expected: bytes.Clone(oldLeaves[i][:]),
					Detail: "a leaf already checked was served with other bytes"})
			}
		}
		bh := make([]merkle.Hash, 0, width-first)
		th := make([]merkle.Hash, 0, width-first)
		if len(tile0) != width*merkle.HashSize {
			served0[n] = tile0
		}
		for i := first; i < width; i++ {
			idx := n*merkle.TileWidth + uint64(i)
			h := merkle.HashLeaf(leaves[i])
			var s merkle.Hash
			if len(tile0) == width*merkle.HashSize {
				copy(s[:], tile0[i*merkle.HashSize:])
			}
			bh, th = append(bh, h), append(th, s)
			if h != s {
				served0[n] = tile0
				diffs = append(diffs, mismatch{index: idx, leaf: bytes.Clone(leaves[i]), served: s})
			}
			entryFindings = append(entryFindings, m.checkEntry(idx, leaves[i], signed, cp, t)...)
		}
		fromBundles.append(bh)
		fromTiles.append(th)
		if m.cfg.Progress != nil {
			m.cfg.Progress(n*merkle.TileWidth+uint64(width), cp.Size)
		}
	}

	var truth *rebuild
	switch {
	case fromBundles.tree.Root() == cp.Root:
		truth = fromBundles
		r.findings = append(r.findings, entryFindings...)
	case fromTiles.tree.Root() == cp.Root:
		truth = fromTiles
		bad := make(map[uint64]bool)
		for _, d := range diffs {
			bad[d.index] = true
			r.findings = append(r.findings, Finding{Kind: BundleMismatch, Size: cp.Size, Index: d.index, Checkpoint: signed,
				Served: d.leaf, Expected: bytes.Clone(d.served[:]), Detail: "the served leaf does not hash to the signed tree"})
		}
		for _, f := range entryFindings {
			if !bad[f.Index] {
				r.findings = append(r.findings, f)
			}
		}
	default:
		root := fromBundles.tree.Root()
		r.findings = append(r.findings, Finding{Kind: RootMismatch, Size: cp.Size, Checkpoint: signed, Expected: root[:],
			Detail: fmt.Sprintf("the signed root matches neither the served entries (root %v) nor the served tiles", root)})
		return r, nil
	}
	fs, err := m.compareTiles(ctx, signed, cp, truth, truth == fromBundles, served0)
	r.findings = append(r.findings, fs...)
	if err != nil {
		return r, err
	}
	if start > 0 {
		r.proof, _ = merkle.ConsistencyProof(start, cp.Size, truth.readHashes(m.tree.EdgeTiles()))
	}
	m.tree, m.last, m.lastTime, r.matched = truth.tree, signed, t, true
	return r, nil
}

// compareTiles compares every tile that changed in the rebuilt tree with
// the tile served at the checkpoint's size. Level-0 tiles are compared
// only if the tree was rebuilt from the bundles (served0 holds the served
// ones that differ).
func (m *Monitor) compareTiles(ctx context.Context, signed []byte, cp ledger.Checkpoint, truth *rebuild, level0 bool, served0 map[uint64][]byte) ([]Finding, error) {
	ids := slices.SortedFunc(func(yield func(merkle.TileID) bool) {
		for id := range truth.tiles {
			if !yield(id) {
				return
			}
		}
	}, func(a, b merkle.TileID) int {
		if a.Level != b.Level {
			return int(a.Level) - int(b.Level)
		}
		return compareUint(a.Index, b.Index)
	})
	var fs []Finding
	for _, id := range ids {
		t := truth.tiles[id]
		want := t.C2SP()
		var served []byte
		switch {
		case id.Level == 0 && !level0:
			continue
		case id.Level == 0:
			s, ok := served0[id.Index]
			if !ok {
				continue
			}
			served = s
		default:
			s, err := m.fetch(ctx, id.Path(t.Width()), t.Width()*merkle.HashSize)
			if err != nil && !errors.Is(err, ledger.ErrNotFound) {
				return fs, err
			}
			served = s
		}
		if !bytes.Equal(served, want) {
			tid := id
			fs = append(fs, Finding{Kind: TileMismatch, Size: cp.Size, Tile: &tid, Width: t.Width(), Checkpoint: signed,
				Served: served, Expected: want, Detail: "the served tile differs from the tile recomputed from the entries"})
		}
	}
	return fs, nil
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkWitnesses records which configured witnesses cosigned the
// checkpoint and reports one that none did.
func (m *Monitor) checkWitnesses(signed []byte, cp ledger.Checkpoint) []Finding {
	if len(m.witnesses) == 0 {
		return nil
	}
	cs, err := ledger.VerifyCosignatures(signed, m.witnesses)
	if err != nil {
		return nil // the Verifier opened the note already
	}
	for _, c := range cs {
		if cp.Size > m.witnessed[c.Name] {
			m.witnessed[c.Name] = cp.Size
		}
	}
	if len(cs) > 0 {
		return nil
	}
	return []Finding{{Kind: NotWitnessed, Size: cp.Size, Checkpoint: signed,
		Detail: fmt.Sprintf("none of the %d configured witnesses cosigned this checkpoint", len(m.witnesses))}}
}

// checkEntry checks one leaf of the checkpoint (signed, cp) whose signed
// time is t: it is an entry, an erasure record is well-formed, and its
// time is within the skew of the log's signed times.
func (m *Monitor) checkEntry(index uint64, leaf, signed []byte, cp ledger.Checkpoint, t time.Time) []Finding {
	f := Finding{Size: cp.Size, Index: index, Checkpoint: signed, Served: bytes.Clone(leaf)}
	e, err := ledger.UnmarshalEntry(leaf)
	if err != nil {
		f.Kind, f.Detail = MalformedEntry, err.Error()
		return []Finding{f}
	}
	var out []Finding
	if e.Kind == ledger.KindErasure {
		if _, err := ledger.ParseErasure(e); err != nil {
			g := f
			g.Kind, g.Detail = MalformedErasure, err.Error()
			out = append(out, g)
		}
	}
	// As ledger.Verifier.VerifyReceipt: no checkpoint vouches for an entry
	// dated after it by the skew (plus the second its time is truncated to).
	if off := e.Time.Sub(t); off >= m.skew+time.Second {
		g := f
		g.Kind, g.Detail = FutureDated, fmt.Sprintf("entry time is %v after the checkpoint's signed time (skew %v)", off, m.skew)
		out = append(out, g)
	}
	ref, other := t, []byte(nil)
	switch {
	case m.cfg.EveryCheckpoint:
	case m.last != nil:
		// The log appended the entry after it signed m.last (up to the
		// commit of one batch, within the second of truncation).
		ref, other = m.lastTime.Add(-time.Second), m.last
	default:
		return out
	}
	if off := e.Time.Sub(ref); off < -m.skew {
		g := f
		g.Kind, g.Other = BackDated, other
		g.Detail = fmt.Sprintf("entry time is %v before the signed time it was integrated after (skew %v)", -off, m.skew)
		out = append(out, g)
	}
	return out
}
