package fhir

import (
	"github.com/healthledger/healthledger/consent"
)

func (imp *importer) r4(o *object) (*consent.Consent, error) {
	c := &consent.Consent{}
	var err error
	if c.Status, err = imp.status(o); err != nil {
		return nil, err
	}
	pat, ok := o.take("patient")
	if !ok {
		return nil, &consent.ValidationError{Path: "Consent.patient", Err: consent.ErrInvalidConsent}
	}
	r, err := imp.reference(pat, "Consent.patient")
	if err != nil {
		return nil, err
	}
	c.Patient = r.did
	if c.Grantors, err = imp.references(o, "performer"); err != nil {
		return nil, err
	}
	if err := r4Scope(o); err != nil {
		return nil, err
	}
	o.skip("dateTime", "organization", "sourceAttachment", "sourceReference")
	if c.PolicyBasis, err = imp.r4Policy(o); err != nil {
		return nil, err
	}
	root, err := o.child("provision")
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, &consent.ValidationError{Path: "Consent.provision", Err: consent.ErrInvalidConsent}
	}
	p, typ, err := imp.r4Provision(root, 0, 1)
	if err != nil {
		return nil, err
	}
	if onlyPeriod(&p) {
		// The root states the base decision for its period.
		c.Decision, c.Period, c.Provisions = typ, p.Period, p.Provisions
	} else {
		// The root is itself an exception to the opposite decision.
		c.Decision = consent.Deny
		if typ == consent.Deny {
			c.Decision = consent.Permit
		}
		c.Provisions = []consent.Provision{p}
	}
	return c, root.done()
}

func onlyPeriod(p *consent.Provision) bool {
	return len(p.Actors) == 0 && len(p.Actions) == 0 && len(p.Purposes) == 0 && len(p.DataClasses) == 0 &&
		len(p.Labels) == 0 && len(p.Codes) == 0 && p.DataPeriod.IsZero() && len(p.Resources) == 0
}

func r4Scope(o *object) error {
	raw, ok := o.take("scope")
	if !ok {
		return nil
	}
	cs, err := codeableConcept(raw, "Consent.scope")
	if err != nil {
		return err
	}
	for _, c := range cs {
		switch c.Code {
		case "patient-privacy", "treatment", "research":
		case "adr":
			return unsupported("Consent.scope", "advance directives are not supported")
		default:
			return &consent.ValidationError{Path: "Consent.scope", Err: consent.ErrUnknownCode}
		}
	}
	return nil
}

// r4Policy returns the policy URI, or the policyRule as system#code.
func (imp *importer) r4Policy(o *object) (string, error) {
	arr, err := o.array("policy")
	if err != nil {
		return "", err
	}
	if len(arr) > 1 {
		return "", unsupported("Consent.policy", "more than one policy")
	}
	var basis string
	if len(arr) == 1 {
		if basis, err = imp.policyURI(arr[0], "Consent.policy", "uri"); err != nil {
			return "", err
		}
	}
	if raw, ok := o.take("policyRule"); ok {
		cs, err := codeableConcept(raw, "Consent.policyRule")
		if err != nil {
			return "", err
		}
		if basis == "" {
			basis = cs[0].System + "#" + cs[0].Code
		}
	}
	return basis, nil
}

// r4Provision parses an R4 provision whose parent has type parent (0 for
// the root); a nested provision must have the opposite type.
func (imp *importer) r4Provision(o *object, parent consent.Effect, depth int) (consent.Provision, consent.Effect, error) {
	var p consent.Provision
	if depth > consent.MaxDepth+1 {
		return p, 0, &consent.ValidationError{Path: o.path, Err: consent.ErrTooDeep}
	}
	typ := consent.NoConsent
	if raw, ok := o.take("type"); ok {
		var err error
		if typ, err = effect(raw, o.path+".type"); err != nil {
			return p, 0, err
		}
	}
	switch {
	case parent == consent.NoConsent && typ == consent.NoConsent:
		return p, 0, &consent.ValidationError{Path: o.path + ".type", Err: consent.ErrInvalidConsent}
	case parent != consent.NoConsent && typ == parent:
		return p, 0, &consent.ValidationError{Path: o.path + ".type", Err: consent.ErrContradictoryProvision}
	case typ == consent.NoConsent:
		typ = consent.Permit
		if parent == consent.Permit {
			typ = consent.Deny
		}
	}
	if err := imp.criteria(o, &p, "class"); err != nil {
		return p, 0, err
	}
	arr, err := o.array("provision")
	if err != nil {
		return p, 0, err
	}
	for _, raw := range arr {
		co, err := parseObject(raw, o.path+".provision")
		if err != nil {
			return p, 0, err
		}
		cp, _, err := imp.r4Provision(co, typ, depth+1)
		if err != nil {
			return p, 0, err
		}
		if err := co.done(); err != nil {
			return p, 0, err
		}
		p.Provisions = append(p.Provisions, cp)
	}
	return p, typ, nil
}
