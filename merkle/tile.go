package merkle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/compact"
)

// TileHeight is the height of a tile, as in C2SP tlog-tiles: a full tile
// holds TileWidth = 2^TileHeight hashes of one tree level.
const (
	TileHeight = 8
	TileWidth  = 1 << TileHeight
)

// NodeID identifies a node of the tree by level (0 for leaves) and index
// within its level, as in transparency-dev/merkle/compact.
type NodeID = compact.NodeID

// ErrMalformedTile reports tile bytes that do not decode.
var ErrMalformedTile = errors.New("merkle: malformed tile")

// ErrMissingNode reports a node a proof needs that its reader could not supply.
var ErrMissingNode = errors.New("merkle: missing node")

// TileID names a tile: tile level L holds the hashes of tree level 8L, and
// tile Index N holds the hashes [256N, 256N+256) of that level.
type TileID struct {
	Level uint8
	Index uint64
}

// String returns "L/N" for logs and errors.
func (id TileID) String() string { return fmt.Sprintf("%d/%d", id.Level, id.Index) }

// Path returns the C2SP tlog-tiles path of the tile of the given width,
// e.g. "tile/0/x001/234.p/5" for level 0, index 1234, width 5.
func (id TileID) Path(width int) string {
	p := "tile/" + strconv.Itoa(int(id.Level)) + "/" + indexPath(id.Index)
	if width < TileWidth {
		p += ".p/" + strconv.Itoa(width)
	}
	return p
}

// EntryBundlePath returns the C2SP tlog-tiles path of entry bundle n of the
// given width (the bundle of entries [256n, 256n+width)).
func EntryBundlePath(n uint64, width int) string {
	p := "tile/entries/" + indexPath(n)
	if width < TileWidth {
		p += ".p/" + strconv.Itoa(width)
	}
	return p
}

// indexPath encodes n as C2SP tlog-tiles path elements: groups of three
// decimal digits, every group but the last prefixed with "x".
func indexPath(n uint64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return strings.TrimSpace(s)
}

// TileNode locates a node inside a tile: Level 0..7 above the tile's bottom
// row, and Pos within that level of the tile.
type TileNode struct {
	Level uint8
	Pos   int
}

// TileOf returns the tile holding the perfect node id and its place there.
func TileOf(id NodeID) (TileID, TileNode) {
	k, r := id.Level/TileHeight, id.Level%TileHeight
	shift := TileHeight - r
	return TileID{Level: uint8(k), Index: id.Index >> shift},
		TileNode{Level: uint8(r), Pos: int(id.Index & (1<<shift - 1))}
}

// Tile is a tile with its interior: the bottom row of up to 256 hashes (the
// C2SP tlog-tiles content) and every perfect subtree hash above it up to,
// not including, the tile's root, which is stored in the tile one level up.
// Keeping the interior makes any node an O(1) lookup. Tiles are immutable.
type Tile struct {
	id    TileID
	width int
	// data is the encoding: a 2-byte big-endian width, then the hashes of
	// levels 0..7, level r holding width>>r hashes.
	data []byte
}

// tileHashes returns the number of hashes a tile of width w stores.
func tileHashes(w int) int {
	n := 0
	for r := 0; r < TileHeight; r++ {
		n += w >> r
	}
	return n
}

func levelOffset(w int, r int) int {
	off := 0
	for j := 0; j < r; j++ {
		off += w >> j
	}
	return off
}

// ID returns the tile's ID.
func (t *Tile) ID() TileID { return t.id }

// Width returns the number of hashes in the tile's bottom row.
func (t *Tile) Width() int { return t.width }

// Full reports whether the tile has all 256 hashes; a full tile never changes.
func (t *Tile) Full() bool { return t.width == TileWidth }

// Hash returns the hash of node n of the tile, or false if the tile does not
// (yet) have it.
func (t *Tile) Hash(n TileNode) (Hash, bool) {
	return nodeFromData(t.data, n)
}

func nodeFromData(data []byte, n TileNode) (Hash, bool) {
	var h Hash
	if len(data) < 2 || n.Level >= TileHeight || n.Pos < 0 {
		return h, false
	}
	w := int(binary.BigEndian.Uint16(data))
	if n.Pos >= w>>n.Level {
		return h, false
	}
	off := 2 + (levelOffset(w, int(n.Level))+n.Pos)*HashSize
	if off+HashSize > len(data) {
		return h, false
	}
	copy(h[:], data[off:])
	return h, true
}

// NodeFromTileData returns node n from an encoded tile (see
// [Tile.MarshalBinary]) without decoding the whole tile. data must have been
// validated by UnmarshalTile when it was stored; a short or inconsistent
// encoding yields false.
func NodeFromTileData(data []byte, n TileNode) (Hash, bool) { return nodeFromData(data, n) }

// Root returns the hash of a full tile's root (a node of the tree level
// 8(L+1)). It panics if the tile is not full.
func (t *Tile) Root() Hash {
	if !t.Full() {
		panic("merkle: Root of a partial tile")
	}
	l, _ := t.Hash(TileNode{Level: TileHeight - 1, Pos: 0})
	r, _ := t.Hash(TileNode{Level: TileHeight - 1, Pos: 1})
	return HashChildren(l, r)
}

// Bottom returns a copy of the tile's bottom row.
func (t *Tile) Bottom() []Hash {
	out := make([]Hash, t.width)
	for i := range out {
		copy(out[i][:], t.data[2+i*HashSize:])
	}
	return out
}

