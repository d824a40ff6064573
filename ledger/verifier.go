package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/healthledger/healthledger/merkle"
	"golang.org/x/mod/sumdb/note"
)

// VerifierConfig configures a [Verifier]. Origin and LogKey are required;
// the zero value of every other field means its documented default.
type VerifierConfig struct {
	// Origin is the origin line the log's checkpoints must carry.
	Origin string
	// LogKey is the log's note verifier key, as returned by GenerateKey or
	// Signer.VerifierKey.
	LogKey string
	// Witnesses are the cosigner verifier keys (tlog-cosignature v1
	// Ed25519 vkeys, see GenerateCosignerKey) whose cosignatures count
	// towards WitnessThreshold. Default: none.
	Witnesses []string
	// WitnessThreshold is the number of distinct witnesses of Witnesses that
	// must have cosigned a checkpoint before it is accepted. Zero means all
	// of Witnesses (none if Witnesses is empty); it may not be negative or
	// exceed len(Witnesses).
	WitnessThreshold int
	// Policy, if set, decides which witness cosignatures a checkpoint
	// needs: a C2SP tlog-policy quorum (see ParsePolicy) over the policy's
	// witnesses, instead of WitnessThreshold of Witnesses, which must then
	// be empty and zero. If the policy lists logs, LogKey must be one of
	// them. Default: none.
	Policy *Policy
	// Trusted is an optional signed checkpoint to start from, verified like
	// any other. Default: none; the first checkpoint given to Advance is
	// then trusted on first use.
	Trusted []byte
	// MaxClockSkew is the log's allowed clock skew (its Config.MaxClockSkew):
	// how far an entry's time may be after the signed time of a checkpoint
	// that covers it, and, for the checkpoint that first included it (see
	// VerifyIntegrationTime), before. Default DefaultMaxClockSkew.
	MaxClockSkew time.Duration
}

// InconsistencyError is the evidence that the log showed two views of its
// history that cannot both be true: two signed checkpoints of the same
// size with different roots, or a newer checkpoint that no valid
// consistency proof connects to the trusted one. Both checkpoints are
// signed by the log (and cosigned as configured), so the error can be shown
// to third parties. It wraps ErrInvalidProof.
type InconsistencyError struct {
	// Trusted is the signed checkpoint the Verifier trusted.
	Trusted []byte
	// Candidate is the signed checkpoint that conflicts with it.
	Candidate []byte
	// Proof is the consistency proof that failed, nil for a same-size fork.
	Proof []merkle.Hash
	// Err, if not nil, is the reason the proof failed.
	Err error
}

// Error describes the inconsistency by tree sizes only.
func (e *InconsistencyError) Error() string {
	t, _ := ParseSignedCheckpoint(e.Trusted)
	c, _ := ParseSignedCheckpoint(e.Candidate)
	if t.Size == c.Size {
		return fmt.Sprintf("%v: fork: two checkpoints of size %d with different roots", ErrInvalidProof, t.Size)
	}
	return fmt.Sprintf("%v: checkpoint of size %d is not proven consistent with trusted size %d", ErrInvalidProof, c.Size, t.Size)
}

// Unwrap returns ErrInvalidProof and the reason the proof failed.
func (e *InconsistencyError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidProof, e.Err}
	}
	return []error{ErrInvalidProof}
}

// QuorumError reports a checkpoint cosigned by fewer witnesses than the
// configured threshold, or by witnesses that do not meet the configured
// policy's quorum. It wraps ErrBadSignature.
type QuorumError struct {
	// Valid is the number of distinct configured witnesses whose
	// cosignature verified.
	Valid int
	// Required is the configured threshold; for a policy, the smallest
	// number of witnesses that can meet its quorum.
	Required int
}

// Error reports the counts.
func (e *QuorumError) Error() string {
	return fmt.Sprintf("%v: %d valid witness cosignatures, %d required", ErrBadSignature, e.Valid, e.Required)
}

// Unwrap returns ErrBadSignature.
func (e *QuorumError) Unwrap() error { return ErrBadSignature }

