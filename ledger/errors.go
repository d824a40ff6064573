package ledger

import "errors"

// Sentinel errors. Every error the package returns wraps one of these or is
// a typed error (such as *InconsistencyError) that can be matched with
// errors.As.
var (
	// ErrNotFound reports an index, hash or subject that is not in the log.
	ErrNotFound = errors.New("ledger: not found")
	// ErrEmptyLog reports a read of the checkpoint of a log with no entries.
	ErrEmptyLog = errors.New("ledger: log is empty")
	// ErrClosed reports a call on a closed Log or Store.
	ErrClosed = errors.New("ledger: closed")
	// ErrPushback reports that the append queue is full; retry later.
	ErrPushback = errors.New("ledger: too many pending appends (pushback)")
	// ErrInvalidEntry reports an entry that cannot be encoded or stored.
	ErrInvalidEntry = errors.New("ledger: invalid entry")
	// ErrMalformed reports bytes that do not decode as the expected structure.
	ErrMalformed = errors.New("ledger: malformed encoding")
	// ErrUnknownVersion reports an encoding version this library does not know.
	ErrUnknownVersion = errors.New("ledger: unknown encoding version")
	// ErrTooLarge reports an entry or field above its size limit.
	ErrTooLarge = errors.New("ledger: too large")
	// ErrBadSignature reports a checkpoint, cosignature or writer signature that does not verify.
	ErrBadSignature = errors.New("ledger: bad signature")
	// ErrInvalidProof reports an inclusion or consistency proof that does not verify.
	ErrInvalidProof = errors.New("ledger: invalid proof")
	// ErrStaleCheckpoint reports a checkpoint older than the one already trusted.
	ErrStaleCheckpoint = errors.New("ledger: stale checkpoint")
	// ErrCorrupt reports stored data that fails an integrity check.
	ErrCorrupt = errors.New("ledger: corrupt store")
	// ErrInvalidConfig reports a Config that cannot be used.
	ErrInvalidConfig = errors.New("ledger: invalid config")
	// ErrWriterRejected reports an entry refused by the configured WriterVerifier.
	ErrWriterRejected = errors.New("ledger: writer signature rejected")
	// ErrWrongKey reports a stored or guarded checkpoint that was not signed
	// by the Log's configured key: the store belongs to another log, or the
	// key was changed, which the Log refuses (a new key is a new log).
	ErrWrongKey = errors.New("ledger: checkpoint not signed by the log's key")
)
