package witness

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// Limits of an add-checkpoint request.
const (
	// MaxProofLines is the largest number of consistency proof lines a
	// request may carry (the specification's limit).
	MaxProofLines = 63
	// MaxRequestSize is the largest request body: the old size line, 63
	// proof lines, the empty line and a checkpoint of
	// ledger.MaxCheckpointSize bytes.
	MaxRequestSize = len("old 18446744073709551615\n") + MaxProofLines*45 + 1 + ledger.MaxCheckpointSize
)

// Request is an add-checkpoint request.
type Request struct {
	// OldSize is the size of the last checkpoint the witness cosigned for
	// the log, as the client believes.
	OldSize uint64
	// Proof is the consistency proof from OldSize to the checkpoint's size.
	Proof []merkle.Hash
	// Checkpoint is the signed checkpoint note, with every signature line.
	Checkpoint []byte
}

// ParseRequest parses an add-checkpoint request body strictly: the old size
// is canonical decimal, each proof line the canonical base64 of 32 bytes,
// at most MaxProofLines of them, and the checkpoint non-empty. It does not
// verify the checkpoint. Errors wrap ledger.ErrMalformed or
// ledger.ErrTooLarge and never contain the input.
func ParseRequest(body []byte) (*Request, error) {
	if len(body) > MaxRequestSize {
		return nil, fmt.Errorf("%w: request longer than %d bytes", ledger.ErrTooLarge, MaxRequestSize)
	}
	head, checkpoint, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("%w: no empty line before the checkpoint", ledger.ErrMalformed)
	}
	if len(checkpoint) == 0 {
		return nil, fmt.Errorf("%w: no checkpoint", ledger.ErrMalformed)
	}
	lines := bytes.Split(head, []byte{'\n'})
	size, ok := bytes.CutPrefix(lines[0], []byte("old "))
	if !ok {
		return nil, fmt.Errorf("%w: the first line is not an old size line", ledger.ErrMalformed)
	}
	old, err := parseSize(size)
	if err != nil {
		return nil, err
	}
	if len(lines)-1 > MaxProofLines {
		return nil, fmt.Errorf("%w: more than %d proof lines", ledger.ErrMalformed, MaxProofLines)
	}
	r := &Request{OldSize: old, Checkpoint: bytes.Clone(checkpoint)}
	for _, l := range lines[1:] {
		h, err := merkle.ParseHash(string(l))
		if err != nil {
			return nil, fmt.Errorf("%w: a proof line is not a base64 hash", ledger.ErrMalformed)
		}
		r.Proof = append(r.Proof, h)
	}
	return r, nil
}

// parseSize parses a canonical decimal uint64 (no sign, no leading zeros).
func parseSize(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 20 || (b[0] == '0' && len(b) > 1) {
		return 0, fmt.Errorf("%w: not a canonical decimal size", ledger.ErrMalformed)
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: not a canonical decimal size", ledger.ErrMalformed)
		}
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: size does not fit in 64 bits", ledger.ErrMalformed)
	}
	return n, nil
}

// MarshalText returns the request body. It fails for more than
// MaxProofLines proof hashes or an empty checkpoint.
func (r *Request) MarshalText() ([]byte, error) {
	if len(r.Proof) > MaxProofLines {
		return nil, fmt.Errorf("%w: more than %d proof hashes", ledger.ErrMalformed, MaxProofLines)
	}
	if len(r.Checkpoint) == 0 {
		return nil, fmt.Errorf("%w: no checkpoint", ledger.ErrMalformed)
	}
	b := make([]byte, 0, 26+45*len(r.Proof)+1+len(r.Checkpoint))
	b = append(b, "old "...)
	b = strconv.AppendUint(b, r.OldSize, 10)
	b = append(b, '\n')
	for _, h := range r.Proof {
		b = append(b, h.String()...)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return append(b, r.Checkpoint...), nil
}