// C2SP returns the tile in the C2SP tlog-tiles format: the bottom row's
// hashes concatenated, served at [TileID.Path].
func (t *Tile) C2SP() []byte {
	out := make([]byte, t.width*HashSize)
	copy(out, t.data[2:])
	return out
}

// MarshalBinary returns the tile's storage encoding: a 2-byte big-endian
// width, then the hashes of levels 0..7 of the tile, level r holding
// width>>r hashes. The returned slice must not be modified.
func (t *Tile) MarshalBinary() ([]byte, error) { return t.data, nil }

// UnmarshalTile decodes a tile stored with MarshalBinary. It checks the
// length and that every interior hash is the hash of its children, so a
// flipped byte is reported anywhere but in the last bottom hash of a tile
// of odd width, which no interior hash of the tile covers (a tree root or
// proof read through the tile does: see the package doc). It keeps data
// (the caller must not modify it afterwards). UnmarshalTile detects
// corruption, not forgery: a tile rewritten with consistent interior
// hashes decodes; only verification against a signed root catches it.
func UnmarshalTile(id TileID, data []byte) (*Tile, error) {
	if len(data) < 2 {
		return nil, fmt.Errorf("%w %v: %d bytes", ErrMalformedTile, id, len(data))
	}
	w := int(binary.BigEndian.Uint16(data))
	if w == 0 || w > TileWidth || len(data) != 2+tileHashes(w)*HashSize {
		return nil, fmt.Errorf("%w %v: width %d with %d bytes", ErrMalformedTile, id, w, len(data))
	}
	t := &Tile{id: id, width: w, data: data}
	for r := 1; r < TileHeight; r++ {
		for p := 0; p < w>>r; p++ {
			l, _ := t.Hash(TileNode{Level: uint8(r - 1), Pos: 2 * p})
			rr, _ := t.Hash(TileNode{Level: uint8(r - 1), Pos: 2*p + 1})
			got, _ := t.Hash(TileNode{Level: uint8(r), Pos: p})
			if HashChildren(l, rr) != got {
				return nil, fmt.Errorf("%w %v: interior hash at level %d position %d does not match its children", ErrMalformedTile, id, r, p)
			}
		}
	}
	return t, nil
}

// TileFromC2SP builds a tile, interior included, from its C2SP tlog-tiles
// content (width*32 bytes).
func TileFromC2SP(id TileID, content []byte) (*Tile, error) {
	if len(content) == 0 || len(content)%HashSize != 0 || len(content) > TileWidth*HashSize {
		return nil, fmt.Errorf("%w %v: %d bytes of C2SP tile content", ErrMalformedTile, id, len(content))
	}
	hashes := make([]Hash, len(content)/HashSize)
	for i := range hashes {
		copy(hashes[i][:], content[i*HashSize:])
	}
	return extendTile(nil, id, hashes), nil
}

// extendTile returns a new tile with old's bottom row followed by add (old
// may be nil for an empty tile). Interior nodes of old are copied, only the
// new ones are hashed. len(add) must keep the width within TileWidth.
func extendTile(old *Tile, id TileID, add []Hash) *Tile {
	ow := 0
	if old != nil {
		ow = old.width
	}
	w := ow + len(add)
	data := make([]byte, 2+tileHashes(w)*HashSize)
	binary.BigEndian.PutUint16(data, uint16(w))
	at := func(r, p int) []byte {
		off := 2 + (levelOffset(w, r)+p)*HashSize
		return data[off : off+HashSize]
	}
	for r := 0; r < TileHeight; r++ {
		n, on := w>>r, ow>>r
		if on > 0 {
			src := 2 + levelOffset(ow, r)*HashSize
			copy(data[2+levelOffset(w, r)*HashSize:], old.data[src:src+on*HashSize])
		}
		for p := on; p < n; p++ {
			if r == 0 {
				copy(at(0, p), add[p-ow][:])
				continue
			}
			var l, rr Hash
			copy(l[:], at(r-1, 2*p))
			copy(rr[:], at(r-1, 2*p+1))
			h := HashChildren(l, rr)
			copy(at(r, p), h[:])
		}
	}
	return &Tile{id: id, width: w, data: data}
}

// Prefix returns the tile as it was when its bottom row had w hashes.
func (t *Tile) Prefix(w int) (*Tile, error) {
	if w <= 0 || w > t.width {
		return nil, fmt.Errorf("%w %v: prefix %d of width %d", ErrMalformedTile, t.id, w, t.width)
	}
	if w == t.width {
		return t, nil
	}
	return extendTile(nil, t.id, t.Bottom()[:w]), nil
}

// NewNodeID returns the ID of the node at level (0 for leaves) and index.
func NewNodeID(level uint, index uint64) NodeID { return compact.NewNodeID(level, index) }

// TileWidthAt returns the width of tile id in the tree of the given size:
// the number of hashes of tree level 8*id.Level in [256*id.Index,
// 256*id.Index+256) that the tree has, 0 if none. It never overflows, for
// any level and index.
func TileWidthAt(size uint64, id TileID) int {
	shift := uint(id.Level) * TileHeight
	if shift >= 64 {
		return 0
	}
	count := size >> shift
	if id.Index > count/TileWidth {
		return 0
	}
	return int(min(count-id.Index*TileWidth, TileWidth))
}
