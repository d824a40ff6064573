package consent

import (
	"context"
	"fmt"
	"math"

	"github.com/healthledger/healthledger/ledger"
)

// Access is a decision recorded on the ledger.
type Access struct {
	// Decision is the decision. Act on Decision.Allowed only when Authorize
	// returned no error.
	Decision Decision
	// Receipt proves the access entry is in the log.
	Receipt *ledger.Receipt
}

// Active returns the IDs and consents of a patient's active grants, in
// ledger order, loading the patient from the ledger if needed. Custodial
// consents that count are included; [Registry.History] tells them apart.
func (r *Registry) Active(ctx context.Context, patient string) ([]ID, []Consent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.loadLocked(ctx, patient)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]ID, len(st.grants))
	cs := make([]Consent, len(st.grants))
	for i, g := range st.grants {
		ids[i], cs[i] = g.id, g.consent
	}
	return ids, cs, nil
}

// Authorize decides req and records the decision on the ledger as an
// access entry signed by the Recorder, under the patient's subject tag. It
// fails closed: if the decision cannot be recorded, the returned decision
// is not allowed and the error wraps ErrAuditRequired. A decision with
// BreakGlass set carries the obligation to notify the patient; the access
// entry is the audit record that flags it.
func (r *Registry) Authorize(ctx context.Context, req *Request) (*Access, error) {
	if r.cfg.Recorder == nil {
		return &Access{}, fmt.Errorf("%w: %w: RegistryConfig.Recorder is not set", ErrAuditRequired, ErrInvalidConfig)
	}
	a := &Access{}
	if err := req.validate(); err != nil {
		return a, err
	}
	// The index carries the consent state it was compiled from, so the
	// state recorded is exactly the one the decision used.
	idx, err := r.index(ctx, req.Patient)
	if err != nil {
		return a, err
	}
	if err := r.base.decide(idx, req, &a.Decision); err != nil {
		return a, err
	}
	rec := AccessRecord{Request: *req, Decision: a.Decision, ConsentState: idx.state}
	body, err := rec.MarshalBinary()
	if err == nil {
		var e *ledger.Entry
		if e, err = r.entry(ctx, KindAccessDecided, req.Patient, "", req.Time, body); err == nil {
			if err = r.cfg.Recorder.SignEntry(e); err == nil {
				a.Receipt, err = r.cfg.Log.Append(ctx, e)
			}
		}
	}
	if err != nil {
		a.Decision.Allowed = false
		return a, fmt.Errorf("%w: %w", ErrAuditRequired, err)
	}
	return a, nil
}

// Reevaluation is the result of re-evaluating a recorded decision.
type Reevaluation struct {
	// Index is the access entry's index.
	Index uint64
	// Recorder is the DID that recorded the decision.
	Recorder string
	// Record is the recorded request and decision.
	Record *AccessRecord
	// Recomputed is the decision re-evaluated from the ledger.
	Recomputed Decision
}

// Reevaluate reads the access entry at index, checks its recorder's
// signature, rebuilds the patient's consents from the ledger as they were
// when the decision was made (the grant and revocation entries below the
// record's ConsentState), decides the recorded request again and compares.
// A different answer is an error wrapping ErrDecisionMismatch, returned
// with both decisions. If a grant or revocation below ConsentState was
// erased after the decision (by an erasure entry at a higher index), the
// consents it used cannot be rebuilt: the error wraps ErrConsentErased
// and that entry's *ledger.ErasedError, and the Reevaluation holds the
// record only. An erased access entry fails with its *ledger.ErasedError.
func (r *Registry) Reevaluate(ctx context.Context, index uint64) (*Reevaluation, error) {
	e, err := r.cfg.Log.Entry(ctx, index)
	if err != nil {
		return nil, err
	}
	rec, err := r.accessRecord(ctx, e)
	if err != nil {
		return nil, err
	}
	if rec.ConsentState > index {
		return nil, invalid("consentState", ErrMalformed)
	}
	st := &patientState{trackErased: true}
	ev, err := r.replay(ctx, rec.Request.Patient, st, rec.ConsentState)
	if err != nil {
		return nil, err
	}
	re := &Reevaluation{Index: index, Recorder: e.Writer, Record: rec}
	if err := r.consentErased(ctx, rec.Request.Patient, st, index); err != nil {
		return re, err
	}
	if err := ev.DecideInto(&rec.Request, &re.Recomputed); err != nil {
		return re, err
	}
	if !sameDecision(&rec.Decision, &re.Recomputed) {
		return re, fmt.Errorf("%w: entry %d", ErrDecisionMismatch, index)
	}
	return re, nil
}

