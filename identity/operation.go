package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// OpType is the type of an operation. The numeric values are part of the
// encoding and of the ledger entry kind (KindIdentityFirst + type).
type OpType uint8

// Operation types.
const (
	// OpCreate is the genesis operation; it has no prev and its hash names
	// the DID.
	OpCreate OpType = 1
	// OpUpdate replaces the verification methods, services and alsoKnownAs;
	// the rotation keys must stay exactly the same.
	OpUpdate OpType = 2
	// OpRotate replaces the rotation keys (and may change everything else).
	OpRotate OpType = 3
	// OpDeactivate ends the DID; it carries an empty state.
	OpDeactivate OpType = 4
)

// String returns the operation type's name.
func (t OpType) String() string {
	switch t {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpRotate:
		return "rotate"
	case OpDeactivate:
		return "deactivate"
	default:
		return fmt.Sprintf("OpType(%d)", uint8(t))
	}
}

// Relationship is a set of W3C DID Core verification relationships, as a
// bit mask. The bit values are part of the encoding.
type Relationship uint8

// Verification relationships.
const (
	Authentication       Relationship = 1 << 0
	AssertionMethod      Relationship = 1 << 1
	CapabilityInvocation Relationship = 1 << 2
	CapabilityDelegation Relationship = 1 << 3

	allRelationships = Authentication | AssertionMethod | CapabilityInvocation | CapabilityDelegation
)

// String returns the DID Core property name of a single relationship.
func (r Relationship) String() string {
	switch r {
	case Authentication:
		return "authentication"
	case AssertionMethod:
		return "assertionMethod"
	case CapabilityInvocation:
		return "capabilityInvocation"
	case CapabilityDelegation:
		return "capabilityDelegation"
	default:
		return fmt.Sprintf("Relationship(%#x)", uint8(r))
	}
}

// VerificationMethod is a key of the DID document with the relationships it
// may be used for.
type VerificationMethod struct {
	// ID is the fragment (without '#'): 1 to 64 characters of [A-Za-z0-9._-].
	ID string
	// Key is the public key.
	Key PublicKey
	// Relationships is a non-empty set of relationships.
	Relationships Relationship
}

// Service is a DID document service.
type Service struct {
	// ID is the fragment (without '#'), as for VerificationMethod.ID.
	ID string
	// Type is the service type, 1 to 64 printable ASCII characters.
	Type string
	// Endpoint is the service endpoint URI, 1 to 512 printable ASCII characters.
	Endpoint string
}

// State is the full state that an operation sets.
type State struct {
	// RotationKeys are the keys that may sign the next operation, highest
	// priority first: 1 to MaxRotationKeys distinct keys.
	RotationKeys []PublicKey
	// VerificationMethods are the document's keys, at most
	// MaxVerificationMethods with distinct IDs.
	VerificationMethods []VerificationMethod
	// Services are at most MaxServices with distinct IDs.
	Services []Service
	// AlsoKnownAs are at most MaxAlsoKnownAs URIs of 1 to 256 printable ASCII characters.
	AlsoKnownAs []string
}

// Limits of an operation. An encoded operation larger than MaxOperationSize
// is refused even if every field is within its own limit.
const (
	MaxOperationSize       = 8192
	MaxRotationKeys        = 5
	MaxVerificationMethods = 16
	MaxServices            = 16
	MaxAlsoKnownAs         = 8
	maxFragment            = 64
	maxServiceType         = 64
	maxEndpoint            = 512
	maxAKA                 = 256
)

// OpHash is the hash of a signed operation (see [Operation.Hash]).
type OpHash [32]byte

// String returns the lowercase hex encoding.
func (h OpHash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros (the prev of a genesis operation).
func (h OpHash) IsZero() bool { return h == OpHash{} }

// Operation is one signed step of a DID's history. Its canonical binary
// encoding is specified in SPEC.md.
type Operation struct {
	// Type is the operation type.
	Type OpType
	// Prev is the hash of the operation this one follows; zero for OpCreate
	// and non-zero otherwise.
	Prev OpHash
	// Time is when the operation was made, in UTC with nanosecond precision.
	// The ledger entry carrying the operation has the same time.
	Time time.Time
	// State is the new full state; empty for OpDeactivate.
	State State
	// Signature is made by a rotation key of the state this operation
	// replaces (of its own state for OpCreate) over [Operation.SignedMessage].
	Signature []byte
}

// Clone returns a deep copy of o: changing the copy's state or signature
// does not change o. Public keys are immutable values and are shared.
func (o *Operation) Clone() *Operation {
	if o == nil {
		return nil
	}
	c := *o
	c.State.RotationKeys = slices.Clone(o.State.RotationKeys)
	c.State.VerificationMethods = slices.Clone(o.State.VerificationMethods)
	c.State.Services = slices.Clone(o.State.Services)
	c.State.AlsoKnownAs = slices.Clone(o.State.AlsoKnownAs)
	c.Signature = slices.Clone(o.Signature)
	return &c
}

// Domain-separation strings of the signed and hashed structures.
const (
	opSignDomain = "healthledger/identity/op/v1\x00"
	opHashDomain = "healthledger/identity/op-hash/v1\x00"
	opVersion    = 1
)

// SignedMessage returns the bytes a rotation key signs: the domain string
// followed by the encoding with an empty signature.
func (o *Operation) SignedMessage() ([]byte, error) {
	b := append([]byte(nil), opSignDomain...)
	return o.appendEncoding(b, false)
}

// MarshalBinary returns the canonical encoding of the signed operation.
func (o *Operation) MarshalBinary() ([]byte, error) {
	return o.appendEncoding(nil, true)
}

// Hash returns SHA-256(opHashDomain || MarshalBinary()). It fails for an
// operation that cannot be encoded.
func (o *Operation) Hash() (OpHash, error) {
	b, err := o.MarshalBinary()
	if err != nil {
		return OpHash{}, err
	}
	return hashEncoded(b), nil
}

// hashEncoded hashes an encoded signed operation.
func hashEncoded(b []byte) OpHash {
	h := sha256.New()
	h.Write([]byte(opHashDomain))
	h.Write(b)
	var out OpHash
	h.Sum(out[:0])
	return out
}

// Sign sets o.Signature to k's signature over o.SignedMessage().
func (o *Operation) Sign(k *PrivateKey) error {
	msg, err := o.SignedMessage()
	if err != nil {
		return err
	}
	sig, err := k.Sign(msg)
	if err != nil {
		return err
	}
	o.Signature = sig
	return nil
}

// signerIndex returns the index (priority, 0 highest) of the key in keys
// under which o's signature verifies, or an error wrapping ErrBadSignature.
// Keys are distinct, so at most one can match.
func (o *Operation) signerIndex(keys []PublicKey) (int, error) {
	msg, err := o.SignedMessage()
	if err != nil {
		return -1, err
	}
	for i, k := range keys {
		if k.Verify(msg, o.Signature) == nil {
			return i, nil
		}
	}
	return -1, fmt.Errorf("%w: operation not signed by an allowed rotation key", ErrBadSignature)
}
