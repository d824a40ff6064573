package consent

import (
	"context"
	"errors"
	"time"

	"github.com/healthledger/healthledger/ledger"
)

// HistoryItem is one grant or revocation of a patient's consent, as
// applied on replay.
type HistoryItem struct {
	// Index is the entry's log index.
	Index uint64
	// Kind is KindConsentGranted or KindConsentRevoked (written by the
	// patient), KindCustodialGranted or KindCustodialRevoked (written by a
	// custodian on the patient's behalf).
	Kind ledger.Kind
	// Writer is the entry's writer: the patient, or the custodian.
	Writer string
	// Time is the entry's time.
	Time time.Time
	// Consent is the ID of the consent granted or revoked.
	Consent ID
	// Granted is the consent, for a grant.
	Granted *Consent
	// Custodial is the proof of a custodial grant (statement, salt and
	// Receipt): how and by whom the consent was captured.
	Custodial *CustodialProof
	// Receipt proves the entry is in the log.
	Receipt *ledger.Receipt
	// RevokesErased marks a revocation that names a consent whose grant
	// was erased: signed and readable, listed, but not applied (there was
	// nothing left to revoke).
	RevokesErased bool
	// Erased is set when an erasure deleted the entry's payload: Kind,
	// Writer, Time and Receipt come from its leaf; Consent, Granted and
	// Custodial are zero, the entry no longer counts, and Erased says
	// which erasure deleted it.
	Erased *ErasedEntry
}

// History lists the patient's valid grant and revocation entries in ledger
// order, each with a receipt, replaying them exactly as the evaluator does
// (entries that fail a check are left out, as on replay). It is what a
// patient report lists next to AccessReport. A grant or revocation whose
// payload was erased is listed with Erased set (if its leaf passes the
// checks that need no payload: the writer's right to write it and its
// signature); it was not applied. A revocation that checks out except that
// the consent it names is unknown is listed with RevokesErased, when a
// grant before it was erased: it most likely revoked that grant.
func (r *Registry) History(ctx context.Context, patient string) ([]HistoryItem, error) {
	const page = 256
	tag, err := r.SubjectTag(patient)
	if err != nil {
		return nil, err
	}
	st := &patientState{}
	var out []HistoryItem
	erasedGrant := false // a grant listed as erased
	for {
		idx, err := r.cfg.Log.BySubject(ctx, tag, st.next, page)
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			st.next = i + 1
			e, err := r.cfg.Log.Entry(ctx, i)
			if ee := asErased(err); ee != nil {
				rcpt, x, err := r.erasedLeaf(ctx, patient, ee, isConsentKind)
				if err != nil {
					return nil, err
				}
				if x != nil {
					out = append(out, HistoryItem{Index: i, Kind: x.Kind, Writer: x.Writer, Time: x.Time, Receipt: rcpt, Erased: x})
					erasedGrant = erasedGrant || x.Kind == KindConsentGranted || x.Kind == KindCustodialGranted
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			if !isConsentKind(e.Kind) {
				continue
			}
			g, err := r.check(ctx, patient, st, e)
			if err != nil {
				if id, ok := r.revokesErased(ctx, patient, e, err, erasedGrant); ok {
					rcpt, err := r.cfg.Log.Receipt(ctx, i)
					if err != nil {
						return nil, err
					}
					out = append(out, HistoryItem{Index: i, Kind: e.Kind, Writer: e.Writer, Time: e.Time, Consent: id, Receipt: rcpt, RevokesErased: true})
				}
				continue
			}
			st.apply(e, g, i)
			rcpt, err := r.cfg.Log.Receipt(ctx, i)
			if err != nil {
				return nil, err
			}
			item := HistoryItem{Index: i, Kind: e.Kind, Writer: e.Writer, Time: e.Time, Consent: g.id, Receipt: rcpt}
			if e.Kind == KindConsentGranted || e.Kind == KindCustodialGranted {
				c := g.consent
				item.Granted = &c
			}
			if e.Kind == KindCustodialGranted {
				item.Custodial = &CustodialProof{Statement: g.cust.Statement, Salt: g.cust.Salt, Receipt: rcpt}
			}
			out = append(out, item)
		}
		if len(idx) < page {
			return out, nil
		}
	}
}

// revokesErased returns the consent named by e, a revocation that the
// replay refused (err) only because it names no active consent, when a
// grant was erased before it (erasedGrant).
func (r *Registry) revokesErased(ctx context.Context, patient string, e *ledger.Entry, err error, erasedGrant bool) (ID, bool) {
	if !erasedGrant || !errors.Is(err, ErrUnknownConsent) || e.Kind != KindConsentRevoked && e.Kind != KindCustodialRevoked {
		return ID{}, false
	}
	body, err := r.open(ctx, e)
	if err != nil {
		return ID{}, false
	}
	rv, err := UnmarshalRevocation(body)
	if err != nil || rv.Patient != patient {
		return ID{}, false
	}
	return rv.Consent, true
}
