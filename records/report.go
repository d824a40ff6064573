package records

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/ledger"
)

// EventType says what a report event records.
type EventType string

// Event types of a patient report.
const (
	EventAnchor           EventType = "anchor"
	EventAccess           EventType = "access"
	EventConsentGrant     EventType = "consent-grant"
	EventConsentRevoke    EventType = "consent-revocation"
	EventDecision         EventType = "decision"
	EventBreakGlass       EventType = "break-glass"
	EventBreakGlassAccess EventType = "break-glass-access"
	// EventCustodialGrant is a consent a custodian (an EHR) recorded on the
	// patient's behalf (consent.KindCustodialGranted); Custodial says how
	// it was captured.
	EventCustodialGrant EventType = "custodial-consent-grant"
	// EventCustodialRevoke is a custodian withdrawing a custodial consent
	// it recorded (consent.KindCustodialRevoked). A patient revoking a
	// custodial consent is an EventConsentRevoke.
	EventCustodialRevoke EventType = "custodial-consent-revocation"
	// EventErased is an entry about the patient whose details an erasure
	// deleted (ledger.Log.Erase): what its leaf still says (ErasedKind,
	// Time, Writer), its Receipt, and the erasure's receipt (Erasure).
	EventErased EventType = "erased"
)

// Event is one row of a patient report: one ledger entry about the
// patient, decoded, with its receipt.
type Event struct {
	// Index is the entry's log index.
	Index uint64
	// Type says what the entry records.
	Type EventType
	// Time is the entry's time.
	Time time.Time
	// Writer is the DID that wrote and signed the entry.
	Writer string
	// Anchor is the anchor statement (EventAnchor).
	Anchor *AnchorStatement
	// Access is the access statement (EventAccess, EventBreakGlassAccess).
	Access *AccessStatement
	// Salt opens Anchor's, Access's or Custodial's commitment on the log.
	Salt Salt
	// Decision is the recorded consent decision (EventDecision, EventBreakGlass).
	Decision *consent.AccessRecord
	// Consent is the consent granted or revoked (its ID), and Granted the
	// consent itself for a grant.
	Consent ID
	Granted *consent.Consent
	// Custodial is, for EventCustodialGrant, the statement of who
	// recorded the consent on the patient's behalf, how it was captured
	// and the captured form's digest; Salt opens its commitment.
	Custodial *consent.CustodialStatement
	// Receipt proves the entry is in the log.
	Receipt *ledger.Receipt
	// ErasedKind is, for EventErased, the kind of the erased entry (its
	// leaf's; see KindName).
	ErasedKind ledger.Kind
	// Erasure is, for EventErased, the receipt of the erasure entry
	// (ledger.KindErasure) that deleted the entry's details.
	Erasure *ledger.Receipt
}

// ID is a consent ID as a string (consent.ID's String form).
type ID = string

// ContentBound reports whether the event's details are bound to its leaf
// by a salted commitment that a verifier with the report alone can check
// (anchors, accesses and custodial grants, whose commitment binds the
// consent's ID). Patients' consent grants, revocations and decisions are
// sealed on the log: their receipts and signatures verify offline, their
// details only by the deployment that can open them (consent.Registry.Reevaluate).
func (e *Event) ContentBound() bool { return e.Anchor != nil || e.Access != nil || e.Custodial != nil }

// OnBehalf reports an event recorded by a custodian on the patient's
// behalf (a custodial grant or revocation), or a decision that relied on
// such a consent.
func (e *Event) OnBehalf() bool {
	return e.Type == EventCustodialGrant || e.Type == EventCustodialRevoke || e.Decision != nil && e.Decision.Decision.Custodial()
}

// Report is everything the ledger holds about one patient, in time order.
type Report struct {
	// Patient is the patient's DID.
	Patient string
	// Generated is when the report was built.
	Generated time.Time
	// Events are the patient's entries, ordered by time, then index.
	Events []Event
}

