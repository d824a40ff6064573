package ledger

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/healthledger/healthledger/merkle"
)

// Receipt is the offline proof that an entry is in the log: the exact leaf,
// its index, its inclusion proof and the signed checkpoint that covers it.
// Anyone holding the log's verifier key can check it with a [Verifier].
type Receipt struct {
	// Index is the entry's position in the log.
	Index uint64
	// Leaf is the exact leaf bytes (the encoded entry).
	Leaf []byte
	// Proof is the inclusion proof of Leaf at Index in the checkpoint's tree.
	Proof []merkle.Hash
	// Checkpoint is the signed checkpoint note (C2SP tlog-checkpoint),
	// possibly carrying witness cosignatures.
	Checkpoint []byte
	// Existed reports that the entry had been appended before; Index is then
	// the index of the earlier append.
	Existed bool
}

// Receipts are written in the C2SP tlog-proof text format
// (https://c2sp.org/tlog-proof), with the exact leaf bytes as the "extra"
// data:
//
//	c2sp.org/tlog-proof@v1
//	extra <base64 leaf>
//	index <decimal index>
//	<base64 proof hash>        (zero or more lines)
//	<empty line>
//	<signed checkpoint note, verbatim, with any cosignatures>
//
// See SPEC.md for how this profile differs from the general format.
const (
	receiptHeader = "c2sp.org/tlog-proof@v1"
	// MaxProofHashes bounds the number of hashes in an inclusion proof: a
	// tree of at most 2^64 leaves has at most 64 levels.
	MaxProofHashes = 64
	// MaxReceiptSize bounds the text of a receipt accepted by ParseReceipt.
	MaxReceiptSize = len(receiptHeader) + 1 +
		len("extra ") + (MaxEntrySize+2)/3*4 + 1 +
		len("index ") + 20 + 1 +
		MaxProofHashes*45 + 1 +
		MaxCheckpointSize
)

// MarshalText returns r in the tlog-proof text format. Existed is not
// written: it describes the append call, not the proof. It fails with a
// *FieldError if r cannot be written in a form [ParseReceipt] accepts.
func (r *Receipt) MarshalText() ([]byte, error) {
	if r == nil {
		return nil, fieldErr(ErrMalformed, "receipt", "nil receipt")
	}
	if err := checkReceiptParts(r.Leaf, r.Proof); err != nil {
		return nil, err
	}
	cp, err := ParseSignedCheckpoint(r.Checkpoint)
	if err != nil {
		return nil, err
	}
	if r.Index >= cp.Size {
		return nil, fieldErr(ErrMalformed, "receipt.index", "not below the checkpoint size")
	}
	n := len(receiptHeader) + 8 + base64.StdEncoding.EncodedLen(len(r.Leaf)) + 28 + 45*len(r.Proof) + 1 + len(r.Checkpoint)
	b := make([]byte, 0, n)
	b = append(b, receiptHeader...)
	b = append(b, "\nextra "...)
	b = base64.StdEncoding.AppendEncode(b, r.Leaf)
	b = append(b, "\nindex "...)
	b = strconv.AppendUint(b, r.Index, 10)
	b = append(b, '\n')
	for _, h := range r.Proof {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return append(b, r.Checkpoint...), nil
}

func checkReceiptParts(leaf []byte, proof []merkle.Hash) error {
	switch {
	case len(leaf) == 0:
		return fieldErr(ErrMalformed, "receipt.extra", "missing leaf")
	case len(leaf) > MaxEntrySize:
		return tooLong("receipt.extra", MaxEntrySize)
	case len(proof) > MaxProofHashes:
		return fieldErr(ErrTooLarge, "receipt.proof", fmt.Sprintf("more than %d hashes", MaxProofHashes))
	}
	return nil
}

// ParseSignedCheckpoint checks the shape of a signed checkpoint note and
// parses its body WITHOUT verifying any signature: use it only on notes from
// a trusted place (a store reading its own checkpoint) or to look at a note
// that is verified elsewhere. Clients verify with [Verifier] or
// [OpenCheckpoint].
func ParseSignedCheckpoint(signed []byte) (Checkpoint, error) {
	body, _, err := splitNote(signed)
	if err != nil {
		return Checkpoint{}, err
	}
	if !validNoteText(signed) {
		return Checkpoint{}, fieldErr(ErrMalformed, "checkpoint", "not printable UTF-8")
	}
	return ParseCheckpoint(body)
}

// validNoteText reports whether b is UTF-8 whose only ASCII control
// character is the newline, the rule of signed notes.
func validNoteText(b []byte) bool {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if (r < 0x20 && r != '\n') || (r == utf8.RuneError && size == 1) {
			return false
		}
		i += size
	}
	return true
}

// ParseReceipt parses a receipt in the tlog-proof text format written by
// [Receipt.MarshalText]. It is strict: the header line, the extra line with
// the canonical base64 of a non-empty leaf, the index without leading
// zeros, at most MaxProofHashes canonical base64 hashes, an empty line and
// a well-formed signed checkpoint whose size exceeds the index. It checks
// no signature and no proof: that is the job of a [Verifier]. Errors are
// *FieldError values wrapping ErrMalformed or ErrTooLarge.
func ParseReceipt(text []byte) (*Receipt, error) {
	if len(text) > MaxReceiptSize {
		return nil, tooLong("receipt", MaxReceiptSize)
	}
	line, rest, ok := bytes.Cut(text, []byte{'\n'})
	if !ok || string(line) != receiptHeader {
		return nil, fieldErr(ErrMalformed, "receipt.header", "not "+receiptHeader)
	}
	line, rest, _ = bytes.Cut(rest, []byte{'\n'})
	b64, ok := bytes.CutPrefix(line, []byte("extra "))
	if !ok {
		return nil, fieldErr(ErrMalformed, "receipt.extra", "missing leaf")
	}
	leaf := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
	n, err := base64.StdEncoding.Strict().Decode(leaf, b64)
	if err != nil || bytes.ContainsAny(b64, "\r\n") {
		return nil, fieldErr(ErrMalformed, "receipt.extra", "not canonical base64")
	}
	r := &Receipt{Leaf: leaf[:n:n]}

	line, rest, _ = bytes.Cut(rest, []byte{'\n'})
	idx, ok := bytes.CutPrefix(line, []byte("index "))
	if !ok {
		return nil, fieldErr(ErrMalformed, "receipt.index", "missing")
	}
	if r.Index, err = parseDecimal(idx); err != nil {
		return nil, fieldErr(ErrMalformed, "receipt.index", err.Error())
	}
	for {
		line, rest, ok = bytes.Cut(rest, []byte{'\n'})
		if !ok {
			return nil, fieldErr(ErrMalformed, "receipt.proof", "no empty line before the checkpoint")
		}
		if len(line) == 0 {
			break
		}
		if len(r.Proof) == MaxProofHashes {
			return nil, fieldErr(ErrTooLarge, "receipt.proof", fmt.Sprintf("more than %d hashes", MaxProofHashes))
		}
		h, err := parseHashLine(line)
		if err != nil {
			return nil, fieldErr(ErrMalformed, "receipt.proof", err.Error())
		}
		r.Proof = append(r.Proof, h)
	}
	if err := checkReceiptParts(r.Leaf, r.Proof); err != nil {
		return nil, err
	}
	cp, err := ParseSignedCheckpoint(rest)
	if err != nil {
		return nil, err
	}
	if r.Index >= cp.Size {
		return nil, fieldErr(ErrMalformed, "receipt.index", "not below the checkpoint size")
	}
	r.Checkpoint = bytes.Clone(rest)
	return r, nil
}
