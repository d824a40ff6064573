package fhir

import (
	"github.com/healthledger/healthledger/consent"
)

func (imp *importer) r5(o *object) (*consent.Consent, error) {
	c := &consent.Consent{}
	var err error
	if c.Status, err = imp.status(o); err != nil {
		return nil, err
	}
	subj, ok := o.take("subject")
	if !ok {
		return nil, &consent.ValidationError{Path: "Consent.subject", Err: consent.ErrInvalidConsent}
	}
	r, err := imp.reference(subj, "Consent.subject")
	if err != nil {
		return nil, err
	}
	c.Patient = r.did
	if c.Grantors, err = imp.references(o, "grantor"); err != nil {
		return nil, err
	}
	if c.Grantees, err = imp.references(o, "grantee"); err != nil {
		return nil, err
	}
	if c.Period, err = period(o, "period"); err != nil {
		return nil, err
	}
	o.skip("date", "manager", "controller", "sourceAttachment", "sourceReference", "policyText", "regulatoryBasis")
	if pb, ok := o.take("policyBasis"); ok {
		if c.PolicyBasis, err = imp.policyURI(pb, "Consent.policyBasis", "url"); err != nil {
			return nil, err
		}
	}
	d, ok := o.take("decision")
	if !ok {
		return nil, &consent.ValidationError{Path: "Consent.decision", Err: ErrMissingDecision}
	}
	if c.Decision, err = effect(d, "Consent.decision"); err != nil {
		return nil, err
	}
	if c.Provisions, err = imp.r5Provisions(o, 1); err != nil {
		return nil, err
	}
	return c, nil
}
