package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/healthledger/healthledger/merkle"
)

// CheckpointCosigner asks one witness to cosign a checkpoint: the C2SP
// tlog-witness add-checkpoint call (https://c2sp.org/tlog-witness).
// Package ledger/witness provides one over HTTP ([witness.Client]) and
// [NewLocalCosigner] one for a [*Witness] in the same process.
//
// AddCheckpoint sends the signed checkpoint (with every signature line it
// carries) and a consistency proof from oldSize, which MUST be the size of
// the last checkpoint the witness cosigned for the log (0 if none; the
// proof is then empty, as it is when oldSize is the checkpoint's size). It
// returns the witness's cosignature line or lines ("— <name> <base64>\n").
// If oldSize is not the witness's size it MUST fail with an error wrapping
// a *WitnessConflictError that holds the witness's size. It MUST honour
// ctx and be safe for concurrent use.
type CheckpointCosigner interface {
	AddCheckpoint(ctx context.Context, oldSize uint64, proof []merkle.Hash, signed []byte) ([]byte, error)
}

// LogWitness is a witness a [Log] asks to cosign its checkpoints.
type LogWitness struct {
	// Key is the witness's cosigner verifier key (see
	// NewCosignatureVerifier). Only cosignature lines that verify under
	// it are kept.
	Key string
	// Cosigner reaches the witness.
	Cosigner CheckpointCosigner
}

// DefaultWitnessTimeout is the default Config.WitnessTimeout.
const DefaultWitnessTimeout = 5 * time.Second

// ErrWitnessQuorum reports a checkpoint that did not collect the witness
// cosignatures the Log's quorum requires (see Config.Witnesses).
var ErrWitnessQuorum = errors.New("ledger: witness quorum not reached")

// WitnessQuorumError reports that a checkpoint the Log signed did not
// collect its quorum of cosignatures within Config.WitnessTimeout. The
// batch's entries are stored and in the tree, but their receipts are
// withheld; appending them again returns them (Existed) once the
// witnesses cosign. It wraps ErrWitnessQuorum.
type WitnessQuorumError struct {
	// Size is the tree size of the checkpoint.
	Size uint64
	// Cosigned is the number of witnesses whose cosignatures verified.
	Cosigned int
	// Required is the smallest number of witnesses that meets the quorum.
	Required int
	// Failures holds, per witness that did not cosign, its key and why.
	Failures []WitnessFailure
}

// WitnessFailure is why one witness did not cosign.
type WitnessFailure struct {
	// Key is the witness's verifier key.
	Key string
	// Err is the error of its last attempt.
	Err error
}

// Error reports the counts and the first failure.
func (e *WitnessQuorumError) Error() string {
	msg := fmt.Sprintf("%v: checkpoint of size %d has %d witness cosignatures, %d required", ErrWitnessQuorum, e.Size, e.Cosigned, e.Required)
	if len(e.Failures) > 0 {
		msg += fmt.Sprintf(" (first failure: %v)", e.Failures[0].Err)
	}
	return msg
}

// Unwrap returns ErrWitnessQuorum.
func (e *WitnessQuorumError) Unwrap() error { return ErrWitnessQuorum }

// NewLocalCosigner returns a CheckpointCosigner for a witness in the same
// process. The context is not used: Witness.AddCheckpoint does no I/O
// beyond its Persist callback.
func NewLocalCosigner(w *Witness) CheckpointCosigner { return localCosigner{w} }

type localCosigner struct{ w *Witness }

func (c localCosigner) AddCheckpoint(ctx context.Context, oldSize uint64, proof []merkle.Hash, signed []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.w.AddCheckpoint(oldSize, proof, signed)
}

// cosigning collects witness cosignatures for a Log's checkpoints.
//
// Rounds are serialized by round, which also guards every logWitness's
// size. mu guards published and publishedCP.
type cosigning struct {
	witnesses []*logWitness
	policy    *Policy // nil: threshold of witnesses
	threshold int
	timeout   time.Duration
	proofs    func(ctx context.Context, m, n uint64) ([]merkle.Hash, error)

	round sync.Mutex
	// metrics counts witness answers; set once by Open.
	metrics *logMetrics

	mu          sync.Mutex
	published   []byte     // the latest checkpoint that met the quorum, with its cosignatures
	publishedCP Checkpoint // its body
}

type logWitness struct {
	key      string
	verifier *CosignatureVerifier
	cosigner CheckpointCosigner
	// size is the size of the last checkpoint the witness cosigned, as far
	// as the Log knows (a 409 corrects it). Guarded by cosigning.round.
	size uint64
}

