package pebblestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"github.com/healthledger/healthledger/merkle"
)

// keyIndexedTo holds the index watermark W (8 bytes BE): the hash and
// subject index records of every leaf below W are in Pebble. Those of the
// leaves from W to the head are in memory (see "Index" in the package doc).
const keyIndexedTo = 'W'

// indexGenSize is the number of leaves whose index records the store keeps
// in memory before it writes them to Pebble in one batch. A store takes
// the value when it opens; tests lower it to exercise many generations.
var indexGenSize = 1 << 16

// indexGen holds the hash and subject index records of consecutive leaves,
// from index from on, in memory. Leaves are added in index order.
//
// Both lookups go through open-addressing tables of positions (index -
// from) keyed by the first 8 bytes of the 32-byte key, confirmed against
// the whole key: leaf hashes and subject tags are SHA-256 outputs, so
// those bytes are already uniform. A table of int32 positions for a
// generation of 64Ki leaves is 512 KiB, and a lookup touches one slot
// and the key it names, which a Go map of 32-byte keys cannot match.
type indexGen struct {
	from     uint64
	hashes   []merkle.Hash       // by position
	subjects []ledger.SubjectTag // by position
	// prev[p] is the position of the previous leaf with the subject of
	// position p, or -1.
	prev []int32
	// byHash holds the position of each hash (its first, if a hash came
	// twice); bySubject that of each subject's last leaf. A slot holds
	// position+1; 0 is empty.
	byHash, bySubject []int32
}

func newIndexGen(from uint64, capacity int) *indexGen {
	slots := tableSize(capacity)
	return &indexGen{
		from:      from,
		hashes:    make([]merkle.Hash, 0, capacity),
		subjects:  make([]ledger.SubjectTag, 0, capacity),
		prev:      make([]int32, 0, capacity),
		byHash:    make([]int32, slots),
		bySubject: make([]int32, slots),
	}
}

// tableSize returns a power of two at least twice n.
func tableSize(n int) int {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return size
}

// slot returns where key is in table, or the empty slot where it goes.
// keys maps a position to its key.
func slot[K ~[32]byte](table []int32, keys []K, key *K) int {
	mask := uint64(len(table) - 1)
	k := [32]byte(*key)
	i := binary.LittleEndian.Uint64(k[:8]) & mask
	for {
		p := table[i]
		if p == 0 || keys[p-1] == *key {
			return int(i)
		}
		i = (i + 1) & mask
	}
}

// end returns the index after the generation's last leaf.
func (g *indexGen) end() uint64 { return g.from + uint64(len(g.hashes)) }

// add records the leaf at index g.end().
func (g *indexGen) add(h merkle.Hash, s ledger.SubjectTag) {
	if 2*(len(g.hashes)+1) > len(g.byHash) {
		g.grow()
	}
	p := int32(len(g.hashes))
	g.hashes = append(g.hashes, h)
	g.subjects = append(g.subjects, s)
	if i := slot(g.byHash, g.hashes, &h); g.byHash[i] == 0 {
		g.byHash[i] = p + 1
	}
	i := slot(g.bySubject, g.subjects, &s)
	g.prev = append(g.prev, g.bySubject[i]-1)
	g.bySubject[i] = p + 1
}

// grow doubles both tables.
func (g *indexGen) grow() {
	n := 2 * len(g.byHash)
	byHash, bySubject := make([]int32, n), make([]int32, n)
	for p := range g.hashes {
		if i := slot(byHash, g.hashes, &g.hashes[p]); byHash[i] == 0 {
			byHash[i] = int32(p) + 1
		}
		bySubject[slot(bySubject, g.subjects, &g.subjects[p])] = int32(p) + 1
	}
	g.byHash, g.bySubject = byHash, bySubject
}

func (g *indexGen) lookup(h merkle.Hash) (uint64, bool) {
	p := g.byHash[slot(g.byHash, g.hashes, &h)]
	return g.from + uint64(p-1), p != 0
}

// scan appends to out, in increasing order, up to limit indices of the
// subject's leaves from index start on.
func (g *indexGen) scan(s ledger.SubjectTag, start uint64, limit int, out []uint64) []uint64 {
	p := g.bySubject[slot(g.bySubject, g.subjects, &s)] - 1
	if p < 0 || limit <= 0 || start >= g.end() {
		return out
	}
	n := len(out)
	for ; p >= 0; p = g.prev[p] {
		i := g.from + uint64(p)
		if i < start {
			break
		}
		out = append(out, i)
	}
	slices.Reverse(out[n:])
	if len(out)-n > limit {
		out = out[:n+limit]
	}
	return out
}

