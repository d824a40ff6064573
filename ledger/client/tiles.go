package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// tileCache keeps verified full tiles, evicted first in, first out. Full
// tiles never change in a log that stays consistent, and the Client only
// caches tiles verified against a checkpoint it trusts.
type tileCache struct {
	mu    sync.RWMutex // guards all fields
	tiles map[merkle.TileID]*merkle.Tile
	ring  []merkle.TileID
	next  int
	limit int
}

func newTileCache(limit int) *tileCache {
	return &tileCache{tiles: make(map[merkle.TileID]*merkle.Tile), limit: limit}
}

func (c *tileCache) get(id merkle.TileID) *merkle.Tile {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tiles[id]
}

func (c *tileCache) put(t *merkle.Tile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.tiles[t.ID()]; ok {
		return
	}
	c.tiles[t.ID()] = t
	if len(c.ring) < c.limit {
		c.ring = append(c.ring, t.ID())
		return
	}
	delete(c.tiles, c.ring[c.next])
	c.ring[c.next] = t.ID()
	c.next = (c.next + 1) % c.limit
}

// treeReader is a merkle.HashReader over the tiles of one tree (size,
// root), fetched from the server and verified before any hash is used:
//
//   - a full tile's root must be the hash its parent tile holds for it
//     (its parent is verified the same way, or was cached);
//   - partial tiles lie on the tree's right edge, and the root computed
//     from the right edge must be the checkpoint's root.
//
// Every chain of parents ends in a partial tile (the top tile of a tree is
// never full) or in a cached tile, so every hash read is tied to the
// root. This is the method of golang.org/x/mod/sumdb/tlog's
// TileHashReader.
type treeReader struct {
	c     *Client
	ctx   context.Context
	size  uint64
	root  merkle.Hash
	stage bool // keep verified tiles in staged instead of the caches
	// staged holds the tiles verified for this tree, to commit.
	staged []*merkle.Tile
}

func (c *Client) reader(ctx context.Context, size uint64, root merkle.Hash, stage bool) *treeReader {
	return &treeReader{c: c, ctx: ctx, size: size, root: root, stage: stage}
}

// lookup returns a verified tile of the tree from the caches, or nil.
func (r *treeReader) lookup(id merkle.TileID, width int) *merkle.Tile {
	if width == merkle.TileWidth {
		return r.c.full.get(id)
	}
	if r.stage {
		return nil
	}
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if r.c.edgeSize != r.size {
		return nil
	}
	return r.c.edge[id]
}

// ReadHashes implements merkle.HashReader.
func (r *treeReader) ReadHashes(ids []merkle.NodeID, out []merkle.Hash) error {
	// Fast path: every tile cached.
	var last *merkle.Tile
	for i, id := range ids {
		tid, n := merkle.TileOf(id)
		if last == nil || last.ID() != tid {
			if last = r.lookup(tid, merkle.TileWidthAt(r.size, tid)); last == nil {
				return r.readSlow(ids, out)
			}
		}
		h, ok := last.Hash(n)
		if !ok {
			return fmt.Errorf("%w: node %d/%d is not in the tree of size %d", ledger.ErrNotFound, id.Level, id.Index, r.size)
		}
		out[i] = h
	}
	return nil
}

// readSlow fetches the missing tiles and their parents, verifies them all,
// then reads the hashes.
func (r *treeReader) readSlow(ids []merkle.NodeID, out []merkle.Hash) error {
	tiles := make(map[merkle.TileID]*merkle.Tile)
	var fetched []*merkle.Tile
	partial := false
	var load func(id merkle.TileID) error
	load = func(id merkle.TileID) error {
		if _, ok := tiles[id]; ok {
			return nil
		}
		width := merkle.TileWidthAt(r.size, id)
		if width == 0 {
			return fmt.Errorf("%w: tile %v is not in the tree of size %d", ledger.ErrNotFound, id, r.size)
		}
		if t := r.lookup(id, width); t != nil {
			tiles[id] = t
			return nil
		}
		t, err := r.c.fetchTile(r.ctx, id, width)
		if err != nil {
			return err
		}
		tiles[id] = t
		fetched = append(fetched, t)
		if width < merkle.TileWidth {
			partial = true
			return nil
		}
		return load(merkle.TileID{Level: id.Level + 1, Index: id.Index / merkle.TileWidth})
	}
	for _, id := range ids {
		tid, _ := merkle.TileOf(id)
		if err := load(tid); err != nil {
			return err
		}
	}
	if partial {
		// The root is computed from the right edge, fetched if needed.
		for k := uint8(0); merkle.TileWidthAt(r.size, merkle.TileID{Level: k}) > 0; k++ {
			count := r.size >> (merkle.TileHeight * uint(k))
			if count%merkle.TileWidth != 0 {
				if err := load(merkle.TileID{Level: k, Index: count / merkle.TileWidth}); err != nil {
					return err
				}
			}
		}
		got, err := merkle.RootHash(r.size, mapReader(tiles))
		if err != nil {
			return fmt.Errorf("%w: %w", ledger.ErrInvalidProof, err)
		}
		if got != r.root {
			return fmt.Errorf("%w: tiles give root %v for size %d, checkpoint says %v", ledger.ErrInvalidProof, got, r.size, r.root)
		}
	}
	for _, t := range fetched {
		if !t.Full() {
			continue
		}
		id := t.ID()
		parent := tiles[merkle.TileID{Level: id.Level + 1, Index: id.Index / merkle.TileWidth}]
		want, ok := parent.Hash(merkle.TileNode{Level: 0, Pos: int(id.Index % merkle.TileWidth)})
		if !ok || t.Root() != want {
			return fmt.Errorf("%w: tile %v does not hash to its entry in tile %v", ledger.ErrInvalidProof, id, parent.ID())
		}
	}
	r.keep(fetched)
	return mapReader(tiles).ReadHashes(ids, out)
}

