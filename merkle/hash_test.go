package merkle

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseHash(t *testing.T) {
	h := HashLeaf([]byte("parse"))
	s := h.String()
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"canonical", s, true},
		{"empty root", EmptyRoot().String(), true},
		{"empty", "", false},
		{"line break", s[:40] + "\n" + s[40:], false},
		{"trailing newline", s + "\n", false},
		{"non-zero padding bits", s[:42] + string(s[42]^1) + "=", false},
		{"unpadded", base64.RawStdEncoding.EncodeToString(h[:]), false},
		{"URL alphabet", base64.URLEncoding.EncodeToString(append([]byte{0xfb, 0xff}, h[2:]...)), false},
		{"31 bytes", base64.StdEncoding.EncodeToString(h[:31]), false},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(h[:], 0)), false},
		{"hex", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHash(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, ErrMalformedHash)
				if tc.in != "" {
					require.NotContains(t, err.Error(), tc.in, "errors do not echo their input")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.in, got.String())
		})
	}
}

func TestHashChildrenDomainSeparation(t *testing.T) {
	l, r := HashLeaf([]byte("l")), HashLeaf([]byte("r"))
	var both []byte
	both = append(append(both, l[:]...), r[:]...)
	require.NotEqual(t, HashLeaf(both), HashChildren(l, r), "leaf and node prefixes must differ")
	require.NotEqual(t, HashChildren(l, r), HashChildren(r, l))
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = HashChildren(l, r) }))
}