// Verifier checks receipts and checkpoints of one log on the client side,
// offline: it needs only the log's public key and the witnesses' keys. It
// keeps the latest checkpoint it trusts and moves it forward only along
// valid consistency proofs, so a log that shows it two conflicting
// histories is caught with evidence (*InconsistencyError).
//
// It does no I/O. It is safe for concurrent use.
type Verifier struct {
	origin    string
	logKeys   note.Verifiers
	logTime   *CosignatureVerifier // the log's timestamp line
	witnesses []*CosignatureVerifier
	threshold int
	policy    *Policy // if set, replaces witnesses and threshold
	skew      time.Duration

	// mu guards the fields below.
	mu sync.RWMutex
	// trusted is the signed note of the trusted checkpoint, nil if none.
	trusted   []byte
	trustedCP Checkpoint
	// recent caches the last checkpoint notes that verified, so that
	// receipts against a recent checkpoint skip signature checks. next is
	// the slot the next verified note replaces.
	recent [verifiedCacheSize]verifiedCheckpoint
	next   int
}

// verifiedCacheSize is the number of verified checkpoint notes a Verifier
// remembers.
const verifiedCacheSize = 8

// verifiedCheckpoint is a signed checkpoint note that verified.
type verifiedCheckpoint struct {
	signed []byte
	cp     Checkpoint
	time   time.Time
}

// NewVerifier returns a Verifier for the log described by cfg. It fails if
// a key is malformed, the threshold is out of range, or cfg.Trusted does
// not verify.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Origin == "" {
		return nil, fieldErr(ErrMalformed, "origin", "empty")
	}
	logV, err := note.NewVerifier(cfg.LogKey)
	if err != nil {
		return nil, errors.New("ledger: malformed log verifier key")
	}
	logTime, err := NewCosignatureVerifier(cfg.LogKey)
	if err != nil {
		return nil, errors.New("ledger: malformed log verifier key")
	}
	if cfg.MaxClockSkew < 0 {
		return nil, fieldErr(ErrMalformed, "max clock skew", "negative")
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	v := &Verifier{origin: cfg.Origin, logKeys: note.VerifierList(logV), logTime: logTime, skew: cfg.MaxClockSkew}
	if cfg.Policy != nil {
		if err := v.usePolicy(cfg); err != nil {
			return nil, err
		}
	}
	for _, k := range cfg.Witnesses {
		w, err := NewCosignatureVerifier(k)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(w.pub, logPublicKey(cfg.LogKey)) {
			return nil, fieldErr(ErrMalformed, "witnesses", "the log's own key cannot be a witness")
		}
		for _, o := range v.witnesses {
			if (o.name == w.name && o.keyID == w.keyID) || bytes.Equal(o.pub, w.pub) {
				return nil, fieldErr(ErrMalformed, "witnesses", "duplicate witness key")
			}
		}
		v.witnesses = append(v.witnesses, w)
	}
	switch {
	case cfg.WitnessThreshold < 0 || cfg.WitnessThreshold > len(v.witnesses):
		return nil, fieldErr(ErrMalformed, "witness threshold", fmt.Sprintf("not between 0 and %d", len(v.witnesses)))
	case cfg.WitnessThreshold == 0 && cfg.Policy == nil:
		v.threshold = len(v.witnesses)
	default:
		v.threshold = cfg.WitnessThreshold
	}
	if cfg.Trusted != nil {
		cp, _, err := v.open(cfg.Trusted)
		if err != nil {
			return nil, err
		}
		v.trusted, v.trustedCP = bytes.Clone(cfg.Trusted), cp
	}
	return v, nil
}

// usePolicy checks and sets cfg.Policy.
func (v *Verifier) usePolicy(cfg VerifierConfig) error {
	p := cfg.Policy
	switch {
	case len(cfg.Witnesses) > 0 || cfg.WitnessThreshold != 0:
		return fieldErr(ErrMalformed, "policy", "set either Policy or Witnesses and WitnessThreshold, not both")
	case !p.hasLogKey(cfg.LogKey):
		return fieldErr(ErrMalformed, "policy", "the log key is not one of the policy's logs")
	case p.witnessIndex(logPublicKey(cfg.LogKey)) >= 0:
		return fieldErr(ErrMalformed, "policy", "the log's own key cannot be a witness")
	}
	v.policy = p
	return nil
}

