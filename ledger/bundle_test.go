package ledger

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEntryBundle(t *testing.T) {
	leaves := [][]byte{{}, []byte("a"), bytes.Repeat([]byte{7}, 300), make([]byte, math.MaxUint16)}
	b, err := EncodeEntryBundle(leaves)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0, 0, 1, 'a', 1, 44}, b[:7], "big-endian uint16 length prefixes")
	got, err := ParseEntryBundle(b, len(leaves))
	require.NoError(t, err)
	require.Equal(t, len(leaves), len(got))
	for i := range leaves {
		require.True(t, bytes.Equal(leaves[i], got[i]), "leaf %d", i)
	}
	for _, tt := range []struct {
		name  string
		data  []byte
		width int
	}{
		{"fewer entries", b, len(leaves) + 1},
		{"more entries", b, len(leaves) - 1},
		{"truncated entry", b[:len(b)-1], len(leaves)},
		{"truncated prefix", append(b, 0), len(leaves) + 1},
		{"width 0", nil, 0},
		{"width 257", b, 257},
		{"empty", nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEntryBundle(tt.data, tt.width)
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
	_, err = EncodeEntryBundle([][]byte{make([]byte, math.MaxUint16+1)})
	require.ErrorIs(t, err, ErrTooLarge)
	_, err = EncodeEntryBundle(make([][]byte, 257))
	require.ErrorIs(t, err, ErrMalformed)
}

// A bundle that parses re-encodes to the same bytes: one encoding per
// list of leaves.
func FuzzParseEntryBundle(f *testing.F) {
	f.Add([]byte{0, 1, 'a'}, 1)
	f.Add([]byte{0, 0, 0, 2, 'a', 'b'}, 2)
	f.Add([]byte{0, 3, 'a'}, 1)
	f.Fuzz(func(t *testing.T, data []byte, width int) {
		leaves, err := ParseEntryBundle(data, width)
		if err != nil {
			return
		}
		again, err := EncodeEntryBundle(leaves)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("bundle of %d leaves does not re-encode to itself: %v", width, err)
		}
	})
}