// Report builds the patient's report: every anchor, access, consent grant
// and revocation, consent decision and break-glass event filed under the
// patient's tag, each with a receipt against the latest checkpoint, in
// time order (ties by log index). Entries under the tag that do not open
// or do not match their commitment are left out, as consent leaves out
// entries that fail its checks: anyone can append under a tag. An entry
// of one of these kinds whose details an erasure deleted is an
// EventErased, with the erasure's receipt (consent lists erased consent
// and decision entries after checking their writer's signature).
// Erasure never makes the report fail.
func (s *Service) Report(ctx context.Context, patient string) (*Report, error) {
	rep := &Report{Patient: patient, Generated: s.cfg.Now().UTC()}
	hist, err := s.cfg.Registry.History(ctx, patient)
	if err != nil {
		return nil, err
	}
	for _, h := range hist {
		if h.Erased != nil {
			rep.Events = append(rep.Events, erasedEvent(h.Index, h.Receipt, h.Erased))
			continue
		}
		ev := Event{Index: h.Index, Type: EventConsentGrant, Time: h.Time, Writer: h.Writer, Consent: h.Consent.String(),
			Granted: h.Granted, Receipt: h.Receipt}
		switch h.Kind {
		case consent.KindConsentRevoked:
			ev.Type = EventConsentRevoke
		case consent.KindCustodialRevoked:
			ev.Type = EventCustodialRevoke
		case consent.KindCustodialGranted:
			st := h.Custodial.Statement
			ev.Type, ev.Custodial, ev.Salt = EventCustodialGrant, &st, h.Custodial.Salt
		}
		rep.Events = append(rep.Events, ev)
	}
	acc, err := s.cfg.Registry.AccessReport(ctx, patient)
	if err != nil {
		return nil, err
	}
	for _, a := range acc {
		if a.Erased != nil {
			rep.Events = append(rep.Events, erasedEvent(a.Index, a.Receipt, a.Erased))
			continue
		}
		ev := Event{Index: a.Index, Type: EventDecision, Time: a.Record.Request.Time, Writer: a.Recorder,
			Decision: a.Record, Receipt: a.Receipt}
		if a.Record.Decision.BreakGlass {
			ev.Type = EventBreakGlass
		}
		rep.Events = append(rep.Events, ev)
	}
	if err := s.recordEvents(ctx, patient, rep); err != nil {
		return nil, err
	}
	slices.SortFunc(rep.Events, func(a, b Event) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmpUint(a.Index, b.Index)
	})
	return rep, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// recordEvents adds the patient's anchor and access entries.
func (s *Service) recordEvents(ctx context.Context, patient string, rep *Report) error {
	const page = 256
	tag, err := s.cfg.Registry.SubjectTag(patient)
	if err != nil {
		return err
	}
	for start := uint64(0); start < math.MaxUint64; {
		idx, err := s.cfg.Log.BySubject(ctx, tag, start, page)
		if err != nil {
			return err
		}
		for _, i := range idx {
			start = i + 1
			ev, ok, err := s.recordEvent(ctx, patient, i)
			if err != nil {
				return err
			}
			if ok {
				rep.Events = append(rep.Events, ev)
			}
		}
		if len(idx) < page {
			return nil
		}
	}
	return nil
}

func (s *Service) recordEvent(ctx context.Context, patient string, i uint64) (Event, bool, error) {
	e, err := s.cfg.Log.Entry(ctx, i)
	if err != nil {
		if ee := asErased(err); ee != nil {
			return s.erasedRecordEvent(ctx, ee)
		}
		return Event{}, false, err
	}
	if e.Kind != ledger.KindRecordAnchored && e.Kind != ledger.KindRecordAccessed {
		return Event{}, false, nil
	}
	w, err := s.open(ctx, e)
	if err != nil {
		return Event{}, false, nil
	}
	ev := Event{Index: i, Time: e.Time, Writer: e.Writer}
	var c ledger.Digest
	switch {
	case e.Kind == ledger.KindRecordAnchored && w.Anchor != nil:
		st, salt, err := w.Anchor.statement()
		if err != nil {
			return Event{}, false, nil
		}
		ev.Type, ev.Anchor, ev.Salt = EventAnchor, &st, salt
		c, err = st.Commitment(salt)
		if err != nil || st.Patient != patient {
			return Event{}, false, nil
		}
	case e.Kind == ledger.KindRecordAccessed && w.Access != nil:
		st, salt, err := w.Access.statement()
		if err != nil {
			return Event{}, false, nil
		}
		ev.Type, ev.Access, ev.Salt = EventAccess, &st, salt
		if st.BreakGlass {
			ev.Type = EventBreakGlassAccess
		}
		c, err = st.Commitment(salt)
		if err != nil || st.Patient != patient {
			return Event{}, false, nil
		}
	default:
		return Event{}, false, nil
	}
	if c != e.Digest {
		return Event{}, false, nil
	}
	if ev.Receipt, err = s.cfg.Log.Receipt(ctx, i); err != nil {
		return Event{}, false, err
	}
	return ev, true, nil
}

// Verification is the result of checking one event of a report offline.
type Verification struct {
	// Index is the event's log index.
	Index uint64
	// Err is nil when the receipt verified against the log's key, the
	// entry is the event's kind and time, its writer's signature verified,
	// and (for anchors and accesses) its commitment opens to the event's
	// statement under the event's salt.
	Err error
	// ContentBound reports that the event's details were checked against
	// the leaf (anchors and accesses); for sealed consent entries only the
	// inclusion, kind, time and signature were.
	ContentBound bool
}

