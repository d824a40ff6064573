package ledger

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// The log's signed time. Every checkpoint a Log signs carries two signature
// lines by the log's Ed25519 key: the C2SP tlog-checkpoint note signature
// (type 0x01, what every checkpoint verifier checks) and, after it, a C2SP
// tlog-cosignature/v1 line by the same key (type 0x04, a different key ID),
// whose signed message includes the log's clock:
//
//	— <origin> base64(keyID(0x04) || uint64 seconds || Ed25519 signature)
//
// Standard verifiers ignore the second line (an unknown key ID), so the
// checkpoint stays a plain tlog-checkpoint; healthledger verifiers read
// from it when the log says it integrated the entries the checkpoint
// covers. The two messages cannot be confused: a cosigned message starts
// with "cosignature/v1\ntime ", a checkpoint body's second line is a bare
// decimal. See SPEC.md, "Checkpoint time".

// DefaultMaxClockSkew is the default Config.MaxClockSkew and
// VerifierConfig.MaxClockSkew.
const DefaultMaxClockSkew = 5 * time.Minute

// ErrClockSkew reports an entry whose time is too far from the log's clock
// (or from the signed time of the checkpoint that covers it).
var ErrClockSkew = errors.New("ledger: entry time outside the allowed clock skew")

// ErrNoTimestamp reports a checkpoint without the log's signed time.
var ErrNoTimestamp = errors.New("ledger: checkpoint carries no log timestamp")

// ClockSkewError reports an entry time refused because it is more than
// MaxSkew from Reference (the log's clock, or a checkpoint's signed time).
// It wraps ErrClockSkew. It carries no entry content.
type ClockSkewError struct {
	// Offset is the entry's time minus Reference: negative for a back-dated
	// entry, positive for one dated in the future.
	Offset time.Duration
	// MaxSkew is the allowed distance.
	MaxSkew time.Duration
}

func (e *ClockSkewError) Error() string {
	dir := "after"
	off := e.Offset
	if off < 0 {
		dir, off = "before", -off
	}
	return fmt.Sprintf("%v: entry time is %v %s the log's time (at most %v allowed)", ErrClockSkew, off, dir, e.MaxSkew)
}

// Unwrap returns ErrClockSkew.
func (e *ClockSkewError) Unwrap() error { return ErrClockSkew }

// CheckTime returns a *ClockSkewError if t is more than skew away from ref
// in either direction.
func CheckTime(t, ref time.Time, skew time.Duration) error {
	off := t.Sub(ref)
	if off > skew || off < -skew {
		return &ClockSkewError{Offset: off, MaxSkew: skew}
	}
	return nil
}

// SignCheckpoint signs c with s at time t: the checkpoint's note signature
// followed by the log's timestamp line (see above). t is truncated to whole
// seconds and must not be before 1970.
func SignCheckpoint(s CheckpointSigner, c Checkpoint, t time.Time) ([]byte, error) {
	if s == nil {
		return nil, errors.New("ledger: nil checkpoint signer")
	}
	body := c.Marshal()
	if _, err := ParseCheckpoint(body); err != nil {
		return nil, err
	}
	signed, err := note.Sign(&note.Note{Text: string(body)}, s)
	if err != nil {
		return nil, fmt.Errorf("ledger: signing checkpoint: %w", err)
	}
	line, err := timestampLine(s, body, t)
	if err != nil {
		return nil, err
	}
	return append(signed, line...), nil
}

// timestampLine returns the log's tlog-cosignature/v1 line over body at t.
func timestampLine(s CheckpointSigner, body []byte, t time.Time) ([]byte, error) {
	ts := t.Unix()
	if ts < 0 {
		return nil, fieldErr(ErrMalformed, "checkpoint.time", "before 1970")
	}
	name := s.Name()
	pub := s.PublicKey()
	sig, err := s.Sign(cosignedMessage(body, uint64(ts)))
	if err != nil {
		return nil, fmt.Errorf("ledger: signing checkpoint time: %w", err)
	}
	return cosignatureLine(name, cosignerKeyID(name, pub), uint64(ts), sig), nil
}

// CheckpointTime returns the log's signed time of a signed checkpoint: the
// time in its timestamp line, verified under logKey (the log's note
// verifier key). It does not verify the checkpoint's own signature (see
// [OpenCheckpoint] and [Verifier]). A checkpoint without a valid timestamp
// line by that key fails with ErrNoTimestamp.
func CheckpointTime(signed []byte, logKey string) (time.Time, error) {
	tv, err := NewCosignatureVerifier(logKey)
	if err != nil {
		return time.Time{}, err
	}
	return checkpointTime(signed, tv)
}

func checkpointTime(signed []byte, tv *CosignatureVerifier) (time.Time, error) {
	cs, err := VerifyCosignatures(signed, []*CosignatureVerifier{tv})
	if err != nil {
		return time.Time{}, err
	}
	if len(cs) == 0 {
		return time.Time{}, ErrNoTimestamp
	}
	return cs[0].Time, nil
}
