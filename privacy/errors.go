package privacy

import (
	"errors"
	"fmt"

	"github.com/healthledger/healthledger/ledger"
)

// Sentinel errors. Every error the package returns wraps one of these, most
// of them inside a [*SubjectError] that names the operation and the subject
// tag; match them with errors.Is and errors.As.
var (
	// ErrErased reports a subject whose data key was destroyed by
	// [Vault.EraseSubject]: its sealed payloads can never be opened again,
	// and the Vault seals nothing more for it.
	ErrErased = errors.New("privacy: subject erased")
	// ErrNoKey reports a subject that never had a data key (nothing was
	// ever sealed for it, and it was never erased).
	ErrNoKey = errors.New("privacy: no data key for subject")
	// ErrKeyExists reports a [KeyStore.Put] for a subject that already has
	// a wrapped key; the stored key is kept.
	ErrKeyExists = errors.New("privacy: subject already has a data key")
	// ErrMalformed reports sealed bytes or a stored wrapped key that do not
	// have the expected format (too short, unknown version).
	ErrMalformed = errors.New("privacy: malformed sealed payload or wrapped key")
	// ErrNotAuthentic reports a sealed payload that fails authentication:
	// it was sealed for another subject, another deployment or other
	// associated data, under another key, or it was truncated or altered.
	ErrNotAuthentic = errors.New("privacy: sealed payload failed authentication")
	// ErrWrappedKey reports a stored wrapped data key that the
	// key-encryption AEAD cannot unwrap: another KEK, another subject's or
	// deployment's key, or corrupted bytes. Nothing is changed; the key is
	// not replaced.
	ErrWrappedKey = errors.New("privacy: wrapped data key cannot be unwrapped")
	// ErrInvalidInput reports an argument the package refuses (an empty
	// identifier, a nil handle, a keyset of the wrong type).
	ErrInvalidInput = errors.New("privacy: invalid input")
	// ErrInvalidConfig reports a Config that cannot be used.
	ErrInvalidConfig = errors.New("privacy: invalid config")
)

// SubjectError is the error of an operation on one subject's key or
// payload. It carries the operation and the subject tag (a pseudonym that
// is on the log anyway); never plaintext, associated data or key material.
type SubjectError struct {
	// Op is the operation: "seal", "open", "erase" or "status".
	Op string
	// Subject is the subject tag.
	Subject ledger.SubjectTag
	// Err is the cause; it wraps one of the package's sentinels or a
	// KeyStore or context error.
	Err error
}

// Error returns "privacy: <op> subject <tag>: <cause>".
func (e *SubjectError) Error() string {
	return fmt.Sprintf("privacy: %s subject %s: %v", e.Op, e.Subject, e.Err)
}

// Unwrap returns the cause.
func (e *SubjectError) Unwrap() error { return e.Err }

func subjectErr(op string, s ledger.SubjectTag, err error) error {
	return &SubjectError{Op: op, Subject: s, Err: err}
}