// logPublicKey returns the Ed25519 public key of a note verifier key that
// note.NewVerifier accepted ("<name>+<hash>+<base64(0x01 || key)>").
func logPublicKey(vkey string) []byte {
	_, rest, _ := strings.Cut(vkey, "+")
	_, b64, _ := strings.Cut(rest, "+")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 1+ed25519.PublicKeySize {
		return nil
	}
	return raw[1:]
}

// open verifies a signed checkpoint: the log's signature, its signed time,
// the origin and the witness quorum.
func (v *Verifier) open(signed []byte) (Checkpoint, time.Time, error) {
	v.mu.RLock()
	for i := range v.recent {
		if c := &v.recent[i]; c.signed != nil && bytes.Equal(c.signed, signed) {
			cp, t := c.cp, c.time
			v.mu.RUnlock()
			return cp, t, nil
		}
	}
	v.mu.RUnlock()

	cp, _, err := openCheckpoint(signed, v.origin, v.logKeys)
	if err != nil {
		return Checkpoint{}, time.Time{}, err
	}
	t, err := checkpointTime(signed, v.logTime)
	if err != nil {
		return Checkpoint{}, time.Time{}, err
	}
	if v.policy != nil {
		if _, err := v.policy.VerifyCosignatures(signed); err != nil {
			return Checkpoint{}, time.Time{}, err
		}
	} else if v.threshold > 0 {
		cosigs, err := VerifyCosignatures(signed, v.witnesses)
		if err != nil {
			return Checkpoint{}, time.Time{}, err
		}
		if len(cosigs) < v.threshold {
			return Checkpoint{}, time.Time{}, &QuorumError{Valid: len(cosigs), Required: v.threshold}
		}
	}
	v.mu.Lock()
	v.recent[v.next] = verifiedCheckpoint{signed: bytes.Clone(signed), cp: cp, time: t}
	v.next = (v.next + 1) % verifiedCacheSize
	v.mu.Unlock()
	return cp, t, nil
}

// VerifyCheckpoint verifies a signed checkpoint (signature, signed time,
// origin and witness quorum) without changing the trusted checkpoint, and
// returns it.
func (v *Verifier) VerifyCheckpoint(signed []byte) (Checkpoint, error) {
	cp, _, err := v.open(signed)
	return cp, err
}

// CheckpointTime verifies a signed checkpoint like VerifyCheckpoint and
// returns the log's signed time in it: the log says it had integrated every
// entry the checkpoint covers by then.
func (v *Verifier) CheckpointTime(signed []byte) (time.Time, error) {
	_, t, err := v.open(signed)
	return t, err
}

// VerifyReceipt checks that r proves its entry is in the log: the
// checkpoint is signed by the log key for the configured origin and
// cosigned by the witness quorum, the leaf decodes as an entry, and the
// inclusion proof leads from the leaf at r.Index to the checkpoint's root.
// If the checkpoint has the size of the trusted checkpoint but another
// root, it returns an *InconsistencyError. A receipt against a checkpoint
// newer than the trusted one is accepted on its own; call Advance to move
// the trusted checkpoint. It returns the decoded entry.
//
// The Verifier remembers the last few checkpoint notes that verified
// (byte for byte), so a receipt against one of them costs only the leaf
// hash, the inclusion proof and the decoding; the proof check does not
// allocate.
func (v *Verifier) VerifyReceipt(r *Receipt) (*Entry, error) {
	if r == nil {
		return nil, fieldErr(ErrMalformed, "receipt", "nil receipt")
	}
	e, _, err := v.verifyReceipt(r)
	return e, err
}

func (v *Verifier) verifyReceipt(r *Receipt) (*Entry, time.Time, error) {
	cp, t, err := v.open(r.Checkpoint)
	if err != nil {
		return nil, t, err
	}
	if err := v.checkFork(r.Checkpoint, cp); err != nil {
		return nil, t, err
	}
	if len(r.Proof) > MaxProofHashes {
		return nil, t, fmt.Errorf("%w: more than %d proof hashes", ErrInvalidProof, MaxProofHashes)
	}
	if err := merkle.VerifyInclusion(merkle.HashLeaf(r.Leaf), r.Index, cp.Size, r.Proof, cp.Root); err != nil {
		return nil, t, fmt.Errorf("%w: inclusion proof: %w", ErrInvalidProof, err)
	}
	e, err := UnmarshalEntry(r.Leaf)
	if err != nil {
		return nil, t, err
	}
	// The log had integrated the entry by the checkpoint's time, so the
	// entry cannot be dated later than that by more than the skew (plus the
	// second the checkpoint time was truncated to).
	if off := e.Time.Sub(t); off >= v.skew+time.Second {
		return nil, t, &ClockSkewError{Offset: off, MaxSkew: v.skew}
	}
	return e, t, nil
}

