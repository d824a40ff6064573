package identity

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the package returns wraps one of these, or is
// a typed error ([*OperationError]) that wraps one, so that callers can match
// it with errors.Is. No error message contains private key material.
var (
	// ErrMalformedDID reports a string that is not a well-formed DID.
	ErrMalformedDID = errors.New("identity: malformed DID")
	// ErrUnsupportedMethod reports a DID method other than did:hl and did:key.
	ErrUnsupportedMethod = errors.New("identity: unsupported DID method")
	// ErrUnknownKeyType reports a key type other than Ed25519 and P-256.
	ErrUnknownKeyType = errors.New("identity: unknown key type")
	// ErrMalformedKey reports public key bytes, a multibase string or a JWK
	// that does not decode to a valid key.
	ErrMalformedKey = errors.New("identity: malformed key")
	// ErrMalformedDocument reports a DID document that is not well formed.
	ErrMalformedDocument = errors.New("identity: malformed DID document")
	// ErrMalformedOperation reports bytes that do not decode as an operation,
	// or an operation that breaks a structural rule of SPEC.md.
	ErrMalformedOperation = errors.New("identity: malformed operation")
	// ErrOperationTooLarge reports an operation above MaxOperationSize.
	ErrOperationTooLarge = errors.New("identity: operation too large")
	// ErrBadSignature reports a signature that does not verify under any
	// key allowed for it.
	ErrBadSignature = errors.New("identity: bad signature")
	// ErrWrongRelationship reports a key that exists in the DID document but
	// not in the verification relationship the check requires.
	ErrWrongRelationship = errors.New("identity: key not in the required verification relationship")
	// ErrBrokenPrev reports an operation whose prev link does not point to an
	// operation of the DID's current (not nullified) history.
	ErrBrokenPrev = errors.New("identity: broken prev link")
	// ErrReplayed reports an operation that is already part of the history.
	ErrReplayed = errors.New("identity: replayed operation")
	// ErrDuplicateGenesis reports a second genesis operation for a DID.
	ErrDuplicateGenesis = errors.New("identity: DID already created")
	// ErrDIDMismatch reports an operation or entry that belongs to another DID.
	ErrDIDMismatch = errors.New("identity: operation belongs to another DID")
	// ErrDeactivated reports an operation after deactivation, or the
	// resolution of a deactivated DID.
	ErrDeactivated = errors.New("identity: DID deactivated")
	// ErrTimeOrder reports an operation dated before the latest accepted
	// operation of its DID.
	ErrTimeOrder = errors.New("identity: operation time goes backwards")
	// ErrIndexOrder reports an operation applied at a ledger index that is
	// not after the index of the operation applied before it: operations
	// are applied in ledger (integration) order only.
	ErrIndexOrder = errors.New("identity: operation out of ledger index order")
	// ErrClockSkew reports an operation dated too far in the future.
	ErrClockSkew = errors.New("identity: operation time in the future")
	// ErrInsufficientPriority reports an override signed by a rotation key
	// that does not have strictly higher priority than the signer of every
	// operation it would nullify (this includes a key overriding itself).
	// The evidence is a [*PriorityError].
	ErrInsufficientPriority = errors.New("identity: override needs a higher-priority rotation key")
	// ErrRecoveryWindowClosed reports an override at or after the end of the
	// recovery window of the first operation it would nullify.
	ErrRecoveryWindowClosed = errors.New("identity: recovery window closed")
	// ErrInvalidTransition reports an update that changes rotation keys or a
	// rotation that does not.
	ErrInvalidTransition = errors.New("identity: invalid operation type for this change")
	// ErrNotFound reports a DID with no valid genesis in the ledger, or a
	// resolution time or ledger size before its creation.
	ErrNotFound = errors.New("identity: DID not found")
	// ErrSizeBeyondLedger reports a resolution as of a ledger size larger
	// than the ledger's latest checkpoint. Errors that wrap it also wrap
	// ledger.ErrNotFound.
	ErrSizeBeyondLedger = errors.New("identity: size beyond the ledger's checkpoint")
	// ErrNotIncluded reports an operation entry whose inclusion in the
	// ledger's checkpoint does not verify, a checkpoint that does not, or a
	// ledger whose subject index does not list indices in strictly
	// increasing order.
	ErrNotIncluded = errors.New("identity: inclusion in the ledger does not verify")
	// ErrNoLedger reports a did:hl resolution by a Resolver without a ledger.
	ErrNoLedger = errors.New("identity: resolver has no ledger")
	// ErrTooManyOperations reports a DID whose history exceeds the
	// resolver's MaxOperations.
	ErrTooManyOperations = errors.New("identity: too many operations for one DID")
)

// OperationError is the evidence for an operation that was refused: where it
// is in the ledger, its hash, and why. It wraps the reason, so
// errors.Is(err, ErrRecoveryWindowClosed) and similar work.
type OperationError struct {
	// Index is the ledger index of the operation's entry, or -1 when the
	// operation is not (yet) in the ledger.
	Index int64
	// Hash is the operation hash (see [Operation.Hash]).
	Hash OpHash
	// Err is the reason.
	Err error
}

// Error implements error. It shows the index, the hash and the reason only.
func (e *OperationError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("identity: operation %s refused: %v", e.Hash, e.Err)
	}
	return fmt.Sprintf("identity: operation %s at index %d refused: %v", e.Hash, e.Index, e.Err)
}

// Unwrap returns the reason.
func (e *OperationError) Unwrap() error { return e.Err }

// PriorityError is the evidence for an override refused because its signer
// does not outrank the signer of an operation it would nullify. Priorities
// are indices (0 highest) in the rotation keys of the state the override is
// applied to (the state set by its prev). It wraps ErrInsufficientPriority.
type PriorityError struct {
	// Signer is the priority of the key that signed the override.
	Signer int
	// Blocking is the hash of the first operation, in history order, that
	// the override would nullify and whose signer has the same or a higher
	// priority.
	Blocking OpHash
	// BlockingSigner is the priority of Blocking's signer.
	BlockingSigner int
}

// Error implements error. It shows priorities and the operation hash only.
func (e *PriorityError) Error() string {
	return fmt.Sprintf("%v: signer priority %d, operation %s signed with priority %d", ErrInsufficientPriority, e.Signer, e.Blocking, e.BlockingSigner)
}

// Unwrap returns ErrInsufficientPriority.
func (e *PriorityError) Unwrap() error { return ErrInsufficientPriority }
