package memstore

import (
	"hash/maphash"
	"math/bits"

	"github.com/healthledger/healthledger/merkle"
)

// hashIndex maps leaf hashes to leaf indices, exactly: it returns an index
// only if the hash recorded for that index is the hash looked up, so two
// hashes that agree on every bit its table keeps are still told apart.
//
// It is built for what a log asks of it: leaves only added, in index
// order, and lookups mostly of hashes that are not there (the dedup check
// of every new entry). A lookup reads one line of 8-byte slots, each
// holding a leaf index and a tag (24 bits of the hash's seeded maphash),
// and reads the full hash only when a tag matches; the hashes themselves
// are appended in leaf order, so an insert writes one slot and the end of
// an array. The table is split into shards that grow (double and rehash)
// one at a time, so that no insert pauses to rehash the whole index.
//
// Against a map[merkle.Hash]uint64 of a million hashes (BenchmarkHashIndex,
// one run, medians of 3): inserts 139 ns against 335 ns, lookups of
// absent hashes 55 ns against 53 ns (both one cache miss).
//
// It is not safe for concurrent use: the backend's mutex guards it.
type hashIndex struct {
	// seed keys the maphash that places hashes in the table, so that
	// nobody can choose entries that pile up in one place of it.
	seed   maphash.Seed
	shards [indexShards]indexShard
	// hashes holds the hash of each leaf, by index.
	hashes chunked[merkle.Hash]
}

// indexShard is an open-addressing table with linear probing. A slot is 0
// (empty) or tag<<indexBits | (index+1). Its length is a power of two,
// at least twice the number of used slots.
type indexShard struct {
	slots []uint64
	// shift is 64 minus log2(len(slots)): a hash's home slot is the top
	// bits of its maphash, h64>>shift.
	shift uint8
	used  int
}

const (
	// shardBits is log2 of the number of shards; a hash's shard is the low
	// bits of its maphash.
	shardBits   = 8
	indexShards = 1 << shardBits
	// indexBits is the width of the leaf index (plus one) in a slot; the
	// rest, the top tagBits bits, is the tag: the top bits of the hash's
	// maphash, which also give its home slot while a shard has at most
	// 2^tagBits slots.
	indexBits = 40
	indexMask = 1<<indexBits - 1
	tagBits   = 64 - indexBits
	// maxIndexedLeaves is the number of leaves the index can hold: a slot
	// keeps index+1 in indexBits bits.
	maxIndexedLeaves = indexMask
	// minShardSlotsBits is log2 of the size of a shard's first table.
	minShardSlotsBits = 3
)

func newHashIndex() *hashIndex { return &hashIndex{seed: maphash.MakeSeed()} }

// len returns the number of leaves indexed.
func (x *hashIndex) len() uint64 { return x.hashes.len() }

// hashAt returns the recorded hash of leaf i, and false if i is not
// indexed.
func (x *hashIndex) hashAt(i uint64) (merkle.Hash, bool) {
	if i >= x.hashes.len() {
		return merkle.Hash{}, false
	}
	return *x.hashes.at(i), true
}

// get returns the index of the leaf whose recorded hash is h.
func (x *hashIndex) get(h merkle.Hash) (uint64, bool) {
	h64 := maphash.Comparable(x.seed, h)
	s := &x.shards[h64%indexShards]
	if s.slots == nil {
		return 0, false
	}
	tag, mask := h64&^indexMask, uint64(len(s.slots)-1)
	for i := h64 >> s.shift; ; i = (i + 1) & mask {
		slot := s.slots[i]
		if slot == 0 {
			return 0, false
		}
		if slot&^indexMask == tag {
			idx := slot&indexMask - 1
			if got, ok := x.hashAt(idx); ok && got == h {
				return idx, true
			}
		}
	}
}

// add records h as the hash of the next leaf, index x.len(). The caller
// checks first that fewer than maxIndexedLeaves leaves are indexed. If h
// was recorded before, lookups of h return the new index from now on, as
// a map would.
func (x *hashIndex) add(h merkle.Hash) {
	idx := x.hashes.len()
	x.hashes.append(h)

	h64 := maphash.Comparable(x.seed, h)
	s := &x.shards[h64%indexShards]
	if 2*(s.used+1) > len(s.slots) {
		x.grow(s)
	}
	tag, mask := h64&^indexMask, uint64(len(s.slots)-1)
	for i := h64 >> s.shift; ; i = (i + 1) & mask {
		slot := s.slots[i]
		if slot == 0 {
			s.slots[i] = tag | (idx + 1)
			s.used++
			return
		}
		if slot&^indexMask == tag {
			if got, ok := x.hashAt(slot&indexMask - 1); ok && got == h {
				s.slots[i] = tag | (idx + 1)
				return
			}
		}
	}
}

// grow doubles a shard's table (or makes its first one) and moves its
// slots into it.
func (x *hashIndex) grow(s *indexShard) {
	k := max(minShardSlotsBits, bits.Len(uint(len(s.slots))))
	slots := make([]uint64, 1<<k)
	shift := uint8(64 - k)
	mask := uint64(len(slots) - 1)
	for _, slot := range s.slots {
		if slot == 0 {
			continue
		}
		for i := x.home(slot, k, shift); ; i = (i + 1) & mask {
			if slots[i] == 0 {
				slots[i] = slot
				break
			}
		}
	}
	s.slots, s.shift = slots, shift
}

// home returns the home slot of a used slot in a table of 2^k slots: the
// top k bits of its hash's maphash, which are the top bits of its tag
// while k <= tagBits, and are computed again from the recorded hash
// beyond that (a shard of more than 16M slots).
func (x *hashIndex) home(slot uint64, k int, shift uint8) uint64 {
	if k <= tagBits {
		return slot >> shift
	}
	h, _ := x.hashAt(slot&indexMask - 1)
	return maphash.Comparable(x.seed, h) >> shift
}
