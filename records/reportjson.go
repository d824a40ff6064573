package records

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/ledger"
)

// ReportFormat names the JSON report format of SPEC.md, "Report JSON".
const ReportFormat = "healthledger/records/report/v1"

type wireReport struct {
	Format    string      `json:"format"`
	Patient   string      `json:"patient"`
	Generated time.Time   `json:"generated"`
	Events    []wireEvent `json:"events"`
}

type wireEvent struct {
	Index    uint64      `json:"index"`
	Type     EventType   `json:"type"`
	Time     time.Time   `json:"time"`
	Writer   string      `json:"writer"`
	Anchor   *wireAnchor `json:"anchor,omitempty"`
	Access   *wireAccess `json:"access,omitempty"`
	Decision string      `json:"decision,omitempty"`
	Consent  string      `json:"consent,omitempty"`
	Granted  string      `json:"granted,omitempty"`
	// Custodial is a custodial grant's statement and salt (no receipt:
	// the event's is the one).
	Custodial *consent.CustodialProof `json:"custodial,omitempty"`
	Receipt   string                  `json:"receipt"`
	// Erased is an erased event's leaf kind and erasure receipt.
	Erased   *wireErased `json:"erased,omitempty"`
	Verified *wireCheck  `json:"verified,omitempty"`
}

type wireErased struct {
	Kind    ledger.Kind `json:"kind"`
	Erasure string      `json:"erasure,omitempty"`
}

type wireCheck struct {
	OK           bool   `json:"ok"`
	ContentBound bool   `json:"contentBound"`
	Error        string `json:"error,omitempty"`
}

// MarshalJSON writes the report in the format of SPEC.md, "Report JSON":
// each event with its statement and salt (anchors, accesses) or the
// canonical encodings package consent defines (decisions, grants), and its
// receipt in the C2SP tlog-proof text format; an erased event with its
// leaf's kind and the erasure's receipt. It holds PHI: serve it only
// to the patient and their delegates.
func (r *Report) MarshalJSON() ([]byte, error) { return r.marshal(nil) }

// JSONWithVerification is MarshalJSON with each event's result of
// [Report.Verify] (one Verification per event, in order).
func (r *Report) JSONWithVerification(results []Verification) ([]byte, error) {
	if len(results) != len(r.Events) {
		return nil, fmt.Errorf("%w: one verification per event", ErrInvalidRequest)
	}
	return r.marshal(results)
}

func (r *Report) marshal(results []Verification) ([]byte, error) {
	w := wireReport{Format: ReportFormat, Patient: r.Patient, Generated: r.Generated, Events: make([]wireEvent, 0, len(r.Events))}
	for i := range r.Events {
		ev := &r.Events[i]
		we := wireEvent{Index: ev.Index, Type: ev.Type, Time: ev.Time, Writer: ev.Writer, Consent: ev.Consent}
		if ev.Anchor != nil {
			we.Anchor = ptr(ev.Anchor.wire(ev.Salt))
		}
		if ev.Access != nil {
			we.Access = ptr(ev.Access.wire(ev.Salt))
		}
		if ev.Decision != nil {
			b, err := ev.Decision.MarshalBinary()
			if err != nil {
				return nil, err
			}
			we.Decision = string(b)
		}
		if ev.Custodial != nil {
			we.Custodial = &consent.CustodialProof{Statement: *ev.Custodial, Salt: ev.Salt}
		}
		if ev.Granted != nil {
			b, err := ev.Granted.MarshalBinary()
			if err != nil {
				return nil, err
			}
			we.Granted = string(b)
		}
		if ev.Receipt != nil {
			t, err := ev.Receipt.MarshalText()
			if err != nil {
				return nil, err
			}
			we.Receipt = string(t)
		}
		if ev.Type == EventErased || ev.Erasure != nil {
			we.Erased = &wireErased{Kind: ev.ErasedKind}
			if ev.Erasure != nil {
				t, err := ev.Erasure.MarshalText()
				if err != nil {
					return nil, err
				}
				we.Erased.Erasure = string(t)
			}
		}
		if results != nil {
			c := &wireCheck{OK: results[i].Err == nil, ContentBound: results[i].ContentBound}
			if results[i].Err != nil {
				c.Error = results[i].Err.Error()
			}
			we.Verified = c
		}
		w.Events = append(w.Events, we)
	}
	return json.MarshalIndent(w, "", "  ")
}

// ParseReport reads a report written by MarshalJSON. It verifies nothing
// (use [Report.Verify]) and ignores recorded verification results: a
// verifier checks for itself.
func ParseReport(b []byte) (*Report, error) {
	var w wireReport
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if w.Format != ReportFormat {
		return nil, fmt.Errorf("%w: not a %s report", ErrMalformed, ReportFormat)
	}
	r := &Report{Patient: w.Patient, Generated: w.Generated}
	for _, we := range w.Events {
		ev := Event{Index: we.Index, Type: we.Type, Time: we.Time, Writer: we.Writer, Consent: we.Consent}
		var err error
		if we.Anchor != nil {
			var st AnchorStatement
			if st, ev.Salt, err = we.Anchor.statement(); err != nil {
				return nil, err
			}
			ev.Anchor = &st
		}
		if we.Access != nil {
			var st AccessStatement
			if st, ev.Salt, err = we.Access.statement(); err != nil {
				return nil, err
			}
			ev.Access = &st
		}
		if we.Decision != "" {
			if ev.Decision, err = consent.UnmarshalAccessRecord([]byte(we.Decision)); err != nil {
				return nil, fmt.Errorf("%w: decision: %w", ErrMalformed, err)
			}
		}
		if we.Custodial != nil {
			st := we.Custodial.Statement
			ev.Custodial, ev.Salt = &st, Salt(we.Custodial.Salt)
		}
		if we.Granted != "" {
			if ev.Granted, err = consent.UnmarshalConsent([]byte(we.Granted)); err != nil {
				return nil, fmt.Errorf("%w: consent: %w", ErrMalformed, err)
			}
		}
		if ev.Receipt, err = ledger.ParseReceipt([]byte(we.Receipt)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
		}
		if we.Erased != nil {
			ev.ErasedKind = we.Erased.Kind
			if we.Erased.Erasure != "" {
				if ev.Erasure, err = ledger.ParseReceipt([]byte(we.Erased.Erasure)); err != nil {
					return nil, fmt.Errorf("%w: erasure: %w", ErrInvalidProof, err)
				}
			}
		}
		r.Events = append(r.Events, ev)
	}
	return r, nil
}