// keep caches verified tiles, or stages them.
func (r *treeReader) keep(ts []*merkle.Tile) {
	if r.stage {
		r.staged = append(r.staged, ts...)
		return
	}
	r.c.putTiles(r.size, ts)
}

// commit caches the staged tiles: the tree they were verified against is
// now trusted.
func (r *treeReader) commit() { r.c.putTiles(r.size, r.staged) }

func (c *Client) putTiles(size uint64, ts []*merkle.Tile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range ts {
		if t.Full() {
			c.full.put(t)
			continue
		}
		if c.edgeSize != size {
			if size < c.edgeSize {
				continue // tiles of an older tree
			}
			c.edge, c.edgeSize = make(map[merkle.TileID]*merkle.Tile), size
		}
		c.edge[t.ID()] = t
	}
}

// mapReader reads hashes from a set of tiles.
type mapReader map[merkle.TileID]*merkle.Tile

func (m mapReader) ReadHashes(ids []merkle.NodeID, out []merkle.Hash) error {
	for i, id := range ids {
		tid, n := merkle.TileOf(id)
		t := m[tid]
		if t == nil {
			return fmt.Errorf("%w: tile %v not read", merkle.ErrMissingNode, tid)
		}
		h, ok := t.Hash(n)
		if !ok {
			return fmt.Errorf("%w: node %d/%d not in tile %v", merkle.ErrMissingNode, id.Level, id.Index, tid)
		}
		out[i] = h
	}
	return nil
}

// fetchTile fetches tile id at the given width. If a partial tile is gone
// (404), it falls back to the full tile, as C2SP tlog-tiles recommends.
func (c *Client) fetchTile(ctx context.Context, id merkle.TileID, width int) (*merkle.Tile, error) {
	data, err := c.fetch(ctx, id.Path(width), width*merkle.HashSize)
	if errors.Is(err, ledger.ErrNotFound) && width < merkle.TileWidth {
		var full []byte
		if full, err = c.fetch(ctx, id.Path(merkle.TileWidth), merkle.TileWidth*merkle.HashSize); err == nil {
			data = full[:min(len(full), width*merkle.HashSize)]
		}
	}
	if err != nil {
		return nil, fmt.Errorf("client: fetching tile %v: %w", id, err)
	}
	if len(data) != width*merkle.HashSize {
		return nil, fmt.Errorf("%w: tile %v has %d bytes, want %d", ledger.ErrInvalidProof, id, len(data), width*merkle.HashSize)
	}
	t, err := merkle.TileFromC2SP(id, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ledger.ErrInvalidProof, err)
	}
	return t, nil
}

// HTTPError reports a response other than 200 or 404 from the server.
type HTTPError struct {
	// Path is the requested path below the log's URL.
	Path string
	// Status is the HTTP status code.
	Status int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("client: GET %s: HTTP status %d", e.Path, e.Status)
}

// fetch GETs path below the base URL, reading at most limit bytes. A 404
// is ErrNotFound; a longer body is ErrInvalidProof (the server is not
// serving what the protocol allows).
func (c *Client) fetch(ctx context.Context, path string, limit int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%w: %s", ledger.ErrNotFound, path)
	default:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, &HTTPError{Path: path, Status: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(body) > limit {
		return nil, fmt.Errorf("%w: %s is longer than %d bytes", ledger.ErrInvalidProof, path, limit)
	}
	c.logger.Debug("client: fetched", "path", path, "bytes", len(body))
	return body, nil
}
