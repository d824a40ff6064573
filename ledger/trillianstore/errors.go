package trillianstore

import (
	"errors"
	"fmt"

	"github.com/healthledger/healthledger/ledger"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors of this package. Errors that concern the ledger contract
// (not found, closed, empty, corrupt) wrap the ledger package's sentinels
// instead, so callers can match them without importing this package.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("trillianstore: invalid configuration")
	// ErrUnavailable reports that Trillian could not be reached or kept
	// failing with transient errors until the retry budget was spent.
	ErrUnavailable = errors.New("trillianstore: Trillian unavailable")
	// ErrTreeMismatch reports a tree whose type or state does not match the
	// configured Mode (for example a LOG tree opened as ModePreordered).
	ErrTreeMismatch = errors.New("trillianstore: tree does not match the configuration")
	// ErrNoSigner reports a tree head that needs a checkpoint while the store
	// has no SignFunc: none in Config.Sign and no Add since Open.
	ErrNoSigner = errors.New("trillianstore: no signer for the tree head")
	// ErrIntegrationTimeout reports leaves that Trillian accepted but did not
	// integrate into the tree within Config.IntegrationTimeout. The leaves
	// may still be integrated later; a retried Add deduplicates them.
	ErrIntegrationTimeout = errors.New("trillianstore: leaves not integrated in time")
	// ErrRejected reports a leaf that Trillian refused with a non-transient
	// status (for example a quota or size limit).
	ErrRejected = errors.New("trillianstore: leaf rejected by Trillian")
)

// RPCError reports a Trillian RPC that failed after Attempts tries. It
// unwraps to the gRPC status error and to the matching sentinel:
// [ErrUnavailable] for codes.Unavailable and codes.DeadlineExceeded,
// [ledger.ErrNotFound] for codes.NotFound. It carries no leaf contents.
type RPCError struct {
	// Op is the RPC name, such as "QueueLeaf".
	Op string
	// Code is the gRPC status code of the last attempt.
	Code codes.Code
	// Attempts is the number of tries made.
	Attempts int
	// Err is the error of the last attempt.
	Err error
}

// Error implements error. The message names the operation and the gRPC code
// and message; Trillian's messages hold hashes and indices, never leaf data.
func (e *RPCError) Error() string {
	return fmt.Sprintf("trillianstore: %s failed after %d attempt(s): %s: %s",
		e.Op, e.Attempts, e.Code, status.Convert(e.Err).Message())
}

// Unwrap returns the underlying error and the sentinel matching Code.
func (e *RPCError) Unwrap() []error {
	errs := []error{e.Err}
	switch e.Code {
	case codes.Unavailable, codes.DeadlineExceeded:
		errs = append(errs, ErrUnavailable)
	case codes.NotFound:
		errs = append(errs, ledger.ErrNotFound)
	}
	return errs
}

// corruptf returns an error wrapping ledger.ErrCorrupt: Trillian returned
// data that fails a cryptographic check (a proof, a root, a leaf hash).
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: trillianstore: "+format, append([]any{ledger.ErrCorrupt}, args...)...)
}

// notFoundf returns an error wrapping ledger.ErrNotFound.
func notFoundf(format string, args ...any) error {
	return fmt.Errorf("%w: trillianstore: "+format, append([]any{ledger.ErrNotFound}, args...)...)
}
