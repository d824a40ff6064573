package tilestore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// tileCache keeps the right edge of the tree (partial tiles, always) and a
// bounded number of full tiles, evicted first in, first out. Full tiles
// never change; a partial tile is replaced by its wider successor.
type tileCache struct {
	mu    sync.RWMutex // guards all fields
	tiles map[merkle.TileID]*merkle.Tile
	fifo  []merkle.TileID // full tiles in insertion order, a ring
	next  int
	limit int
}

func newTileCache(limit int) *tileCache {
	return &tileCache{tiles: make(map[merkle.TileID]*merkle.Tile), limit: limit}
}

func (c *tileCache) get(id merkle.TileID) *merkle.Tile {
	c.mu.RLock()
	t := c.tiles[id]
	c.mu.RUnlock()
	return t
}

// put adds or replaces a tile. Partial (edge) tiles are never evicted.
func (c *tileCache) put(t *merkle.Tile, edge bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.tiles[t.ID()]; ok && old.Width() >= t.Width() {
		return
	}
	c.tiles[t.ID()] = t
	if edge || !t.Full() {
		return
	}
	if len(c.fifo) < c.limit {
		c.fifo = append(c.fifo, t.ID())
		return
	}
	delete(c.tiles, c.fifo[c.next])
	c.fifo[c.next] = t.ID()
	c.next = (c.next + 1) % c.limit
}

// hashReader reads node hashes from the cache, then the backend.
type hashReader struct {
	ctx context.Context
	s   *Store
}

func (s *Store) hashReader(ctx context.Context) merkle.HashReader { return hashReader{ctx: ctx, s: s} }

func (r hashReader) ReadHashes(ids []merkle.NodeID, out []merkle.Hash) error {
	return r.s.readHashes(r.ctx, ids, out)
}

func (s *Store) readHashes(ctx context.Context, ids []merkle.NodeID, out []merkle.Hash) error {
	var (
		lastID   merkle.TileID
		lastTile *merkle.Tile
		lastData []byte
	)
	for i, id := range ids {
		tid, n := merkle.TileOf(id)
		if lastTile == nil && lastData == nil || tid != lastID {
			lastID, lastTile, lastData = tid, s.cachedTile(tid), nil
			if lastTile == nil {
				data, err := s.backend.ReadTile(ctx, tid)
				if err != nil {
					return fmt.Errorf("tilestore: reading tile %v: %w", tid, err)
				}
				if tid.Level > 0 || len(data)%merkle.HashSize == 0 {
					// Few and hot (or partial, which only happens while a
					// reader races a commit): decode, validate and cache.
					// Full level-0 tiles are read in place and left to the
					// backend's own cache.
					t, err := DecodeTile(tid, data)
					if err != nil {
						return fmt.Errorf("%w: %w", ledger.ErrCorrupt, err)
					}
					s.cache.put(t, false)
					lastTile = t
				} else {
					lastData = data
				}
			}
		}
		var (
			h  merkle.Hash
			ok bool
		)
		if lastTile != nil {
			h, ok = lastTile.Hash(n)
		} else {
			h, ok = merkle.NodeFromTileData(lastData, n)
		}
		if !ok {
			return fmt.Errorf("%w: node %d/%d missing from tile %v", ledger.ErrCorrupt, id.Level, id.Index, tid)
		}
		out[i] = h
	}
	return nil
}

// cachedTile returns the tile id from the right edge of the latest
// commit or from the cache, or nil. An edge tile of the latest commit is
// at least as wide as the cache's, and a wider tile holds every node a
// narrower one does.
func (s *Store) cachedTile(id merkle.TileID) *merkle.Tile {
	if edge := s.edgeTiles.Load(); edge != nil {
		for _, t := range *edge {
			if t.ID() == id {
				return t
			}
		}
	}
	return s.cache.get(id)
}

// backendTiles reads validated tiles from the backend, for restoring the
// tree's right edge at Open.
type backendTiles struct {
	ctx context.Context
	s   *Store
}

func (b backendTiles) ReadTile(id merkle.TileID, width int) (*merkle.Tile, error) {
	data, err := b.s.backend.ReadTile(b.ctx, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("%w: tile %v missing", ledger.ErrCorrupt, id)
	}
	if err != nil {
		return nil, err
	}
	t, err := DecodeTile(id, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ledger.ErrCorrupt, err)
	}
	return t, nil
}
