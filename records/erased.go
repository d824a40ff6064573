package records

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/ledger"
)

// asErased returns the *ledger.ErasedError that err (not nil) wraps, or
// nil; a function of its own so that only errors allocate the target.
func asErased(err error) *ledger.ErasedError {
	var ee *ledger.ErasedError
	if !errors.As(err, &ee) {
		return nil
	}
	return ee
}

// erasedEvent is the EventErased of the entry at index, from what consent
// reports of it.
func erasedEvent(index uint64, rcpt *ledger.Receipt, x *consent.ErasedEntry) Event {
	return Event{Index: index, Type: EventErased, Time: x.Time, Writer: x.Writer, Receipt: rcpt,
		ErasedKind: x.Kind, Erasure: x.Erasure}
}

// erasedRecordEvent is the EventErased of an anchor or access entry whose
// payload an erasure deleted; entries of other kinds are consent's to
// report (or nobody's).
func (s *Service) erasedRecordEvent(ctx context.Context, ee *ledger.ErasedError) (Event, bool, error) {
	rcpt, err := s.cfg.Log.Receipt(ctx, ee.Index)
	if err != nil {
		return Event{}, false, err
	}
	e, err := ledger.UnmarshalEntry(rcpt.Leaf)
	if err != nil || e.Kind != ledger.KindRecordAnchored && e.Kind != ledger.KindRecordAccessed {
		return Event{}, false, nil
	}
	x := &consent.ErasedEntry{Kind: e.Kind, Writer: e.Writer, Time: e.Time, ErasedBy: ee.ErasedBy, Erasure: ee.Erasure}
	if x.Erasure == nil {
		if x.Erasure, err = s.cfg.Log.Receipt(ctx, ee.ErasedBy); err != nil {
			return Event{}, false, err
		}
	}
	return erasedEvent(ee.Index, rcpt, x), true, nil
}

// KindName returns a readable name for the kind of an entry filed under a
// patient's tag ("record version anchored", "consent granted", ...), or
// "entry of kind 0x...." for a kind the report does not know.
func KindName(k ledger.Kind) string {
	switch k {
	case ledger.KindRecordAnchored:
		return "record version anchored"
	case ledger.KindRecordAccessed:
		return "record access"
	case consent.KindConsentGranted:
		return "consent granted"
	case consent.KindConsentRevoked:
		return "consent revoked"
	case consent.KindAccessDecided:
		return "access decision"
	case consent.KindCustodialGranted:
		return "consent recorded on your behalf"
	case consent.KindCustodialRevoked:
		return "consent withdrawn on your behalf"
	}
	return fmt.Sprintf("entry of kind 0x%04x", uint16(k))
}

// checkedErasure is the result of checking one erasure receipt: many
// erased events share one erasure, checked once per Verify.
type checkedErasure struct {
	entry   *ledger.Entry
	erasure *ledger.Erasure
	err     error
}

// erasureKey identifies a receipt by all its bytes: index, leaf, proof and
// checkpoint, each length-prefixed.
func erasureKey(r *ledger.Receipt) string {
	b := binary.BigEndian.AppendUint64(nil, r.Index)
	b = binary.AppendUvarint(b, uint64(len(r.Leaf)))
	b = append(b, r.Leaf...)
	b = binary.AppendUvarint(b, uint64(len(r.Proof)))
	for _, h := range r.Proof {
		b = append(b, h[:]...)
	}
	return string(append(b, r.Checkpoint...))
}

// checkErasure checks an erasure receipt on its own: it verifies, its
// entry is a KindErasure entry with a valid body, and its writer's
// signature verifies.
func checkErasure(ctx context.Context, r *ledger.Receipt, v *ledger.Verifier, keys SignatureChecker) checkedErasure {
	ex, err := v.VerifyReceipt(r)
	if err != nil {
		return checkedErasure{err: fmt.Errorf("%w: erasure: %w", ErrInvalidProof, err)}
	}
	x, err := ledger.ParseErasure(ex)
	if err != nil {
		return checkedErasure{err: &ErasureError{Field: "erasure"}}
	}
	if err := checkLeafSignature(ctx, r.Leaf, keys); err != nil {
		return checkedErasure{err: err}
	}
	return checkedErasure{entry: ex, erasure: x}
}

// verifyErasure checks that ev's erasure erased the entry e (ev's verified
// leaf): the erasure's receipt and writer signature verify, it is a
// ledger.KindErasure entry with a valid body, after e, and it covers e.
// seen caches the check of each erasure receipt within one Verify.
func verifyErasure(ctx context.Context, ev *Event, e *ledger.Entry, v *ledger.Verifier, keys SignatureChecker, seen map[string]checkedErasure) error {
	if ev.Erasure == nil {
		return &ErasureError{Field: "erasure"}
	}
	key := erasureKey(ev.Erasure)
	c, ok := seen[key]
	if !ok {
		c = checkErasure(ctx, ev.Erasure, v, keys)
		seen[key] = c
	}
	switch {
	case c.err != nil:
		return c.err
	case ev.Erasure.Index <= ev.Index:
		return &ErasureError{Field: "order"}
	case c.entry.Subject != e.Subject:
		return &ErasureError{Field: "subject"}
	case !c.erasure.Covers(c.entry, e, ev.Index):
		return &ErasureError{Field: "before"}
	}
	return nil
}

// erasure returns ev's erasure body and entry, read from its receipt's
// leaf (not verified: Verify does that), or nils.
func (ev *Event) erasure() (*ledger.Erasure, *ledger.Entry) {
	if ev.Erasure == nil {
		return nil, nil
	}
	ex, err := ledger.UnmarshalEntry(ev.Erasure.Leaf)
	if err != nil {
		return nil, nil
	}
	x, err := ledger.ParseErasure(ex)
	if err != nil {
		return nil, nil
	}
	return x, ex
}
