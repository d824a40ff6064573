package consent

import (
	"context"
	"fmt"
	"time"

	"github.com/healthledger/healthledger/ledger"
)

// CustodialGrantEntry returns the unsigned entry by which custodian records
// c on the patient's behalf at time at, and the proof of what it commits
// to (statement and a fresh salt; its Receipt is nil until the entry is
// submitted: set it to what [Registry.Submit] returns, or get the whole
// proof later with [Registry.CustodialProof]). The form's bytes are
// hashed, never stored. The custodian signs the entry (for example with
// identity.Holder.SignEntry) before Submit; it counts only where the
// RegistryConfig.Custodial policy trusts the custodian.
func (r *Registry) CustodialGrantEntry(ctx context.Context, c *Consent, custodian string, capture Capture, at time.Time) (*ledger.Entry, *CustodialProof, error) {
	id, err := c.ID()
	if err != nil {
		return nil, nil, err
	}
	salt, err := newSalt()
	if err != nil {
		return nil, nil, err
	}
	g := CustodialGrant{Consent: *c, Salt: salt, Statement: CustodialStatement{
		Patient: c.Patient, Custodian: custodian, Consent: id, Method: capture.Method, Witness: capture.Witness,
		CapturedAt: capture.CapturedAt.UTC(), MediaType: capture.MediaType, FormDigest: DigestForm(capture.Form),
	}}
	if capture.CapturedAt.After(at) {
		return nil, nil, invalid("custodial.capturedAt", ErrInvalidConsent)
	}
	body, err := g.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	commitment, err := g.Statement.Commitment(salt)
	if err != nil {
		return nil, nil, err
	}
	e, err := r.entry(ctx, KindCustodialGranted, c.Patient, custodian, at, body)
	if err != nil {
		return nil, nil, err
	}
	// The Digest commits to the statement, not to the sealed body (which
	// the leaf's payload commitment binds), so that whoever holds the
	// statement and salt can check the form against the leaf.
	e.Digest = commitment
	return e, &CustodialProof{Statement: g.Statement, Salt: salt}, nil
}

