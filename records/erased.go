package records

import (
	"context"
	"fmt"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/ledger"
)

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

// verifyErasure checks that ev's erasure erased the entry e (ev's verified
// leaf): the erasure's receipt and writer signature verify, it is a
// ledger.KindErasure entry with a valid body, after e, and it covers e.
func verifyErasure(ctx context.Context, ev *Event, e *ledger.Entry, v *ledger.Verifier, keys SignatureChecker) error {
	if ev.Erasure == nil {
		return &ErasureError{Field: "erasure"}
	}
	ex, err := v.VerifyReceipt(ev.Erasure)
	if err != nil {
		return fmt.Errorf("%w: erasure: %w", ErrInvalidProof, err)
	}
	x, err := ledger.ParseErasure(ex)
	if err != nil {
		return &ErasureError{Field: "erasure"}
	}
	if err := checkLeafSignature(ctx, ev.Erasure.Leaf, keys); err != nil {
		return err
	}
	switch {
	case ev.Erasure.Index <= ev.Index:
		return &ErasureError{Field: "order"}
	case ex.Subject != e.Subject:
		return &ErasureError{Field: "subject"}
	case !x.Covers(ex, e, ev.Index):
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