// batch returns the generation's index records, sorted, and the new
// watermark, as one Pebble batch.
func (g *indexGen) batch(db *pebble.DB) (*pebble.Batch, error) {
	b := db.NewBatch()
	var w [8]byte
	binary.BigEndian.PutUint64(w[:], g.end())
	order := make([]int32, len(g.hashes))
	for i := range order {
		order[i] = int32(i)
	}
	var key [1 + 32 + 8]byte
	var idx [8]byte
	err := b.Set([]byte{keyIndexedTo}, w[:], nil)
	slices.SortFunc(order, func(a, c int32) int { return bytes.Compare(g.hashes[a][:], g.hashes[c][:]) })
	for _, p := range order {
		if err != nil {
			break
		}
		if g.byHash[slot(g.byHash, g.hashes, &g.hashes[p])] != p+1 {
			continue // a duplicate hash: the first index wins
		}
		key[0] = prefixHash
		copy(key[1:], g.hashes[p][:])
		binary.BigEndian.PutUint64(idx[:], g.from+uint64(p))
		err = b.Set(key[:1+merkle.HashSize], idx[:], nil)
	}
	slices.SortFunc(order, func(a, c int32) int {
		if r := bytes.Compare(g.subjects[a][:], g.subjects[c][:]); r != 0 {
			return r
		}
		return int(a - c)
	})
	for _, p := range order {
		if err != nil {
			break
		}
		key[0] = prefixSubject
		copy(key[1:], g.subjects[p][:])
		binary.BigEndian.PutUint64(key[33:], g.from+uint64(p))
		err = b.Set(key[:], nil, nil)
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// memIndex is the in-memory part of the hash and subject indexes: the
// records of the leaves from gens[0].from (the watermark as readers see
// it) to the head, in at most two generations. The last one takes the
// leaves of new commits; the one before it, if any, is being written to
// Pebble by the index writer, and leaves gens only once it is there.
//
// Lock order: backend.dbMu before mu.
type memIndex struct {
	mu      sync.RWMutex
	gens    []*indexGen
	genSize int // indexGenSize when the store opened

	kick     chan struct{} // a commit filled the last generation
	stop     chan struct{} // closed by closeIndex
	stopOnce sync.Once
	done     chan struct{} // closed when the writer has returned
}

// lookup returns the index of the leaf hash if it is in memory.
func (m *memIndex) lookup(h merkle.Hash) (uint64, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, g := range m.gens {
		if i, ok := g.lookup(h); ok {
			return i, true
		}
	}
	return 0, false
}

// openIndex reads the watermark and rebuilds the in-memory records of
// the leaves from it to the head (size), then starts the index writer. A
// directory without a watermark is new (size 0: the watermark is
// written) or was written before the store kept index records in memory
// (every leaf is indexed in Pebble: the watermark is the size).
func (b *backend) openIndex(ctx context.Context, size uint64) error {
	w, err := b.get([]byte{keyIndexedTo})
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		w = binary.BigEndian.AppendUint64(nil, size)
		if err := b.db.Set([]byte{keyIndexedTo}, w, pebble.Sync); err != nil {
			return wrap(err)
		}
	case err != nil:
		return err
	case len(w) != 8:
		return fmt.Errorf("%w: index watermark of %d bytes", ledger.ErrCorrupt, len(w))
	}
	from := binary.BigEndian.Uint64(w)
	if from > size {
		return fmt.Errorf("%w: index watermark %d beyond the tree size %d", ledger.ErrCorrupt, from, size)
	}
	genSize := max(1, indexGenSize)
	g := newIndexGen(from, genSize)
	if err := b.rebuild(ctx, g, size); err != nil {
		return err
	}
	b.idx = &memIndex{gens: []*indexGen{g}, genSize: genSize,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go b.indexWriter()
	if len(g.hashes) >= genSize {
		b.idx.kick <- struct{}{}
	}
	return nil
}

// rebuild adds to g the records of the leaves from g.from to size: each
// hash from its level-0 tile (the tree's own record of it), each subject
// from the leaf. A tile that cannot be read or decoded gives way to the
// hash of the stored leaf; a leaf that cannot be read or decoded is
// indexed under no subject. Either is logged, and Check reports it.
func (b *backend) rebuild(ctx context.Context, g *indexGen, size uint64) error {
	var bottom []merkle.Hash
	tileOf := ^uint64(0)
	for i := g.from; i < size; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if t := i / merkle.TileWidth; t != tileOf {
			tileOf, bottom = t, nil
			id := merkle.TileID{Level: 0, Index: t}
			if data, err := b.get(tileKey(id)); err == nil {
				if tile, err := tilestore.DecodeTile(id, data); err == nil {
					bottom = tile.Bottom()
				}
			}
			if bottom == nil {
				b.health.logger.Warn("pebblestore: rebuilding the index: level-0 tile unreadable; hashing the leaves", "tile", t)
			}
		}
		leaf, err := b.get(leafKey(i))
		var h merkle.Hash
		switch p := int(i % merkle.TileWidth); {
		case p < len(bottom):
			h = bottom[p]
		case err == nil:
			h = merkle.HashLeaf(leaf)
		}
		var subject ledger.SubjectTag
		if err == nil {
			var e *ledger.Entry
			if e, err = ledger.UnmarshalEntry(leaf); err == nil {
				subject = e.Subject
			}
		}
		if err != nil {
			b.health.logger.Warn("pebblestore: rebuilding the index: leaf unreadable; not indexed by subject", "index", i)
		}
		g.add(h, subject)
	}
	return nil
}

// indexWriter writes full generations to Pebble, one batch each, without
// a sync of its own: the next synced commit makes it durable, and if a
// crash loses it the watermark is lost with it and Open rebuilds the
// records from the leaves.
func (b *backend) indexWriter() {
	m := b.idx
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		case <-m.kick:
		}
		m.mu.Lock()
		last := m.gens[len(m.gens)-1]
		if len(m.gens) > 1 || len(last.hashes) < m.genSize {
			m.mu.Unlock()
			continue
		}
		m.gens = append(m.gens, newIndexGen(last.end(), m.genSize))
		m.mu.Unlock()
		if err := b.writeGen(last, pebble.NoSync); err != nil {
			b.health.logger.Warn("pebblestore: writing index records failed; they stay in memory", "error", err)
		}
	}
}