// CustodialRevocationEntry returns the unsigned entry by which custodian
// withdraws a custodial consent it recorded for patient. A custodian
// cannot revoke a consent the patient signed, nor one another custodian
// recorded; the patient revokes any consent with [Registry.RevocationEntry].
func (r *Registry) CustodialRevocationEntry(ctx context.Context, patient, custodian string, id ID, at time.Time) (*ledger.Entry, error) {
	body, err := (&Revocation{Patient: patient, Consent: id}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	return r.entry(ctx, KindCustodialRevoked, patient, custodian, at, body)
}

// CustodialProof returns the proof of the custodial grant entry at index:
// its statement and salt, opened from the sealed payload, with a receipt
// against the latest checkpoint. It checks that the entry is a custodial
// grant whose commitment opens to the statement, not the policy rules.
func (r *Registry) CustodialProof(ctx context.Context, index uint64) (*CustodialProof, error) {
	e, err := r.cfg.Log.Entry(ctx, index)
	if err != nil {
		return nil, err
	}
	if e.Kind != KindCustodialGranted {
		return nil, &FormMismatchError{Field: "kind"}
	}
	g, err := r.openCustodialGrant(ctx, e)
	if err != nil {
		return nil, err
	}
	rcpt, err := r.cfg.Log.Receipt(ctx, index)
	if err != nil {
		return nil, err
	}
	return &CustodialProof{Statement: g.Statement, Salt: g.Salt, Receipt: rcpt}, nil
}

// entryPatient returns the patient a grant or revocation entry is about:
// its writer for the patient's own entries, the patient its body names for
// custodial ones (whose writer is the custodian).
func (r *Registry) entryPatient(ctx context.Context, e *ledger.Entry) (string, error) {
	switch e.Kind {
	case KindCustodialGranted:
		g, err := r.openCustodialGrant(ctx, e)
		if err != nil {
			return "", err
		}
		return g.Statement.Patient, nil
	case KindCustodialRevoked:
		body, err := r.open(ctx, e)
		if err != nil {
			return "", err
		}
		rv, err := UnmarshalRevocation(body)
		if err != nil {
			return "", err
		}
		return rv.Patient, nil
	}
	return e.Writer, nil
}

// openCustodialGrant opens and decodes a custodial grant's payload and
// checks that the entry's Digest is the commitment to its statement.
func (r *Registry) openCustodialGrant(ctx context.Context, e *ledger.Entry) (*CustodialGrant, error) {
	if e.Payload == nil || e.Payload.Commitment() != e.PayloadCommitment {
		return nil, invalid("payload", ErrMalformed)
	}
	body := e.Payload.Data
	if r.cfg.Sealer != nil {
		b, err := r.cfg.Sealer.Open(ctx, e.Subject, bodyAssociatedData(e.Kind, e.Time), body)
		if err != nil {
			return nil, fmt.Errorf("consent: opening body: %w", err)
		}
		body = b
	}
	g, err := UnmarshalCustodialGrant(body)
	if err != nil {
		return nil, err
	}
	c, err := g.Statement.Commitment(g.Salt)
	if err != nil {
		return nil, err
	}
	if c != e.Digest {
		return nil, invalid("digest", ErrMalformed)
	}
	return g, nil
}

// checkCustodial checks a custodial grant or revocation against the
// policy and the patient's state (SPEC.md, rules C1 to C8).
func (r *Registry) checkCustodial(ctx context.Context, patient string, tag ledger.SubjectTag, st *patientState, e *ledger.Entry) (grant, error) {
	pol := &r.cfg.Custodial
	if !pol.Accept {
		return grant{}, custodialErr("C1", ErrCustodialNotAccepted)
	}
	if !pol.trusts(e.Writer) || e.Writer == patient {
		return grant{}, custodialErr("C2", ErrUntrustedCustodian)
	}
	if e.Subject != tag || len(e.Signature) == 0 {
		return grant{}, custodialErr("C3", ErrNotSignedByCustodian)
	}
	msg, err := e.SignedMessage()
	if err != nil {
		return grant{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := r.cfg.Checker.CheckSignature(ctx, e.Writer, msg, e.Signature, e.Time); err != nil {
		return grant{}, fmt.Errorf("%w: %w", custodialErr("C3", ErrNotSignedByCustodian), err)
	}
	if e.Kind == KindCustodialRevoked {
		return r.checkCustodialRevocation(ctx, patient, st, e)
	}
	g, err := r.openCustodialGrant(ctx, e)
	if err != nil {
		return grant{}, err
	}
	s := &g.Statement
	switch i := st.find(s.Consent); {
	case s.Patient != patient || s.Custodian != e.Writer:
		return grant{}, invalid("custodial", ErrMalformed)
	case s.CapturedAt.After(e.Time):
		return grant{}, invalid("custodial.capturedAt", ErrInvalidConsent)
	case st.patientRevoked[s.Consent]:
		return grant{}, custodialErr("C4", ErrPatientPrecedence)
	case i >= 0 && st.grants[i].cust == nil:
		return grant{}, custodialErr("C5", ErrPatientPrecedence)
	}
	if at, ok := st.revokedAt[s.Consent]; ok && !e.Time.After(at) {
		return grant{}, ErrOutOfOrder
	}
	return grant{id: s.Consent, consent: g.Consent, cust: g}, nil
}

func (r *Registry) checkCustodialRevocation(ctx context.Context, patient string, st *patientState, e *ledger.Entry) (grant, error) {
	body, err := r.open(ctx, e)
	if err != nil {
		return grant{}, err
	}
	rv, err := UnmarshalRevocation(body)
	if err != nil {
		return grant{}, err
	}
	i := st.find(rv.Consent)
	switch {
	case rv.Patient != patient || i < 0:
		return grant{}, ErrUnknownConsent
	case st.grants[i].cust == nil:
		return grant{}, custodialErr("C6", ErrPatientPrecedence)
	case st.grants[i].cust.Statement.Custodian != e.Writer:
		return grant{}, custodialErr("C7", ErrNotOwnConsent)
	}
	return grant{id: rv.Consent}, nil
}
