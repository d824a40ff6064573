package tileserver

import (
	"math"
	"strings"
	"testing"

	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

func TestParseTilePath(t *testing.T) {
	tests := []struct {
		path string
		want tileRequest
		ok   bool
	}{
		{"0/000", tileRequest{level: 0, index: 0, width: 256}, true},
		{"0/001", tileRequest{level: 0, index: 1, width: 256}, true},
		{"0/x001/234", tileRequest{level: 0, index: 1234, width: 256}, true},
		{"1/x001/x234/067", tileRequest{level: 1, index: 1234067, width: 256}, true},
		{"2/x001/x000/000.p/7", tileRequest{level: 2, index: 1000000, width: 7}, true},
		{"0/123.p/255", tileRequest{level: 0, index: 123, width: 255}, true},
		{"63/000", tileRequest{level: 63, index: 0, width: 256}, true},
		{"entries/000.p/1", tileRequest{entries: true, index: 0, width: 1}, true},
		{"entries/x018/x446/x744/x073/x709/x551/615", tileRequest{entries: true, index: math.MaxUint64, width: 256}, true},

		{"", tileRequest{}, false},
		{"0", tileRequest{}, false},
		{"0/", tileRequest{}, false},
		{"00/000", tileRequest{}, false},        // leading zero in L
		{"01/000", tileRequest{}, false},        // leading zero in L
		{"64/000", tileRequest{}, false},        // level beyond 63
		{"256/000", tileRequest{}, false},       // level beyond 63
		{"0/1", tileRequest{}, false},           // not three digits
		{"0/0001", tileRequest{}, false},        // four digits
		{"0/x000/001", tileRequest{}, false},    // leading zero group
		{"0/x001", tileRequest{}, false},        // x on the last group
		{"0/001/234", tileRequest{}, false},     // no x on a non-last group
		{"0/x001/234/", tileRequest{}, false},   // trailing slash
		{"0/000.p/256", tileRequest{}, false},   // a full tile named as partial
		{"0/000.p/0", tileRequest{}, false},     // width 0
		{"0/000.p/007", tileRequest{}, false},   // leading zero in W
		{"0/000.p/", tileRequest{}, false},      // no width
		{"0/000.p/1000", tileRequest{}, false},  // too wide
		{"0/000.P/1", tileRequest{}, false},     // upper case
		{"0/000.p/1x", tileRequest{}, false},    // junk after width
		{"0/-01", tileRequest{}, false},         // sign
		{"0/+01", tileRequest{}, false},         // sign
		{"entries/x001", tileRequest{}, false},  // x on last
		{"entries/0/000", tileRequest{}, false}, // a level for entries
		{"entries000", tileRequest{}, false},
		{"x/000", tileRequest{}, false},
		{"entries/x018/x446/x744/x073/x709/x551/616", tileRequest{}, false}, // 2^64
		{"0/x999/x999/x999/x999/x999/x999/x999/999", tileRequest{}, false},  // overflow
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := parseTilePath(tt.path)
			require.Equal(t, tt.ok, ok)
			if ok {
				require.Equal(t, tt.want, got)
			}
		})
	}
}

// Every path merkle writes parses back to its tile, and every path the
// parser accepts is the one merkle writes for what it parsed: one name per
// resource.
func TestTilePathRoundTrip(t *testing.T) {
	for _, index := range []uint64{0, 1, 999, 1000, 1234067, math.MaxUint64, math.MaxUint64 / 256} {
		for _, width := range []int{1, 7, 255, 256} {
			for _, level := range []uint8{0, 1, 7} {
				p := merkle.TileID{Level: level, Index: index}.Path(width)
				got, ok := parseTilePath(strings.TrimPrefix(p, "tile/"))
				require.True(t, ok, p)
				require.Equal(t, tileRequest{level: level, index: index, width: width}, got, p)
			}
			p := merkle.EntryBundlePath(index, width)
			got, ok := parseTilePath(strings.TrimPrefix(p, "tile/"))
			require.True(t, ok, p)
			require.Equal(t, tileRequest{entries: true, index: index, width: width}, got, p)
		}
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"0/000", "1/x001/x234/067.p/5", "entries/x001/000", "0/x000/001", "00/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		req, ok := parseTilePath(s)
		if !ok {
			return
		}
		var canon string
		if req.entries {
			canon = merkle.EntryBundlePath(req.index, req.width)
		} else {
			canon = merkle.TileID{Level: req.level, Index: req.index}.Path(req.width)
		}
		if canon != "tile/"+s {
			t.Fatalf("accepted %q, canonical form %q", s, canon)
		}
	})
}