// Verify checks every event of the report with only public keys: the
// log's (through v) and the writers' (through keys, for example a KeyRing).
// It also checks that each access names a decision present in the report
// and that every statement is about the report's patient (a decision
// shown as erased counts as present: its own row is checked). For an
// EventErased it checks the erased entry's leaf (receipt, kind, time,
// writer, signature) and that the erasure shown really erased it: its
// receipt and signature verify, it is a ledger.KindErasure entry after the
// erased one, and it covers it (same subject tag, index below its bound);
// otherwise the error is an *ErasureError. It returns one Verification
// per event, in order.
func (r *Report) Verify(ctx context.Context, v *ledger.Verifier, keys SignatureChecker) []Verification {
	decisions := map[uint64]bool{}
	for i := range r.Events {
		ev := &r.Events[i]
		switch {
		case ev.Decision != nil:
			decisions[ev.Index] = ev.Decision.Decision.Allowed
		case ev.Type == EventErased && ev.ErasedKind == consent.KindAccessDecided:
			// What the decision said is gone; its own row proves that it
			// existed and was erased, and an access is written only after
			// an allowed decision.
			decisions[ev.Index] = true
		}
	}
	out := make([]Verification, len(r.Events))
	erasures := map[string]checkedErasure{}
	for i := range r.Events {
		ev := &r.Events[i]
		out[i] = Verification{Index: ev.Index, ContentBound: ev.ContentBound(), Err: r.verifyEvent(ctx, ev, v, keys, decisions, erasures)}
	}
	return out
}

var eventKinds = map[EventType]ledger.Kind{
	EventAnchor: ledger.KindRecordAnchored, EventAccess: ledger.KindRecordAccessed,
	EventBreakGlassAccess: ledger.KindRecordAccessed, EventConsentGrant: consent.KindConsentGranted,
	EventConsentRevoke: consent.KindConsentRevoked, EventDecision: consent.KindAccessDecided,
	EventBreakGlass: consent.KindAccessDecided, EventCustodialGrant: consent.KindCustodialGranted,
	EventCustodialRevoke: consent.KindCustodialRevoked,
}

func (r *Report) verifyEvent(ctx context.Context, ev *Event, v *ledger.Verifier, keys SignatureChecker, decisions map[uint64]bool, erasures map[string]checkedErasure) error {
	if ev.Receipt == nil {
		return fmt.Errorf("%w: no receipt", ErrInvalidProof)
	}
	e, err := v.VerifyReceipt(ev.Receipt)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	kind := eventKinds[ev.Type]
	if ev.Type == EventErased {
		kind = ev.ErasedKind
	}
	switch {
	case ev.Receipt.Index != ev.Index:
		return &MismatchError{Field: "index"}
	case kind != e.Kind:
		return &MismatchError{Field: "kind"}
	case !e.Time.Equal(ev.Time):
		return &MismatchError{Field: "time"}
	case e.Writer != ev.Writer:
		return &MismatchError{Field: "writer"}
	}
	if err := checkLeafSignature(ctx, ev.Receipt.Leaf, keys); err != nil {
		return err
	}
	var c ledger.Digest
	switch {
	case ev.Type == EventErased:
		return verifyErasure(ctx, ev, e, v, keys, erasures)
	case ev.Anchor != nil:
		if ev.Anchor.Patient != r.Patient {
			return &MismatchError{Field: "patient"}
		}
		c, err = ev.Anchor.Commitment(ev.Salt)
	case ev.Access != nil:
		if ev.Access.Patient != r.Patient {
			return &MismatchError{Field: "patient"}
		}
		if allowed, ok := decisions[ev.Access.DecisionIndex]; !ok || !allowed {
			return &MismatchError{Field: "decision"}
		}
		c, err = ev.Access.Commitment(ev.Salt)
	case ev.Custodial != nil:
		if err := r.verifyCustodial(ev); err != nil {
			return err
		}
		c, err = ev.Custodial.Commitment(ev.Salt)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if c != e.Digest {
		return &MismatchError{Field: "commitment"}
	}
	return nil
}

// verifyCustodial checks a custodial grant's statement against the report:
// its patient, its custodian (the entry's writer) and the consent shown,
// whose ID the statement commits to.
func (r *Report) verifyCustodial(ev *Event) error {
	st := ev.Custodial
	switch {
	case st.Patient != r.Patient:
		return &MismatchError{Field: "patient"}
	case st.Custodian != ev.Writer:
		return &MismatchError{Field: "custodian"}
	case ev.Granted == nil || ev.Consent != st.Consent.String():
		return &MismatchError{Field: "consent"}
	}
	if id, err := ev.Granted.ID(); err != nil || id != st.Consent {
		return &MismatchError{Field: "consent"}
	}
	return nil
}
