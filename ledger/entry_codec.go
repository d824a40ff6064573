package ledger

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/healthledger/healthledger/merkle"
)

// Entry encoding, version 1. The layout is specified in SPEC.md:
//
//	magic      4 bytes  "HLE" 0x01
//	kind       uint16, big-endian, non-zero
//	subject    32 bytes
//	time       int64, big-endian, Unix nanoseconds (UTC)
//	digest     32 bytes
//	writer     uvarint length || UTF-8 bytes (1..MaxWriterSize)
//	body       uvarint length || bytes (0..MaxBodySize)
//	signature  uvarint length || bytes (0..MaxSignatureSize)
//
// Lengths are minimal uvarints; nothing may follow the signature.
const (
	// EntryVersion is the version byte of the entry encoding this package writes.
	EntryVersion = 0x01
	// EntryVersion2 is the version of entries whose payload is kept beside
	// the tree: the leaf holds a commitment to it instead of a body (see
	// SPEC.md, "Entry encoding v2").
	EntryVersion2 = 0x02
	// EntrySignatureDomain prefixes the message a writer signs, see
	// [Entry.SignedMessage].
	EntrySignatureDomain = "healthledger/entry-signature/v1\n"

	entryMagic     = "HLE"
	entryFixedSize = len(entryMagic) + 1 + 2 + 32 + 8 + 32
)

// Bounds of an entry's time: the instants whose Unix nanosecond count fits
// in an int64 (years 1677 to 2262).
var (
	minEntryTime = time.Unix(0, math.MinInt64)
	maxEntryTime = time.Unix(0, math.MaxInt64)
)

// FieldError reports a field of an entry, checkpoint or receipt that cannot
// be encoded or decoded. It names the field and the rule it breaks, never
// the field's contents (which may be protected health information). Err is
// one of the package sentinels (ErrMalformed, ErrUnknownVersion, ErrTooLarge,
// ErrInvalidEntry, ...), so errors.Is works on a *FieldError.
type FieldError struct {
	// Field names the field, such as "writer" or "checkpoint.size".
	Field string
	// Reason says which rule the field breaks, such as "longer than 2048 bytes".
	Reason string
	// Err is the sentinel the error wraps.
	Err error
}

// Error returns the sentinel's message followed by the field and the rule.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Reason)
}

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(err error, field, reason string) *FieldError {
	return &FieldError{Field: field, Reason: reason, Err: err}
}

func tooLong(field string, limit int) *FieldError {
	return fieldErr(ErrTooLarge, field, fmt.Sprintf("longer than %d bytes", limit))
}

// validate checks every rule of the encoding except the total size and
// returns the encoded size. withSig false treats the signature as empty.
func (e *Entry) validate(withSig bool) (int, error) {
	if e == nil {
		return 0, fieldErr(ErrInvalidEntry, "entry", "nil entry")
	}
	if e.Kind == 0 {
		return 0, fieldErr(ErrInvalidEntry, "kind", "zero kind")
	}
	if e.Time.IsZero() {
		return 0, fieldErr(ErrInvalidEntry, "time", "zero time")
	}
	if e.Time.Before(minEntryTime) || e.Time.After(maxEntryTime) {
		return 0, fieldErr(ErrInvalidEntry, "time", "outside the years 1677 to 2262")
	}
	if err := checkWriter(len(e.Writer), e.Writer); err != nil {
		return 0, err
	}
	if len(e.Body) > MaxBodySize {
		return 0, tooLong("body", MaxBodySize)
	}
	v2 := e.PayloadCommitment != (Commitment{})
	if v2 && len(e.Body) > 0 {
		return 0, fieldErr(ErrInvalidEntry, "body", "an entry with a payload commitment has no body")
	}
	sigLen := 0
	if withSig {
		sigLen = len(e.Signature)
		if sigLen > MaxSignatureSize {
			return 0, tooLong("signature", MaxSignatureSize)
		}
	}
	n := entryFixedSize +
		uvarintLen(uint64(len(e.Writer))) + len(e.Writer) +
		uvarintLen(uint64(sigLen)) + sigLen
	if v2 {
		n += len(Commitment{})
	} else {
		n += uvarintLen(uint64(len(e.Body))) + len(e.Body)
	}
	if n > MaxEntrySize {
		return 0, tooLong("entry", MaxEntrySize)
	}
	return n, nil
}

func checkWriter(n int, w string) error {
	switch {
	case n == 0:
		return fieldErr(ErrInvalidEntry, "writer", "empty")
	case n > MaxWriterSize:
		return tooLong("writer", MaxWriterSize)
	case !utf8.ValidString(w):
		return fieldErr(ErrInvalidEntry, "writer", "not valid UTF-8")
	}
	return nil
}

// MarshalBinary returns the encoding of e, the exact bytes of its Merkle
// tree leaf: version 2 if e has a payload commitment, else version 1. It fails with a *FieldError if e breaks a rule of the
// encoding (see SPEC.md). Every entry has exactly one encoding.
func (e *Entry) MarshalBinary() ([]byte, error) {
	return e.AppendBinary(nil)
}

// AppendBinary appends the encoding of e to b and returns the
// extended slice. It allocates only to grow b. On error b is returned
// unchanged.
func (e *Entry) AppendBinary(b []byte) ([]byte, error) {
	return e.appendEncoding(b, true)
}

