package privacy

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthledger/healthledger/ledger"
)

// evictionSample is how many cached keys an eviction compares: the least
// recently used of them goes. A cache of at most evictionSample keys is
// therefore exactly LRU; a larger one approximates it (as Redis does) at a
// cost that does not grow with the cache.
const evictionSample = 32

// keyCache is a cache of unwrapped data keys, bounded to max entries (the
// least recently used of a sample goes first, see evictionSample), each
// kept at most ttl after it was loaded (no limit if ttl <= 0). A nil
// *keyCache caches nothing. It is safe for concurrent use.
//
// Reads share a read lock: every Seal and Open of a cached subject reads
// the cache, and under 256 concurrent writers its single mutex, held while
// the LRU list was reordered, was a third of Vault.Seal's time (issue 9).
// A read is a map lookup under mu.RLock plus an atomic store of the entry's
// last-use tick; it writes nothing shared but the tick. (A sync.Map was
// measured too: its lookups cost twice the mutex-and-map ones in the
// 256-writer append profile.) Writes (a key loaded, removed or expired)
// hold mu. Once remove returns, no get finds the subject; a get that found
// the entry earlier may still be using the key, as the Vault documents for
// a Seal or Open running concurrently with an erasure.
type keyCache struct {
	max int
	ttl time.Duration
	now func() time.Time

	clock atomic.Uint64 // last-use ticks, strictly increasing

	mu      sync.RWMutex
	byTag   map[ledger.SubjectTag]*cacheEntry // guarded by mu
	entries []*cacheEntry                     // guarded by mu; the values of byTag, in any order
}

// cacheEntry is one cached key. Every field but used and slot is set before
// the entry is published and never changed.
type cacheEntry struct {
	subject ledger.SubjectTag
	key     *dataKey
	loaded  time.Time
	used    atomic.Uint64 // clock tick of the last get
	slot    int           // index in keyCache.entries; guarded by keyCache.mu
}

func newKeyCache(max int, ttl time.Duration, now func() time.Time) *keyCache {
	if max <= 0 {
		return nil
	}
	return &keyCache{max: max, ttl: ttl, now: now, byTag: make(map[ledger.SubjectTag]*cacheEntry)}
}

func (c *keyCache) get(s ledger.SubjectTag) (*dataKey, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.byTag[s]
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	if c.ttl > 0 && c.now().Sub(e.loaded) >= c.ttl {
		c.mu.Lock()
		c.drop(e)
		c.mu.Unlock()
		return nil, false
	}
	e.used.Store(c.clock.Add(1))
	return e.key, true
}

func (c *keyCache) put(s ledger.SubjectTag, k *dataKey) {
	if c == nil {
		return
	}
	e := &cacheEntry{subject: s, key: k, loaded: c.now()}
	e.used.Store(c.clock.Add(1))
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.byTag[s]; ok {
		e.slot = old.slot
		c.entries[e.slot] = e
		c.byTag[s] = e
		return
	}
	for len(c.entries) >= c.max {
		c.drop(c.victim())
	}
	e.slot = len(c.entries)
	c.entries = append(c.entries, e)
	c.byTag[s] = e
}

func (c *keyCache) remove(s ledger.SubjectTag) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byTag[s]; ok {
		c.drop(e)
	}
}

// drop removes e if it is still cached (another writer may have dropped or
// replaced it since the caller found it). c.mu must be held.
func (c *keyCache) drop(e *cacheEntry) {
	if e.slot >= len(c.entries) || c.entries[e.slot] != e {
		return
	}
	delete(c.byTag, e.subject)
	last := len(c.entries) - 1
	c.entries[e.slot] = c.entries[last]
	c.entries[e.slot].slot = e.slot
	c.entries[last] = nil
	c.entries = c.entries[:last]
}

// victim returns the least recently used of evictionSample entries (all of
// them if there are no more). c.mu must be held and entries not be empty.
func (c *keyCache) victim() *cacheEntry {
	n := len(c.entries)
	if n <= evictionSample {
		oldest := c.entries[0]
		for _, e := range c.entries[1:] {
			if e.used.Load() < oldest.used.Load() {
				oldest = e
			}
		}
		return oldest
	}
	oldest := c.entries[rand.IntN(n)]
	for range evictionSample - 1 {
		if e := c.entries[rand.IntN(n)]; e.used.Load() < oldest.used.Load() {
			oldest = e
		}
	}
	return oldest
}

func (c *keyCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