// writeGen writes g, the oldest generation, to Pebble and drops it from
// memory. On failure g stays in memory, where reads still find it.
func (b *backend) writeGen(g *indexGen, opts *pebble.WriteOptions) error {
	b.dbMu.RLock()
	defer b.dbMu.RUnlock()
	if b.db == nil {
		return b.health.err()
	}
	batch, err := g.batch(b.db)
	if err != nil {
		return err
	}
	defer batch.Close()
	if err := batch.Commit(opts); err != nil {
		return wrap(err)
	}
	m := b.idx
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.gens) > 1 && m.gens[0] == g {
		m.gens = m.gens[1:]
	}
	return nil
}

// closeIndex stops the index writer and writes what is left in memory,
// synced, so that the next Open rebuilds nothing.
func (b *backend) closeIndex() error {
	m := b.idx
	if m == nil {
		return nil
	}
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.done
	m.mu.Lock()
	if last := m.gens[len(m.gens)-1]; len(last.hashes) > 0 {
		m.gens = append(m.gens, newIndexGen(last.end(), 0))
	}
	gens := slices.Clone(m.gens[:len(m.gens)-1])
	m.mu.Unlock()
	var errs []error
	for _, g := range gens {
		if err := b.writeGen(g, pebble.Sync); err != nil {
			errs = append(errs, err)
			break
		}
	}
	return errors.Join(errs...)
}

// addToIndex records the leaves of a commit that Pebble has applied.
func (b *backend) addToIndex(leaves []tilestore.IndexedLeaf) {
	m := b.idx
	m.mu.Lock()
	g := m.gens[len(m.gens)-1]
	for i := range leaves {
		g.add(leaves[i].Hash, leaves[i].Subject)
	}
	full := len(g.hashes) >= m.genSize
	m.mu.Unlock()
	if full {
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
}

// checkContiguous returns an error unless the leaves continue the log at
// the in-memory index's end.
func (b *backend) checkContiguous(leaves []tilestore.IndexedLeaf) error {
	m := b.idx
	m.mu.RLock()
	next := m.gens[len(m.gens)-1].end()
	m.mu.RUnlock()
	for i := range leaves {
		if leaves[i].Index != next+uint64(i) {
			return fmt.Errorf("pebblestore: commit of leaf %d where leaf %d was expected", leaves[i].Index, next+uint64(i))
		}
	}
	return nil
}

// scanSubject is ScanSubject over Pebble below the watermark and memory
// from it on. The caller holds dbMu for reading.
func (b *backend) scanSubject(ctx context.Context, s ledger.SubjectTag, start uint64, limit int) ([]uint64, error) {
	m := b.idx
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []uint64
	if base := m.gens[0].from; start < base {
		var err error
		if out, err = b.scanPebble(ctx, s, start, base, limit); err != nil {
			return nil, err
		}
	}
	for _, g := range m.gens {
		if len(out) >= limit {
			break
		}
		out = g.scan(s, max(start, g.from), limit-len(out), out)
	}
	return out, nil
}

// scanPebble returns up to limit indices in [start, end) from Pebble's
// subject index.
func (b *backend) scanPebble(ctx context.Context, s ledger.SubjectTag, start, end uint64, limit int) ([]uint64, error) {
	it, err := b.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: subjectKey(s, start), UpperBound: subjectKey(s, end)})
	if err != nil {
		return nil, wrap(err)
	}
	var out []uint64
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		k := it.Key()
		if len(k) != 41 {
			it.Close()
			return nil, fmt.Errorf("%w: subject index key of %d bytes", ledger.ErrCorrupt, len(k))
		}
		out = append(out, binary.BigEndian.Uint64(k[33:]))
	}
	return out, wrap(errors.Join(it.Error(), it.Close()))
}
