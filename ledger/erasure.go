package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// KindErasure records that the payloads of a subject's entries were
// erased: its body is an [Erasure]. The entry itself is never erased.
const KindErasure Kind = 0x0003

// ErrUseErase reports a KindErasure entry passed to [Log.Append], which
// refuses it and writes nothing: an erasure is recorded and carried out by
// [Log.Erase] only. It wraps ErrInvalidEntry.
var ErrUseErase = fmt.Errorf("%w: an erasure entry is appended by Log.Erase", ErrInvalidEntry)

// Erasure is the body of a KindErasure entry: every payload of the entries
// of the entry's subject with an index below Before was erased, on the
// stated Ground (for example "GDPR Art. 17(1)(a)" or a retention rule).
// The ground is public: it must name a rule, never a person.
type Erasure struct {
	Before uint64
	Ground string
}

// MaxErasureGround bounds Erasure.Ground.
const MaxErasureGround = 256

const erasureMagic = "HLX\x01"

// MarshalBinary encodes the erasure: "HLX" 0x01, uint64 Before, uvarint
// length and the ground (UTF-8, 1 to MaxErasureGround bytes).
func (x *Erasure) MarshalBinary() ([]byte, error) {
	if x.Ground == "" || len(x.Ground) > MaxErasureGround || !utf8.ValidString(x.Ground) {
		return nil, fieldErr(ErrInvalidEntry, "erasure.ground", fmt.Sprintf("must be 1 to %d bytes of UTF-8", MaxErasureGround))
	}
	b := append([]byte(erasureMagic), make([]byte, 8)...)
	binary.BigEndian.PutUint64(b[len(erasureMagic):], x.Before)
	b = binary.AppendUvarint(b, uint64(len(x.Ground)))
	return append(b, x.Ground...), nil
}

// ParseErasure decodes the body of a KindErasure entry.
func ParseErasure(e *Entry) (*Erasure, error) {
	if e == nil || e.Kind != KindErasure {
		return nil, fieldErr(ErrInvalidEntry, "kind", "not an erasure entry")
	}
	b := e.Body
	if !bytes.HasPrefix(b, []byte(erasureMagic)) || len(b) < len(erasureMagic)+8 {
		return nil, fieldErr(ErrMalformed, "erasure", "not an erasure record")
	}
	x := &Erasure{Before: binary.BigEndian.Uint64(b[len(erasureMagic):])}
	ground, rest, err := readField(b[len(erasureMagic)+8:], "erasure.ground", MaxErasureGround)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fieldErr(ErrMalformed, "erasure", "trailing bytes")
	}
	x.Ground = string(ground)
	if again, err := x.MarshalBinary(); err != nil || !bytes.Equal(again, b) {
		return nil, fieldErr(ErrMalformed, "erasure", "not canonical")
	}
	return x, nil
}

// Covers reports whether the erasure entry ex, wherever it is in the log,
// names the payload of entry e at index: same subject, and index below
// Before. It does not know ex's own index, and [Log.Erase] erases only
// entries before the erasure entry: a verifier that holds both indices
// uses [Erasure.CoversAt].
func (x *Erasure) Covers(ex *Entry, e *Entry, index uint64) bool {
	return ex != nil && e != nil && ex.Subject == e.Subject && index < x.Before
}

// CoversAt reports whether the erasure entry ex at index exIndex erased the
// payload of entry e at index: Covers, and e comes before ex in the log.
func (x *Erasure) CoversAt(ex *Entry, exIndex uint64, e *Entry, index uint64) bool {
	return index < exIndex && x.Covers(ex, e, index)
}

// NewErasureEntry returns the unsigned erasure entry for the payloads of
// subject's entries below index before (typically the log's size when the
// erasure is decided), on ground, written by writer at time at. Sign it if
// the Log's WriterVerifier requires, then pass it to [Log.Erase].
func NewErasureEntry(subject SubjectTag, before uint64, ground, writer string, at time.Time) (*Entry, error) {
	body, err := (&Erasure{Before: before, Ground: ground}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &Entry{Kind: KindErasure, Subject: subject, Writer: writer, Time: at, Body: body}, nil
}

// Erase records an erasure and carries it out: it appends e (a
// KindErasure entry, see NewErasureEntry) and then deletes, in the store,
// the payloads of every entry of e's subject with an index below the
// erasure's Before and below e's own index. Leaves, tiles, checkpoints and
// every receipt ever issued stay byte-identical and keep verifying; reading
// an erased entry with Log.Entry fails with an *ErasedError that carries
// this erasure's receipt.
//
// Erase is the only way an erasure entry enters the log ([Log.Append]
// refuses one with ErrUseErase), and it applies every check Append does,
// the Config.WriterVerifier's included; an entry refused is not written
// and nothing is deleted. Erase is idempotent: calling it again with the
// same entry finds it in the log (the receipt has Existed set) and deletes
// whatever is left. If Erase fails after the entry was appended (the
// error then says the erasure was recorded and comes with its receipt),
// or the process stops in between, calling Erase again with the same
// entry completes the deletion.
//
// What erasure does not promise: it cannot reach copies made outside the
// store (backups, replicas, readers who kept a payload, or, for sealed
// payloads, anyone who held the data key); see SPEC.md, "Erasure".
func (l *Log) Erase(ctx context.Context, e *Entry) (*Receipt, error) {
	x, err := ParseErasure(e)
	if err != nil {
		return nil, err
	}
	r, err := l.appendEntry(ctx, e)
	if err != nil {
		return nil, err
	}
	before := min(x.Before, r.Index)
	// Collect the indices first and erase them in few store calls: a
	// store's erasure has a fixed cost (Pebble compacts and reopens).
	const page, perCall = 1024, 1 << 16
	var batch []uint64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := l.store.ErasePayloads(ctx, batch, r.Index)
		batch = batch[:0]
		return err
	}
	for start := uint64(0); start < before; {
		idx, err := l.store.BySubject(ctx, e.Subject, start, page)
		if err != nil {
			return r, fmt.Errorf("ledger: erasure recorded at %d, payloads not yet deleted: %w", r.Index, err)
		}
		for _, i := range idx {
			if i < before {
				batch = append(batch, i)
			}
		}
		if len(batch) >= perCall {
			if err := flush(); err != nil {
				return r, fmt.Errorf("ledger: erasure recorded at %d, payloads not yet deleted: %w", r.Index, err)
			}
		}
		if len(idx) < page {
			break
		}
		start = idx[len(idx)-1] + 1
	}
	if err := flush(); err != nil {
		return r, fmt.Errorf("ledger: erasure recorded at %d, payloads not yet deleted: %w", r.Index, err)
	}
	return r, nil
}

// readPayload returns the payload of the v2 entry e at index, checked
// against its commitment.
func (l *Log) readPayload(ctx context.Context, e *Entry, index uint64) error {
	raw, err := l.store.Payload(ctx, index)
	var ee *ErasedError
	switch {
	case errors.As(err, &ee):
		if rc, rerr := l.Receipt(ctx, ee.ErasedBy); rerr == nil {
			ee.Erasure = rc
		}
		return ee
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("%w: entry %d commits to a payload the store does not have", ErrCorrupt, index)
	case err != nil:
		return err
	}
	p, err := decodePayload(raw)
	if err != nil {
		return err
	}
	if p.Commitment() != e.PayloadCommitment {
		return fmt.Errorf("%w: the payload of entry %d does not match its commitment", ErrCorrupt, index)
	}
	e.Payload = p
	return nil
}
