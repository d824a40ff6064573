package client

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"golang.org/x/mod/sumdb/note"
)

// NoteVerifier is a [CheckpointVerifier] for logs whose checkpoints are
// plain C2SP tlog-checkpoint notes signed by one key: logs written by
// other software (Tessera, Sunlight, sumdb-style logs), which carry no
// healthledger signed time. It checks the origin and the log's signature
// only, never witness cosignatures: for a healthledger log use a
// ledger.Verifier, which also checks the signed time and the witness
// policy. It trusts the first checkpoint it is given (or the one it was
// created with) and then moves only along consistency proofs, returning a
// *ledger.InconsistencyError on a fork. It is safe for concurrent use.
type NoteVerifier struct {
	origin string
	v      note.Verifier

	mu        sync.Mutex // guards trusted and trustedCP
	trusted   []byte
	trustedCP ledger.Checkpoint
}

// NewNoteVerifier returns a NoteVerifier for checkpoints of origin signed
// by v.
func NewNoteVerifier(origin string, v note.Verifier) (*NoteVerifier, error) {
	if origin == "" || v == nil {
		return nil, fmt.Errorf("%w: client: NoteVerifier needs an origin and a verifier", ledger.ErrInvalidConfig)
	}
	return &NoteVerifier{origin: origin, v: v}, nil
}

// VerifyCheckpoint implements CheckpointVerifier.
func (n *NoteVerifier) VerifyCheckpoint(signed []byte) (ledger.Checkpoint, error) {
	cp, _, err := ledger.OpenCheckpoint(signed, n.origin, n.v)
	return cp, err
}

// Advance implements CheckpointVerifier, with the rules of
// ledger.Verifier.Advance.
func (n *NoteVerifier) Advance(signed []byte, proof []merkle.Hash) error {
	cp, err := n.VerifyCheckpoint(signed)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.trusted == nil {
		if len(proof) != 0 {
			return fmt.Errorf("%w: consistency proof given but no checkpoint is trusted", ledger.ErrInvalidProof)
		}
		n.trusted, n.trustedCP = bytes.Clone(signed), cp
		return nil
	}
	old := n.trustedCP
	if cp.Size < old.Size {
		return fmt.Errorf("%w: size %d is below the trusted size %d", ledger.ErrStaleCheckpoint, cp.Size, old.Size)
	}
	if err := merkle.VerifyConsistency(old.Size, cp.Size, proof, old.Root, cp.Root); err != nil {
		ie := &ledger.InconsistencyError{Trusted: bytes.Clone(n.trusted), Candidate: bytes.Clone(signed), Err: err}
		if cp.Size != old.Size {
			ie.Proof = slices.Clone(proof)
		}
		return ie
	}
	if cp.Size > old.Size {
		n.trusted, n.trustedCP = bytes.Clone(signed), cp
	}
	return nil
}

// Trusted implements CheckpointVerifier.
func (n *NoteVerifier) Trusted() []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return bytes.Clone(n.trusted)
}

// TrustedCheckpoint implements CheckpointVerifier.
func (n *NoteVerifier) TrustedCheckpoint() (ledger.Checkpoint, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.trustedCP, n.trusted != nil
}

var (
	_ CheckpointVerifier = (*NoteVerifier)(nil)
	_ CheckpointVerifier = (*ledger.Verifier)(nil)
)