// VerifyIntegrationTime verifies r like VerifyReceipt and also checks that
// its entry is not back-dated: r's checkpoint must be the first that
// included the entry (the receipt Append returned, or one whose checkpoint
// has size Index+1... any checkpoint signed right after the entry's batch),
// and the entry's time must then be within MaxClockSkew of that
// checkpoint's signed time in both directions, as the log enforces when it
// appends. A later receipt proves only an upper bound (see VerifyReceipt).
// It returns the entry and the checkpoint's time.
func (v *Verifier) VerifyIntegrationTime(r *Receipt) (*Entry, time.Time, error) {
	if r == nil {
		return nil, time.Time{}, fieldErr(ErrMalformed, "receipt", "nil receipt")
	}
	e, t, err := v.verifyReceipt(r)
	if err != nil {
		return nil, t, err
	}
	if off := e.Time.Sub(t); off < -v.skew {
		return nil, t, &ClockSkewError{Offset: off, MaxSkew: v.skew}
	}
	return e, t, nil
}

// checkFork returns an *InconsistencyError if cp has the trusted size but
// another root.
func (v *Verifier) checkFork(signed []byte, cp Checkpoint) error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.trusted == nil || cp.Size != v.trustedCP.Size || cp.Root == v.trustedCP.Root {
		return nil
	}
	return &InconsistencyError{Trusted: bytes.Clone(v.trusted), Candidate: bytes.Clone(signed)}
}

// Advance verifies the signed checkpoint and makes it the trusted one if
// proof is a valid consistency proof from the trusted checkpoint to it.
// A checkpoint smaller than the trusted one fails with an error wrapping
// ErrStaleCheckpoint; one of the same size is accepted only with the same
// root and an empty proof. An invalid proof, or the same size with another
// root, fails with an *InconsistencyError carrying both checkpoints and
// the proof. With no trusted checkpoint yet, the first checkpoint that
// verifies is trusted and proof must be empty.
func (v *Verifier) Advance(signed []byte, proof []merkle.Hash) error {
	cp, _, err := v.open(signed)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.trusted == nil {
		if len(proof) != 0 {
			return fmt.Errorf("%w: consistency proof given but no checkpoint is trusted", ErrInvalidProof)
		}
		v.trusted, v.trustedCP = bytes.Clone(signed), cp
		return nil
	}
	old := v.trustedCP
	if cp.Size < old.Size {
		return fmt.Errorf("%w: size %d is below the trusted size %d", ErrStaleCheckpoint, cp.Size, old.Size)
	}
	if err := merkle.VerifyConsistency(old.Size, cp.Size, proof, old.Root, cp.Root); err != nil {
		if cp.Size == old.Size && cp.Root == old.Root {
			// Same tree, but a non-empty proof: a caller error, not a fork.
			return fmt.Errorf("%w: non-empty proof between equal checkpoints", ErrInvalidProof)
		}
		ie := &InconsistencyError{Trusted: bytes.Clone(v.trusted), Candidate: bytes.Clone(signed), Err: err}
		if cp.Size != old.Size {
			ie.Proof = slices.Clone(proof)
		}
		return ie
	}
	if cp.Size > old.Size {
		v.trusted, v.trustedCP = bytes.Clone(signed), cp
	}
	return nil
}

// Trusted returns a copy of the trusted signed checkpoint, or nil if none
// is trusted yet.
func (v *Verifier) Trusted() []byte {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return bytes.Clone(v.trusted)
}

// TrustedCheckpoint returns the body of the trusted checkpoint, and false
// if none is trusted yet.
func (v *Verifier) TrustedCheckpoint() (Checkpoint, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.trustedCP, v.trusted != nil
}
