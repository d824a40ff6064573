package privacy

import (
	"container/list"
	"sync"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// keyCache is a least-recently-used cache of unwrapped data-key AEADs,
// bounded to max entries, each kept at most ttl after it was loaded (no
// limit if ttl <= 0). A nil *keyCache caches nothing. It is safe for
// concurrent use.
type keyCache struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	order *list.List                          // guarded by mu; front = most recent; values *cacheEntry
	byTag map[ledger.SubjectTag]*list.Element // guarded by mu
}

type cacheEntry struct {
	subject ledger.SubjectTag
	aead    tink.AEAD
	loaded  time.Time
}

func newKeyCache(max int, ttl time.Duration, now func() time.Time) *keyCache {
	if max <= 0 {
		return nil
	}
	return &keyCache{max: max, ttl: ttl, now: now, order: list.New(), byTag: make(map[ledger.SubjectTag]*list.Element)}
}

func (c *keyCache) get(s ledger.SubjectTag) (tink.AEAD, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byTag[s]
	if !ok {
		return nil, false
	}
	ce := e.Value.(*cacheEntry)
	if c.ttl > 0 && c.now().Sub(ce.loaded) >= c.ttl {
		c.order.Remove(e)
		delete(c.byTag, s)
		return nil, false
	}
	c.order.MoveToFront(e)
	return ce.aead, true
}

func (c *keyCache) put(s ledger.SubjectTag, a tink.AEAD) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if e, ok := c.byTag[s]; ok {
		ce := e.Value.(*cacheEntry)
		ce.aead, ce.loaded = a, now
		c.order.MoveToFront(e)
		return
	}
	c.byTag[s] = c.order.PushFront(&cacheEntry{subject: s, aead: a, loaded: now})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byTag, last.Value.(*cacheEntry).subject)
	}
}

func (c *keyCache) remove(s ledger.SubjectTag) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byTag[s]; ok {
		c.order.Remove(e)
		delete(c.byTag, s)
	}
}

func (c *keyCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