func (e *Entry) appendEncoding(b []byte, withSig bool) ([]byte, error) {
	n, err := e.validate(withSig)
	if err != nil {
		return b, err
	}
	v2 := e.PayloadCommitment != (Commitment{})
	b = slices.Grow(b, n)
	b = append(b, entryMagic...)
	if v2 {
		b = append(b, EntryVersion2)
	} else {
		b = append(b, EntryVersion)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(e.Kind))
	b = append(b, e.Subject[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	b = append(b, e.Digest[:]...)
	if v2 {
		b = append(b, e.PayloadCommitment[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Writer)))
	b = append(b, e.Writer...)
	if !v2 {
		b = binary.AppendUvarint(b, uint64(len(e.Body)))
		b = append(b, e.Body...)
	}
	if withSig {
		b = binary.AppendUvarint(b, uint64(len(e.Signature)))
		b = append(b, e.Signature...)
	} else {
		b = append(b, 0)
	}
	return b, nil
}

// SignedMessage returns the message a writer signs: [EntrySignatureDomain]
// followed by the encoding of e with an empty signature. The signature
// field of e is ignored.
func (e *Entry) SignedMessage() ([]byte, error) {
	n, err := e.validate(false)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(EntrySignatureDomain)+n)
	b = append(b, EntrySignatureDomain...)
	return e.appendEncoding(b, false)
}

// LeafHash returns the RFC 6962 leaf hash of e's encoding, the hash under
// which e is stored in the tree.
func (e *Entry) LeafHash() (merkle.Hash, error) {
	b, err := e.MarshalBinary()
	if err != nil {
		return merkle.Hash{}, err
	}
	return merkle.HashLeaf(b), nil
}

// UnmarshalEntry decodes a version 1 or version 2 entry encoding. It accepts exactly the
// bytes MarshalBinary produces: any other input (a bad magic or version,
// truncation, a non-minimal length, trailing bytes, a field above its limit,
// a zero kind, an empty or non-UTF-8 writer) fails with a *FieldError. The
// returned entry does not alias data; its Time is in UTC and empty Body and
// Signature fields are nil.
func UnmarshalEntry(data []byte) (*Entry, error) {
	if len(data) > MaxEntrySize {
		return nil, tooLong("entry", MaxEntrySize)
	}
	if len(data) < len(entryMagic)+1 {
		return nil, fieldErr(ErrMalformed, "magic", "truncated")
	}
	if string(data[:len(entryMagic)]) != entryMagic {
		return nil, fieldErr(ErrMalformed, "magic", "not an entry encoding")
	}
	version := data[len(entryMagic)]
	if version != EntryVersion && version != EntryVersion2 {
		return nil, fieldErr(ErrUnknownVersion, "version", fmt.Sprintf("version %d is not supported", version))
	}
	fixed := entryFixedSize
	if version == EntryVersion2 {
		fixed += len(Commitment{})
	}
	if len(data) < fixed {
		return nil, fieldErr(ErrMalformed, "header", "truncated")
	}
	e := new(Entry)
	p := data[len(entryMagic)+1:]
	e.Kind = Kind(binary.BigEndian.Uint16(p))
	if e.Kind == 0 {
		return nil, fieldErr(ErrInvalidEntry, "kind", "zero kind")
	}
	p = p[2:]
	p = p[copy(e.Subject[:], p):]
	e.Time = time.Unix(0, int64(binary.BigEndian.Uint64(p))).UTC()
	p = p[8:]
	p = p[copy(e.Digest[:], p):]
	if version == EntryVersion2 {
		p = p[copy(e.PayloadCommitment[:], p):]
		if e.PayloadCommitment == (Commitment{}) {
			return nil, fieldErr(ErrInvalidEntry, "payload commitment", "zero in a version 2 entry")
		}
	}

	writer, p, err := readField(p, "writer", MaxWriterSize)
	if err != nil {
		return nil, err
	}
	if err := checkWriter(len(writer), string(writer)); err != nil {
		return nil, err
	}
	var body []byte
	if version == EntryVersion {
		if body, p, err = readField(p, "body", MaxBodySize); err != nil {
			return nil, err
		}
	}
	sig, p, err := readField(p, "signature", MaxSignatureSize)
	if err != nil {
		return nil, err
	}
	if len(p) != 0 {
		return nil, fieldErr(ErrMalformed, "entry", "trailing bytes")
	}
	e.Writer = string(writer)
	if len(body)+len(sig) > 0 {
		// One allocation for both variable byte fields.
		buf := make([]byte, len(body)+len(sig))
		copy(buf, body)
		copy(buf[len(body):], sig)
		if len(body) > 0 {
			e.Body = buf[:len(body):len(body)]
		}
		if len(sig) > 0 {
			e.Signature = buf[len(body):]
		}
	}
	return e, nil
}

// readField reads a minimal-uvarint-length-prefixed field of at most limit
// bytes from p and returns it (aliasing p) and the rest of p.
func readField(p []byte, field string, limit int) (value, rest []byte, err error) {
	n, k := binary.Uvarint(p)
	switch {
	case k == 0:
		return nil, nil, fieldErr(ErrMalformed, field, "truncated length")
	case k < 0:
		return nil, nil, fieldErr(ErrMalformed, field, "length overflows")
	case k != uvarintLen(n):
		return nil, nil, fieldErr(ErrMalformed, field, "non-minimal length")
	case n > uint64(limit):
		return nil, nil, tooLong(field, limit)
	case n > uint64(len(p)-k):
		return nil, nil, fieldErr(ErrMalformed, field, "truncated")
	}
	end := k + int(n)
	return p[k:end], p[end:], nil
}

// uvarintLen returns the length of the minimal uvarint encoding of v.
func uvarintLen(v uint64) int {
	return max(1, (bits.Len64(v)+6)/7)
}
