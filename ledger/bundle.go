package ledger

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/healthledger/healthledger/merkle"
)

// EncodeEntryBundle returns the C2SP tlog-tiles entry bundle of leaves:
// each leaf as a big-endian uint16 length followed by its bytes. It fails
// with ErrTooLarge if a leaf is longer than 65535 bytes (MaxEntrySize) and
// with ErrMalformed if there are more than 256 leaves.
func EncodeEntryBundle(leaves [][]byte) ([]byte, error) {
	if len(leaves) > merkle.TileWidth {
		return nil, fmt.Errorf("%w: entry bundle of %d leaves", ErrMalformed, len(leaves))
	}
	n := 0
	for _, l := range leaves {
		if len(l) > math.MaxUint16 {
			return nil, tooLong("bundle.entry", math.MaxUint16)
		}
		n += 2 + len(l)
	}
	out := make([]byte, 0, n)
	for _, l := range leaves {
		out = binary.BigEndian.AppendUint16(out, uint16(len(l)))
		out = append(out, l...)
	}
	return out, nil
}

// ParseEntryBundle splits a C2SP tlog-tiles entry bundle into exactly
// width leaves (1 to 256). The leaves alias data. It fails with an error
// wrapping ErrMalformed if the bundle holds another number of leaves, is
// truncated, or has bytes after the last leaf. It does not check the
// leaves against any tree: that is the caller's job (see package
// ledger/client).
func ParseEntryBundle(data []byte, width int) ([][]byte, error) {
	if width < 1 || width > merkle.TileWidth {
		return nil, fmt.Errorf("%w: entry bundle width %d", ErrMalformed, width)
	}
	out := make([][]byte, 0, width)
	for len(data) > 0 {
		if len(out) == width {
			return nil, fmt.Errorf("%w: entry bundle has more than %d entries", ErrMalformed, width)
		}
		if len(data) < 2 {
			return nil, fmt.Errorf("%w: entry bundle truncated in a length prefix", ErrMalformed)
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, fmt.Errorf("%w: entry bundle truncated in entry %d", ErrMalformed, len(out))
		}
		out = append(out, data[2:2+n:2+n])
		data = data[2+n:]
	}
	if len(out) != width {
		return nil, fmt.Errorf("%w: entry bundle has %d entries, want %d", ErrMalformed, len(out), width)
	}
	return out, nil
}
