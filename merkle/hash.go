package merkle

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// HashSize is the size in bytes of a tree hash (SHA-256).
const HashSize = sha256.Size

// Hash is a SHA-256 tree hash: a leaf hash, an interior node hash or a root.
type Hash [HashSize]byte

// String returns the standard base64 encoding of h, as used in checkpoints.
func (h Hash) String() string { return base64.StdEncoding.EncodeToString(h[:]) }

// ParseHash parses the standard base64 encoding of a hash, as String
// returns it. Only that canonical form is accepted (no line breaks, no
// non-zero padding bits, which the base64 decoder would otherwise ignore),
// so a hash has exactly one text form and checkpoint texts carrying the
// same root are byte-identical.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != HashSize || len(s) != base64.StdEncoding.EncodedLen(HashSize) {
		return h, fmt.Errorf("%w: not a base64 SHA-256 hash", ErrMalformedHash)
	}
	copy(h[:], b)
	return h, nil
}

// ErrMalformedHash reports a hash that is not 32 bytes of base64.
var ErrMalformedHash = errors.New("merkle: malformed hash")

// HashLeaf returns the RFC 6962 leaf hash SHA-256(0x00 || data).
func HashLeaf(data []byte) Hash {
	h := sha256.New()
	h.Write([]byte{0x00})
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// HashChildren returns the RFC 6962 interior node hash SHA-256(0x01 || left || right).
// It does not allocate.
func HashChildren(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = 0x01
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// EmptyRoot returns the root hash of the empty tree, SHA-256 of the empty string.
func EmptyRoot() Hash { return sha256.Sum256(nil) }
