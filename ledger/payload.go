package ledger

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Payloads live beside the tree, not in it. A version 2 entry's leaf holds
// only a commitment
//
//	SHA-256("healthledger/payload/v1\x00" || salt || data)
//
// to its payload: a 32-byte random salt and the data (typically sealed by
// a privacy.Vault). The salt makes the commitment reveal nothing, even of
// data with few possible values (a birth date, a ZIP code, a yes/no): a
// reader of the log cannot confirm a guess without the salt. The store
// keeps salt and data beside the leaf; Log.Entry reads them back and
// checks them against the commitment; erasure deletes them. See SPEC.md,
// "Entry encoding v2" and "Erasure".

// PayloadCommitmentDomain separates payload commitments from every other
// hash of the ledger.
const PayloadCommitmentDomain = "healthledger/payload/v1\x00"

// PayloadSaltSize is the size of a payload's salt.
const PayloadSaltSize = 32

// MaxPayloadSize bounds a payload's data.
const MaxPayloadSize = 1 << 20

// Commitment is a leaf's commitment to its payload.
type Commitment [32]byte

// String returns the hex encoding of the commitment.
func (c Commitment) String() string { return hex.EncodeToString(c[:]) }

// Payload is an entry's data kept beside the tree.
type Payload struct {
	// Salt is 32 random bytes, chosen once per payload.
	Salt [PayloadSaltSize]byte
	// Data is the payload, at most MaxPayloadSize bytes. The ledger never
	// interprets it; it is typically sealed.
	Data []byte
}

// String describes the payload by its size only: its data may be PHI.
func (p *Payload) String() string {
	if p == nil {
		return "ledger.Payload(nil)"
	}
	return fmt.Sprintf("ledger.Payload(%d bytes)", len(p.Data))
}

// Format prints String for every verb, so no formatting verb shows the
// data or the salt.
func (p *Payload) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// NewPayload returns a payload holding a copy of data with a fresh random
// salt.
func NewPayload(data []byte) (*Payload, error) {
	if len(data) > MaxPayloadSize {
		return nil, tooLong("payload", MaxPayloadSize)
	}
	p := &Payload{Data: bytes.Clone(data)}
	if _, err := rand.Read(p.Salt[:]); err != nil {
		return nil, fmt.Errorf("ledger: payload salt: %w", err)
	}
	return p, nil
}

// Commitment returns the payload's commitment.
func (p *Payload) Commitment() Commitment {
	h := sha256.New()
	h.Write([]byte(PayloadCommitmentDomain))
	h.Write(p.Salt[:])
	h.Write(p.Data)
	var c Commitment
	h.Sum(c[:0])
	return c
}

// SetPayload gives e a payload holding data (with a fresh salt) and sets
// its commitment; e must have no Body. Sign the entry after SetPayload:
// the signature covers the commitment, so it stays verifiable after the
// payload is erased.
func (e *Entry) SetPayload(data []byte) error {
	if len(e.Body) > 0 {
		return fieldErr(ErrInvalidEntry, "body", "an entry with a payload has no body")
	}
	p, err := NewPayload(data)
	if err != nil {
		return err
	}
	e.Payload, e.PayloadCommitment = p, p.Commitment()
	return nil
}

// checkPayload checks that e's payload matches its commitment.
func (e *Entry) checkPayload() error {
	switch {
	case e.PayloadCommitment == (Commitment{}) && e.Payload != nil:
		return fieldErr(ErrInvalidEntry, "payload", "a payload without a commitment")
	case e.PayloadCommitment != (Commitment{}) && e.Payload == nil:
		return fieldErr(ErrInvalidEntry, "payload", "a commitment without its payload")
	case e.Payload == nil:
		return nil
	case len(e.Payload.Data) > MaxPayloadSize:
		return tooLong("payload", MaxPayloadSize)
	case e.Payload.Commitment() != e.PayloadCommitment:
		return fieldErr(ErrInvalidEntry, "payload", "does not match the commitment")
	}
	return nil
}

// MarshalBinary returns the bytes a Store keeps beside a leaf (and a read
// path serves, when configured to): the salt followed by the data.
func (p *Payload) MarshalBinary() ([]byte, error) { return encodePayload(p), nil }

// ParsePayload parses what Payload.MarshalBinary wrote. Check the result
// against the entry's commitment before trusting it.
func ParsePayload(b []byte) (*Payload, error) { return decodePayload(b) }

func encodePayload(p *Payload) []byte {
	b := make([]byte, 0, PayloadSaltSize+len(p.Data))
	b = append(b, p.Salt[:]...)
	return append(b, p.Data...)
}

// decodePayload parses what encodePayload wrote.
func decodePayload(b []byte) (*Payload, error) {
	if len(b) < PayloadSaltSize || len(b)-PayloadSaltSize > MaxPayloadSize {
		return nil, fieldErr(ErrMalformed, "payload", "not a salt and data")
	}
	p := &Payload{Data: bytes.Clone(b[PayloadSaltSize:])}
	copy(p.Salt[:], b)
	return p, nil
}

// ErrErased reports a payload deleted by an erasure.
var ErrErased = errors.New("ledger: payload erased")

// ErasedError reports that the payload of the entry at Index was erased by
// the erasure entry at ErasedBy; Erasure, when the Log could read it, is
// that entry's receipt, which anyone can verify. It wraps ErrErased.
type ErasedError struct {
	Index    uint64
	ErasedBy uint64
	Erasure  *Receipt
}

func (e *ErasedError) Error() string {
	return fmt.Sprintf("%v: the payload of entry %d was erased by entry %d", ErrErased, e.Index, e.ErasedBy)
}

// Unwrap returns ErrErased.
func (e *ErasedError) Unwrap() error { return ErrErased }
