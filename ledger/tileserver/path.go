package tileserver

import (
	"github.com/healthledger/healthledger/merkle"
)

// maxLevel is the largest tile level a path may name. A tree of at most
// 2^64 leaves has hash tiles at levels 0 to 7 only, but C2SP tlog-tiles
// allows up to 63; higher levels are valid paths to tiles that do not
// exist.
const maxLevel = 63

// tileRequest is a parsed tile path.
type tileRequest struct {
	entries bool // an entry bundle, not a hash tile
	level   uint8
	index   uint64
	width   int // 1 to 256; 256 for a full tile
}

// parseTilePath parses the part of a path after "tile/": "<L>/<N>" or
// "entries/<N>", each optionally followed by ".p/<W>", in the exact
// encoding of C2SP tlog-tiles. Anything else, including every
// non-canonical spelling of a valid request (leading zeros, a "x000"
// group, a ".p/256" suffix, a width of 0), is refused: each resource has
// exactly one name, so caches never hold two copies or a forged alias.
func parseTilePath(p string) (tileRequest, bool) {
	var req tileRequest
	if rest, ok := cutPrefix(p, "entries/"); ok {
		req.entries, p = true, rest
	} else {
		l, rest, ok := parseDecimal(p, 2)
		if !ok || l > maxLevel || len(rest) == 0 || rest[0] != '/' {
			return req, false
		}
		req.level, p = uint8(l), rest[1:]
	}
	index, rest, ok := parseIndex(p)
	if !ok {
		return req, false
	}
	req.index, req.width = index, merkle.TileWidth
	if rest == "" {
		return req, true
	}
	rest, ok = cutPrefix(rest, ".p/")
	if !ok {
		return req, false
	}
	w, rest, ok := parseDecimal(rest, 3)
	if !ok || rest != "" || w == 0 || w >= merkle.TileWidth {
		return req, false
	}
	req.width = int(w)
	return req, true
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

// parseDecimal parses a decimal number of 1 to maxDigits digits without
// leading zeros at the start of s, and returns the rest. A value that does
// not fit in 64 bits is refused.
func parseDecimal(s string, maxDigits int) (uint64, string, bool) {
	n, i := uint64(0), 0
	for i < len(s) && i < maxDigits+1 && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, s, false
		}
		n = n*10 + d
		i++
	}
	if i == 0 || i > maxDigits || (i > 1 && s[0] == '0') {
		return 0, s, false
	}
	return n, s[i:], true
}

// parseIndex parses a tile index encoded as C2SP tlog-tiles path
// elements, "x001/x234/067", at the start of s: groups of exactly three
// digits, every group but the last prefixed with "x", the first group not
// zero when there are several, and a value that fits in 64 bits. It
// returns the rest of s (what follows the last group).
func parseIndex(s string) (uint64, string, bool) {
	var n uint64
	for groups := 0; ; groups++ {
		last := true
		if len(s) > 0 && s[0] == 'x' {
			last, s = false, s[1:]
		}
		if len(s) < 3 {
			return 0, s, false
		}
		g := uint64(0)
		for _, c := range []byte(s[:3]) {
			if c < '0' || c > '9' {
				return 0, s, false
			}
			g = g*10 + uint64(c-'0')
		}
		s = s[3:]
		if groups == 0 && g == 0 && !last {
			return 0, s, false // "x000/..." is not canonical
		}
		if n > (^uint64(0)-g)/1000 {
			return 0, s, false // overflow
		}
		n = n*1000 + g
		if last {
			return n, s, true
		}
		if len(s) == 0 || s[0] != '/' {
			return 0, s, false
		}
		s = s[1:]
	}
}