// accessRecord verifies and decodes an access entry.
func (r *Registry) accessRecord(ctx context.Context, e *ledger.Entry) (*AccessRecord, error) {
	if e.Kind != KindAccessDecided {
		return nil, ErrNotAccessEntry
	}
	msg, err := e.SignedMessage()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(e.Signature) == 0 {
		return nil, ErrRecorderSignature
	}
	if err := r.cfg.Checker.CheckSignature(ctx, e.Writer, msg, e.Signature, e.Time); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecorderSignature, err)
	}
	body, err := r.open(ctx, e)
	if err != nil {
		return nil, err
	}
	rec, err := UnmarshalAccessRecord(body)
	if err != nil {
		return nil, err
	}
	if tag, err := r.SubjectTag(rec.Request.Patient); err != nil || tag != e.Subject {
		return nil, invalid("subject", ErrMalformed)
	}
	return rec, nil
}

// AccessReportItem is one access to a patient's data.
type AccessReportItem struct {
	// Index is the access entry's index in the log.
	Index uint64
	// Recorder is the DID of the service that decided and recorded.
	Recorder string
	// Record holds who asked for what, why, and the decision (with the
	// consents it relied on). Record.Decision.BreakGlass flags accesses the
	// patient must be notified of.
	Record *AccessRecord
	// Receipt proves the entry is in the log; verify it with a
	// ledger.Verifier holding the log's key.
	Receipt *ledger.Receipt
	// Erased is set, and Record nil, when an erasure deleted the access
	// entry's payload: the decision is gone, the leaf (recorder, time,
	// signature) and Receipt remain, and Erased says which erasure.
	Erased *ErasedEntry
}

// AccessReport lists the recorded access decisions about a patient's data,
// in ledger order, each with a receipt against the latest checkpoint.
// Entries under the patient's tag that do not verify are skipped. An
// access entry whose payload was erased is listed with Erased set and no
// Record (callers must check), if its leaf is an access entry whose
// recorder's signature verifies; erasure never makes the report fail.
func (r *Registry) AccessReport(ctx context.Context, patient string) ([]AccessReportItem, error) {
	const page = 256
	tag, err := r.SubjectTag(patient)
	if err != nil {
		return nil, err
	}
	var out []AccessReportItem
	for start := uint64(0); start < math.MaxUint64; {
		idx, err := r.cfg.Log.BySubject(ctx, tag, start, page)
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			start = i + 1
			e, err := r.cfg.Log.Entry(ctx, i)
			if ee := asErased(err); ee != nil {
				rcpt, x, err := r.erasedLeaf(ctx, patient, ee, func(k ledger.Kind) bool { return k == KindAccessDecided })
				if err != nil {
					return nil, err
				}
				if x != nil {
					out = append(out, AccessReportItem{Index: i, Recorder: x.Writer, Receipt: rcpt, Erased: x})
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			if e.Kind != KindAccessDecided {
				continue
			}
			rec, err := r.accessRecord(ctx, e)
			if err != nil || rec.Request.Patient != patient {
				r.debug("consent: skipping access entry", "index", i)
				continue
			}
			rcpt, err := r.cfg.Log.Receipt(ctx, i)
			if err != nil {
				return nil, err
			}
			out = append(out, AccessReportItem{Index: i, Recorder: e.Writer, Record: rec, Receipt: rcpt})
		}
		if len(idx) < page {
			break
		}
	}
	return out, nil
}
