package records

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the package returns wraps one of these or
// is a typed error that unwraps to one. No message contains a value taken
// from a resource, a DID or a request: only element names and indices.
var (
	// ErrNotCanonicalizable reports a resource that is not JSON this
	// package can canonicalize (invalid JSON or UTF-8, duplicate member
	// names, a U+FFFD character, trailing data, too deep).
	ErrNotCanonicalizable = errors.New("records: resource cannot be canonicalized")
	// ErrNotFHIR reports JSON without the resourceType or id an anchor needs.
	ErrNotFHIR = errors.New("records: not a FHIR resource with resourceType and id")
	// ErrNotAnchored reports a resource or proof that does not match what
	// was anchored; see [*MismatchError].
	ErrNotAnchored = errors.New("records: not the anchored version")
	// ErrInvalidProof reports a proof that is malformed or whose receipt
	// does not verify.
	ErrInvalidProof = errors.New("records: invalid proof")
	// ErrInvalidRequest reports an anchor or access request missing a
	// required field.
	ErrInvalidRequest = errors.New("records: invalid request")
	// ErrRefused reports an access that consent did not allow; see
	// [*RefusedError]. Nothing was written for the access itself.
	ErrRefused = errors.New("records: access refused")
	// ErrNotRecorded reports an access that consent allowed but that could
	// not be written to the ledger: the access MUST NOT happen.
	ErrNotRecorded = errors.New("records: access not recorded")
	// ErrInvalidConfig reports a Config missing a required field.
	ErrInvalidConfig = errors.New("records: invalid config")
	// ErrMalformed reports a payload or statement that does not decode.
	ErrMalformed = errors.New("records: malformed statement")
	// ErrNotErased reports an erased event whose erasure does not erase
	// the entry shown; see [*ErasureError].
	ErrNotErased = errors.New("records: not erased by the erasure shown")
)

// ErasureError reports why an erased event's erasure does not account for
// the entry: Field is "erasure" (no erasure receipt, or its entry is not a
// ledger.KindErasure entry with a valid body), "order" (the erasure entry
// is not after the erased one: ledger.Log.Erase never erases an entry at
// or after its own index), "subject" (another subject tag) or "before"
// (the entry's index is not below the erasure's bound).
type ErasureError struct {
	// Field names what does not match.
	Field string
}

func (e *ErasureError) Error() string {
	return fmt.Sprintf("%v: %s", ErrNotErased, e.Field)
}

// Unwrap returns ErrNotErased.
func (e *ErasureError) Unwrap() error { return ErrNotErased }

// MismatchError reports which part of an anchored version differs from
// what is being verified: Field is one of "resourceType", "id",
// "version", "content", "kind", "commitment", "patient". It never holds
// the values.
type MismatchError struct {
	// Field names what differs.
	Field string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: %s differs", ErrNotAnchored, e.Field)
}

// Unwrap returns ErrNotAnchored.
func (e *MismatchError) Unwrap() error { return ErrNotAnchored }

// CanonicalError reports where canonicalization failed: Offset is the
// byte offset in the input (-1 if unknown) and Reason a fixed description.
type CanonicalError struct {
	Offset int64
	Reason string
}

func (e *CanonicalError) Error() string {
	return fmt.Sprintf("%v: %s at byte %d", ErrNotCanonicalizable, e.Reason, e.Offset)
}

// Unwrap returns ErrNotCanonicalizable.
func (e *CanonicalError) Unwrap() error { return ErrNotCanonicalizable }