// newCosigning checks the witness configuration. startSize is the size of
// the Log's latest checkpoint, the Log's first guess of every witness's
// size.
func newCosigning(cfg Config, logKey []byte, startSize uint64, proofs func(context.Context, uint64, uint64) ([]merkle.Hash, error)) (*cosigning, error) {
	if len(cfg.Witnesses) == 0 {
		if cfg.WitnessPolicy != nil || cfg.WitnessThreshold != 0 {
			return nil, fmt.Errorf("%w: a witness policy or threshold without Config.Witnesses", ErrInvalidConfig)
		}
		return nil, nil
	}
	c := &cosigning{policy: cfg.WitnessPolicy, timeout: cfg.WitnessTimeout, proofs: proofs}
	if c.timeout <= 0 {
		c.timeout = DefaultWitnessTimeout
	}
	if len(cfg.Witnesses) > MaxPolicyWitnesses {
		return nil, fmt.Errorf("%w: more than %d witnesses", ErrInvalidConfig, MaxPolicyWitnesses)
	}
	for i, w := range cfg.Witnesses {
		v, err := NewCosignatureVerifier(w.Key)
		if err != nil || w.Cosigner == nil {
			return nil, fmt.Errorf("%w: Config.Witnesses[%d]: a witness needs a valid cosigner key and a Cosigner", ErrInvalidConfig, i)
		}
		if bytes.Equal(v.pub, logKey) {
			return nil, fmt.Errorf("%w: Config.Witnesses[%d]: the log's own key cannot be a witness", ErrInvalidConfig, i)
		}
		for _, o := range c.witnesses {
			if bytes.Equal(o.verifier.pub, v.pub) {
				return nil, fmt.Errorf("%w: Config.Witnesses[%d]: duplicate witness key", ErrInvalidConfig, i)
			}
		}
		if c.policy != nil && c.policy.witnessIndex(v.pub) < 0 {
			return nil, fmt.Errorf("%w: Config.Witnesses[%d] is not a witness of Config.WitnessPolicy", ErrInvalidConfig, i)
		}
		c.witnesses = append(c.witnesses, &logWitness{key: w.Key, verifier: v, cosigner: w.Cosigner, size: startSize})
	}
	switch {
	case c.policy != nil && cfg.WitnessThreshold != 0:
		return nil, fmt.Errorf("%w: set Config.WitnessPolicy or Config.WitnessThreshold, not both", ErrInvalidConfig)
	case c.policy != nil:
		all := make([]Cosignature, len(c.witnesses))
		for i, w := range c.witnesses {
			all[i] = Cosignature{Name: w.verifier.name, KeyHash: w.verifier.keyID}
		}
		if !c.policy.Satisfied(all) {
			return nil, fmt.Errorf("%w: Config.Witnesses cannot meet Config.WitnessPolicy's quorum even if all cosign", ErrInvalidConfig)
		}
	case cfg.WitnessThreshold < 0 || cfg.WitnessThreshold > len(c.witnesses):
		return nil, fmt.Errorf("%w: Config.WitnessThreshold not between 0 and %d", ErrInvalidConfig, len(c.witnesses))
	case cfg.WitnessThreshold == 0:
		c.threshold = len(c.witnesses)
	default:
		c.threshold = cfg.WitnessThreshold
	}
	return c, nil
}

// latest returns the latest checkpoint that met the quorum, or nil.
func (c *cosigning) latest() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.published
}

// cosign returns signed (a checkpoint the Log signed and committed) with
// the cosignatures of its witnesses, asking them in parallel, each from
// the size it last cosigned. It returns as soon as the quorum is met
// (cancelling the witnesses still working) or fails with a
// *WitnessQuorumError when every witness answered or the timeout passed
// without it. A checkpoint that met the quorum before is returned at once.
func (c *cosigning) cosign(ctx context.Context, signed []byte) ([]byte, error) {
	cp, err := ParseSignedCheckpoint(signed)
	if err != nil {
		return nil, err
	}
	c.round.Lock()
	defer c.round.Unlock()
	c.mu.Lock()
	if c.published != nil && c.publishedCP == cp {
		defer c.mu.Unlock()
		return c.published, nil
	}
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	type result struct {
		i    int
		line []byte
		err  error
	}
	results := make(chan result, len(c.witnesses))
	for i, w := range c.witnesses {
		go func() {
			line, err := c.ask(ctx, w, signed, cp)
			results <- result{i, line, err}
		}()
	}
	lines := make([][]byte, len(c.witnesses))
	errs := make([]error, len(c.witnesses))
	met := false
	for range c.witnesses {
		r := <-results
		lines[r.i], errs[r.i] = r.line, r.err
		if !met && c.quorum(lines) {
			// Enough: stop the others; their goroutines return promptly
			// and are drained here, so the next round sees settled sizes.
			met = true
			cancel()
		}
	}
	out := slices.Clone(signed)
	var failures []WitnessFailure
	n := 0
	for i, l := range lines {
		if l != nil {
			out = append(out, l...)
			n++
		} else {
			failures = append(failures, WitnessFailure{Key: c.witnesses[i].key, Err: errs[i]})
		}
	}
	c.metrics.cosigned(n, len(failures))
	if !met {
		return nil, &WitnessQuorumError{Size: cp.Size, Cosigned: n, Required: c.required(), Failures: failures}
	}
	c.mu.Lock()
	c.published, c.publishedCP = out, cp
	c.mu.Unlock()
	return out, nil
}

