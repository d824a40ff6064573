package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/healthledger/healthledger/merkle"
	"golang.org/x/mod/sumdb/note"
)

// WitnessedLog is a log a [Witness] cosigns for.
type WitnessedLog struct {
	// Origin is the log's origin line.
	Origin string
	// LogKey is the log's note verifier key.
	LogKey string
	// Latest is the last checkpoint the witness cosigned for this log, as
	// persisted by a previous run (see WitnessConfig.Persist). Empty means
	// the witness has seen nothing of this log yet.
	Latest []byte
}

// WitnessConfig configures a [Witness].
type WitnessConfig struct {
	// Cosigner signs cosignatures. Required.
	Cosigner *Cosigner
	// Logs are the logs this witness cosigns for. Required.
	Logs []WitnessedLog
	// Persist, if set, is called with a checkpoint before the witness
	// cosigns it; if it fails, nothing is cosigned. A witness that restarts
	// MUST come back with what Persist stored last (WitnessedLog.Latest),
	// or it could be made to cosign a rolled-back or forked log.
	Persist func(origin string, signed []byte) error
	// Now returns the cosignature time. Default time.Now.
	Now func() time.Time
}

// WitnessConflictError is the C2SP tlog-witness conflict: the request's old
// size is not the size of the last checkpoint the witness cosigned for the
// log. The client retries with Latest as its old size (and a consistency
// proof from there). It wraps ErrStaleCheckpoint.
type WitnessConflictError struct {
	Latest uint64
}

func (e *WitnessConflictError) Error() string {
	return fmt.Sprintf("ledger: witness conflict: the witness's latest checkpoint has size %d", e.Latest)
}

// Unwrap returns ErrStaleCheckpoint.
func (e *WitnessConflictError) Unwrap() error { return ErrStaleCheckpoint }

// ErrUnknownLog reports a checkpoint for a log the witness does not cosign.
var ErrUnknownLog = errors.New("ledger: unknown log")

// Witness cosigns a log's checkpoints only after checking that each one is
// signed by the log and consistent with every checkpoint it cosigned
// before, following the C2SP tlog-witness add-checkpoint rules
// (https://c2sp.org/tlog-witness). Hospitals of a consortium each run one:
// a client that requires k of their cosignatures ([VerifierConfig]) cannot
// be shown a history that k witnesses did not all see as one.
//
// A Witness is pure (its state is in memory; persistence goes through
// WitnessConfig.Persist) and safe for concurrent use.
type Witness struct {
	cosigner *Cosigner
	persist  func(string, []byte) error
	now      func() time.Time

	mu   sync.Mutex // guards logs and every witnessState in it
	logs map[string]*witnessState
}

type witnessState struct {
	verifier note.Verifier
	latest   []byte
	cp       Checkpoint // zero size when latest is nil
}

// NewWitness returns a Witness for cfg.Logs, checking every persisted
// latest checkpoint.
func NewWitness(cfg WitnessConfig) (*Witness, error) {
	if cfg.Cosigner == nil || len(cfg.Logs) == 0 {
		return nil, fmt.Errorf("%w: a witness needs a Cosigner and at least one log", ErrInvalidConfig)
	}
	w := &Witness{cosigner: cfg.Cosigner, persist: cfg.Persist, now: cfg.Now, logs: make(map[string]*witnessState)}
	if w.now == nil {
		w.now = time.Now
	}
	for _, l := range cfg.Logs {
		v, err := note.NewVerifier(l.LogKey)
		if err != nil {
			return nil, fmt.Errorf("%w: log key for %q: malformed", ErrInvalidConfig, l.Origin)
		}
		if _, dup := w.logs[l.Origin]; dup || l.Origin == "" {
			return nil, fmt.Errorf("%w: empty or repeated origin %q", ErrInvalidConfig, l.Origin)
		}
		st := &witnessState{verifier: v}
		if len(l.Latest) > 0 {
			cp, _, err := OpenCheckpoint(l.Latest, l.Origin, v)
			if err != nil {
				return nil, fmt.Errorf("ledger: persisted checkpoint of %q: %w", l.Origin, err)
			}
			st.latest, st.cp = bytes.Clone(l.Latest), cp
		}
		w.logs[l.Origin] = st
	}
	return w, nil
}

// AddCheckpoint is the tlog-witness add-checkpoint step. oldSize must be the
// size of the last checkpoint the witness cosigned for the log (0 if none),
// else it fails with *WitnessConflictError; proof must be a consistency
// proof from that checkpoint to signed. It returns the witness's
// cosignature line for signed, to append to the note. A proof that does
// not verify yields *InconsistencyError (evidence of a fork); a checkpoint
// of the same size as the latest is cosigned again only with the same root.
func (w *Witness) AddCheckpoint(oldSize uint64, proof []merkle.Hash, signed []byte) ([]byte, error) {
	origin, err := originOf(signed)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st, ok := w.logs[origin]
	if !ok {
		return nil, fmt.Errorf("%w: the witness does not cosign this origin", ErrUnknownLog)
	}
	cp, n, err := OpenCheckpoint(signed, origin, st.verifier)
	if err != nil {
		return nil, err
	}
	if oldSize != st.cp.Size {
		return nil, &WitnessConflictError{Latest: st.cp.Size}
	}
	if cp.Size < st.cp.Size {
		return nil, fmt.Errorf("%w: size %d is below the witnessed size %d", ErrStaleCheckpoint, cp.Size, st.cp.Size)
	}
	if st.latest != nil {
		if err := merkle.VerifyConsistency(st.cp.Size, cp.Size, proof, st.cp.Root, cp.Root); err != nil {
			return nil, &InconsistencyError{Trusted: bytes.Clone(st.latest), Candidate: bytes.Clone(signed), Proof: slices.Clone(proof), Err: err}
		}
	} else if len(proof) != 0 {
		return nil, fmt.Errorf("%w: a first checkpoint takes no consistency proof", ErrInvalidProof)
	}
	if w.persist != nil {
		if err := w.persist(origin, signed); err != nil {
			return nil, fmt.Errorf("ledger: witness state not persisted, not cosigning: %w", err)
		}
	}
	st.latest, st.cp = bytes.Clone(signed), cp
	return w.cosigner.SignatureLine([]byte(n.Text), w.now())
}

// String names the witness by its cosigner's public key; it never shows
// the private key (fmt would print it for a bad verb such as %s of the
// struct otherwise).
func (w *Witness) String() string { return "ledger.Witness(" + w.cosigner.VerifierKey() + ")" }

// GoString is String.
func (w *Witness) GoString() string { return w.String() }

// Format prints String for every verb.
func (w *Witness) Format(f fmt.State, _ rune) { fmt.Fprint(f, w.String()) }

// LogValue logs the cosigner's public key only.
func (w *Witness) LogValue() slog.Value { return slog.StringValue(w.cosigner.VerifierKey()) }

// Latest returns the last checkpoint the witness cosigned for origin, or
// nil.
func (w *Witness) Latest(origin string) []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st, ok := w.logs[origin]; ok {
		return bytes.Clone(st.latest)
	}
	return nil
}

// originOf returns the first line of a signed checkpoint note.
func originOf(signed []byte) (string, error) {
	i := bytes.IndexByte(signed, '\n')
	if i <= 0 {
		return "", fieldErr(ErrMalformed, "checkpoint", "no origin line")
	}
	return string(signed[:i]), nil
}
