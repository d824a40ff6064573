package ledger

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/healthledger/healthledger/merkle"
	"golang.org/x/mod/sumdb/note"
)

// ErrWrongOrigin reports a checkpoint whose origin line is not the origin
// of the log being verified.
var ErrWrongOrigin = errors.New("ledger: checkpoint origin does not match")

// MaxCheckpointSize bounds a signed checkpoint note (text, signature and
// cosignature lines) accepted by the parsers of this package.
const MaxCheckpointSize = 16 << 10

// Checkpoint is the body of a C2SP tlog-checkpoint
// (https://c2sp.org/tlog-checkpoint): the log's origin, a tree size and the
// RFC 6962 root hash of the tree of that size.
//
// Extension lines are accepted by [ParseCheckpoint] (they are covered by
// the signatures) but not kept: a Checkpoint holds the three lines that
// carry meaning, and [Checkpoint.Marshal] never writes extension lines.
type Checkpoint struct {
	// Origin identifies the log, e.g. "ledger.example-hospital.org/audit".
	Origin string
	// Size is the number of leaves in the tree.
	Size uint64
	// Root is the RFC 6962 root hash of the first Size leaves.
	Root merkle.Hash
}

// Marshal returns the checkpoint note body: the origin, the decimal size
// and the base64 root hash, each followed by a newline.
func (c Checkpoint) Marshal() []byte {
	b := make([]byte, 0, len(c.Origin)+1+20+1+44+1)
	b = append(b, c.Origin...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, c.Size, 10)
	b = append(b, '\n')
	b = base64.StdEncoding.AppendEncode(b, c.Root[:])
	return append(b, '\n')
}

// ParseCheckpoint parses a checkpoint note body strictly: a non-empty
// origin line, a decimal size without leading zeros, the canonical base64
// encoding of a 32-byte root, then zero or more non-empty extension lines,
// every line ending in a newline. Errors are *FieldError values wrapping
// ErrMalformed.
func ParseCheckpoint(body []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(body) > MaxCheckpointSize {
		return c, fieldErr(ErrTooLarge, "checkpoint", fmt.Sprintf("longer than %d bytes", MaxCheckpointSize))
	}
	lines, ok := splitLines(body)
	if !ok {
		return c, fieldErr(ErrMalformed, "checkpoint", "does not end with a newline")
	}
	if len(lines) < 3 {
		return c, fieldErr(ErrMalformed, "checkpoint", "fewer than three lines")
	}
	if len(lines[0]) == 0 {
		return c, fieldErr(ErrMalformed, "checkpoint.origin", "empty")
	}
	if !validText(lines[0]) {
		return c, fieldErr(ErrMalformed, "checkpoint.origin", "not printable UTF-8")
	}
	size, err := parseDecimal(lines[1])
	if err != nil {
		return c, fieldErr(ErrMalformed, "checkpoint.size", err.Error())
	}
	root, err := parseHashLine(lines[2])
	if err != nil {
		return c, fieldErr(ErrMalformed, "checkpoint.root", err.Error())
	}
	for _, ext := range lines[3:] {
		if len(ext) == 0 {
			return c, fieldErr(ErrMalformed, "checkpoint.extension", "empty line")
		}
		if !validText(ext) {
			return c, fieldErr(ErrMalformed, "checkpoint.extension", "not printable UTF-8")
		}
	}
	c.Origin, c.Size, c.Root = string(lines[0]), size, root
	return c, nil
}

// splitLines splits newline-terminated lines; ok is false if b does not
// end with a newline.
func splitLines(b []byte) (lines [][]byte, ok bool) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, false
	}
	return bytes.Split(b[:len(b)-1], []byte{'\n'}), true
}

// validText reports whether the line b is UTF-8 without ASCII control
// characters, as signed notes require.
func validText(b []byte) bool {
	return bytes.IndexByte(b, '\n') < 0 && validNoteText(b)
}

var (
	errDecimal = errors.New("not a decimal number without leading zeros")
	errHash    = errors.New("not the base64 encoding of a 32-byte hash")
)

// parseDecimal parses an ASCII decimal uint64 without sign or leading zeros.
func parseDecimal(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 20 || (b[0] == '0' && len(b) > 1) {
		return 0, errDecimal
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errDecimal
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, errDecimal
		}
		n = n*10 + d
	}
	return n, nil
}

// parseHashLine parses the canonical standard base64 encoding of a hash.
func parseHashLine(b []byte) (merkle.Hash, error) {
	var h merkle.Hash
	if len(b) != base64.StdEncoding.EncodedLen(merkle.HashSize) {
		return h, errHash
	}
	var raw [merkle.HashSize + 1]byte // DecodedLen of 44 characters
	n, err := base64.StdEncoding.Decode(raw[:], b)
	if err != nil || n != merkle.HashSize {
		return h, errHash
	}
	copy(h[:], raw[:n])
	// Reject non-canonical encodings (non-zero padding bits).
	var again [44]byte
	base64.StdEncoding.Encode(again[:], h[:])
	if !bytes.Equal(again[:], b) {
		return h, errHash
	}
	return h, nil
}

// GenerateKey generates an Ed25519 checkpoint signing key for a log whose
// origin (and key name) is origin. signerKey is secret: keep it as
// carefully as any private key. verifierKey is the public note verifier
// key ("<origin>+<key hash>+<base64 key>") to publish to clients.
func GenerateKey(origin string) (signerKey, verifierKey string, err error) {
	if origin == "" {
		return "", "", fieldErr(ErrMalformed, "origin", "empty")
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("ledger: generating checkpoint key: %w", err)
	}
	return skey, vkey, nil
}

// OpenCheckpoint verifies the signature of v on a signed checkpoint note,
// checks that its origin is origin, and parses it. Signatures by other keys
// (witness cosignatures) are left unverified in the returned note's
// UnverifiedSigs. A missing or invalid signature by v fails with an error
// wrapping ErrBadSignature; a malformed note with ErrMalformed; another
// origin with ErrWrongOrigin.
func OpenCheckpoint(signed []byte, origin string, v note.Verifier) (Checkpoint, *note.Note, error) {
	if v == nil {
		return Checkpoint{}, nil, errors.New("ledger: nil checkpoint verifier")
	}
	return openCheckpoint(signed, origin, note.VerifierList(v))
}

func openCheckpoint(signed []byte, origin string, vs note.Verifiers) (Checkpoint, *note.Note, error) {
	var c Checkpoint
	if len(signed) > MaxCheckpointSize {
		return c, nil, fieldErr(ErrTooLarge, "checkpoint", fmt.Sprintf("longer than %d bytes", MaxCheckpointSize))
	}
	n, err := note.Open(signed, vs)
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			return c, nil, fmt.Errorf("%w: checkpoint carries no signature by the log key", ErrBadSignature)
		case errors.As(err, &invalid):
			return c, nil, fmt.Errorf("%w: checkpoint signature does not verify", ErrBadSignature)
		default:
			return c, nil, fieldErr(ErrMalformed, "checkpoint", "not a signed note")
		}
	}
	c, err = ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return c, nil, err
	}
	if c.Origin != origin {
		return Checkpoint{}, nil, ErrWrongOrigin
	}
	return c, n, nil
}