// quorum reports whether the witnesses with a line meet the quorum.
func (c *cosigning) quorum(lines [][]byte) bool {
	if c.policy == nil {
		n := 0
		for _, l := range lines {
			if l != nil {
				n++
			}
		}
		return n >= c.threshold
	}
	var cosigs []Cosignature
	for i, l := range lines {
		if l != nil {
			v := c.witnesses[i].verifier
			cosigs = append(cosigs, Cosignature{Name: v.name, KeyHash: v.keyID})
		}
	}
	return c.policy.Satisfied(cosigs)
}

func (c *cosigning) required() int {
	if c.policy != nil {
		return c.policy.MinCosignatures()
	}
	return c.threshold
}

// maxConflicts bounds the 409 retries of one witness in one round.
const maxConflicts = 2

// ask has one witness cosign signed, retrying from the size a conflict
// reports. It returns the witness's one cosignature line that verifies.
func (c *cosigning) ask(ctx context.Context, w *logWitness, signed []byte, cp Checkpoint) ([]byte, error) {
	from := w.size
	for attempt := 0; ; attempt++ {
		if from > cp.Size {
			return nil, fmt.Errorf("ledger: the witness has cosigned size %d, beyond this log's size %d: it has seen a checkpoint this log did not sign now", from, cp.Size)
		}
		var proof []merkle.Hash
		if from != 0 && from != cp.Size {
			var err error
			if proof, err = c.proofs(ctx, from, cp.Size); err != nil {
				return nil, fmt.Errorf("ledger: consistency proof from %d for a witness: %w", from, err)
			}
		}
		resp, err := w.cosigner.AddCheckpoint(ctx, from, proof, signed)
		var conflict *WitnessConflictError
		if errors.As(err, &conflict) && attempt < maxConflicts && conflict.Latest != from {
			from = conflict.Latest
			continue
		}
		if err != nil {
			return nil, err
		}
		line, err := w.pick(signed, resp)
		if err != nil {
			return nil, err
		}
		w.size = cp.Size
		return line, nil
	}
}

// pick returns the line of resp that is a valid cosignature of signed by
// w. Other lines (other keys, other algorithms) are ignored.
func (w *logWitness) pick(signed, resp []byte) ([]byte, error) {
	body, _, err := splitNote(signed)
	if err != nil {
		return nil, err
	}
	for line := range bytes.Lines(resp) {
		if !bytes.HasSuffix(line, []byte{'\n'}) || !bytes.HasPrefix(line, []byte(noteSigPrefix)) {
			continue
		}
		note := slices.Concat(body, []byte{'\n'}, line)
		if cs, err := VerifyCosignatures(note, []*CosignatureVerifier{w.verifier}); err == nil && len(cs) == 1 {
			return slices.Clone(line), nil
		}
	}
	return nil, fmt.Errorf("%w: the witness returned no valid cosignature by %s", ErrBadSignature, strings.SplitN(w.key, "+", 2)[0])
}

// cosignBatch has the witnesses cosign a batch's checkpoint, giving up
// when the Log is closed.
func (l *Log) cosignBatch(signed []byte) ([]byte, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	out, err := l.cosign.cosign(ctx, signed)
	if err != nil {
		l.logger.Warn("ledger: witnesses did not cosign a checkpoint; its receipts are withheld", "error", err)
	}
	return out, err
}

// cosignedHead returns the latest committed checkpoint with its witness
// cosignatures, collecting them if that was not done.
func (l *Log) cosignedHead(ctx context.Context) ([]byte, error) {
	l.mu.Lock()
	head := l.guarded
	l.mu.Unlock()
	if head == nil {
		return nil, ErrEmptyLog
	}
	return l.cosign.cosign(ctx, head)
}

// cosignedCheckpoint is Log.Checkpoint with witnesses: the latest
// committed checkpoint with its quorum of cosignatures, collected now if
// needed (the first call after Open, or after a round that failed); if
// the witnesses still do not cosign it, the latest checkpoint that met the
// quorum before (smaller, but consistent with it), or the quorum error if
// there is none.
func (l *Log) cosignedCheckpoint(ctx context.Context) ([]byte, error) {
	cp, err := l.cosignedHead(ctx)
	if err != nil && errors.Is(err, ErrWitnessQuorum) {
		if old := l.cosign.latest(); old != nil {
			return old, nil
		}
	}
	return cp, err
}

// receiptCheckpoint is the checkpoint Log.Receipt proves against: the
// latest one, cosigned if the Log has witnesses.
func (l *Log) receiptCheckpoint(ctx context.Context) ([]byte, error) {
	if l.cosign == nil {
		return l.Checkpoint(ctx)
	}
	if l.closed.Load() {
		return nil, ErrClosed
	}
	return l.cosignedHead(ctx)
}
