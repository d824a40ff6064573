package fhir

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/healthledger/healthledger/consent"
)

// criteria parses the provision elements R4 and R5 share, plus the data
// class element of the version (class in R4, resourceType in R5).
func (imp *importer) criteria(o *object, p *consent.Provision, classKey string) error {
	var err error
	if p.Period, err = period(o, "period"); err != nil {
		return err
	}
	if p.DataPeriod, err = period(o, "dataPeriod"); err != nil {
		return err
	}
	steps := []func(*object, *consent.Provision) error{
		imp.actors, actions, labels, purposes,
		func(o *object, p *consent.Provision) error { return classes(o, p, classKey) },
		codes, data,
	}
	for _, step := range steps {
		if err := step(o, p); err != nil {
			return err
		}
	}
	return nil
}

func (imp *importer) actors(o *object, p *consent.Provision) error {
	arr, err := o.array("actor")
	if err != nil {
		return err
	}
	path := o.path + ".actor"
	for _, raw := range arr {
		a, err := parseObject(raw, path)
		if err != nil {
			return err
		}
		var m consent.ActorMatch
		if r, ok := a.take("reference"); ok {
			ref, err := imp.reference(r, path+".reference")
			if err != nil {
				return err
			}
			if ref.organization {
				m.Organization = ref.did
			} else {
				m.Reference = ref.did
			}
		}
		var roles []consent.Coding
		if r, ok := a.take("role"); ok {
			if roles, err = codeableConcept(r, path+".role"); err != nil {
				return err
			}
		}
		if err := a.done(); err != nil {
			return err
		}
		switch {
		case m != (consent.ActorMatch{}):
			// The role is the participation of the referenced actor.
			p.Actors = append(p.Actors, m)
		case len(roles) == 0:
			return &consent.ValidationError{Path: path, Err: consent.ErrInvalidConsent}
		default:
			// A role-based rule. The codings of one CodeableConcept are
			// alternative codes for the role: an actor holding any matches.
			p.Actors = appendRoles(p.Actors, roles)
		}
	}
	return nil
}

// appendRoles appends a role match for each distinct code of roles.
func appendRoles(ms []consent.ActorMatch, roles []consent.Coding) []consent.ActorMatch {
	for _, c := range roles {
		m := consent.ActorMatch{Role: c.Code}
		if !slices.Contains(ms, m) {
			ms = append(ms, m)
		}
	}
	return ms
}

func actions(o *object, p *consent.Provision) error {
	arr, err := o.array("action")
	if err != nil {
		return err
	}
	path := o.path + ".action"
	for _, raw := range arr {
		cs, err := codeableConcept(raw, path)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.System != "" && c.System != consent.SystemConsentAction {
				return &consent.ValidationError{Path: path + ".coding.system", Err: consent.ErrUnknownCode}
			}
			a, err := consent.ParseAction(c.Code)
			if err != nil {
				return &consent.ValidationError{Path: path + ".coding.code", Err: consent.ErrUnknownCode}
			}
			p.Actions = append(p.Actions, a)
		}
	}
	return nil
}

func codings(o *object, key string, each func(c consent.Coding, path string) error) error {
	arr, err := o.array(key)
	if err != nil {
		return err
	}
	path := o.path + "." + key
	for _, raw := range arr {
		c, err := coding(raw, path)
		if err != nil {
			return err
		}
		if err := each(c, path); err != nil {
			return err
		}
	}
	return nil
}

func labels(o *object, p *consent.Provision) error {
	return codings(o, "securityLabel", func(c consent.Coding, path string) error {
		l, err := consent.ParseLabel(c.System, c.Code)
		if err != nil {
			return &consent.ValidationError{Path: path, Err: consent.ErrUnknownCode}
		}
		p.Labels = append(p.Labels, l)
		return nil
	})
}

func purposes(o *object, p *consent.Provision) error {
	return codings(o, "purpose", func(c consent.Coding, path string) error {
		if c.System != "" && c.System != consent.SystemActReason {
			return &consent.ValidationError{Path: path + ".system", Err: consent.ErrUnknownCode}
		}
		u, err := consent.ParsePurpose(c.Code)
		if err != nil {
			return &consent.ValidationError{Path: path + ".code", Err: consent.ErrUnknownCode}
		}
		p.Purposes = append(p.Purposes, u)
		return nil
	})
}

// systemFHIRTypes is the R5 code system of resource type names (R5 binds
// provision.resourceType to it); R4 uses consent.SystemResourceTypes.
const systemFHIRTypes = "http://hl7.org/fhir/fhir-types"

func classes(o *object, p *consent.Provision, key string) error {
	return codings(o, key, func(c consent.Coding, path string) error {
		if c.System != consent.SystemResourceTypes && c.System != systemFHIRTypes {
			return unsupported(path, "only resource-type classes are supported")
		}
		if !consent.IsResourceType(c.Code) {
			return &consent.ValidationError{Path: path + ".code", Err: consent.ErrUnknownCode}
		}
		p.DataClasses = append(p.DataClasses, c.Code)
		return nil
	})
}

func codes(o *object, p *consent.Provision) error {
	arr, err := o.array("code")
	if err != nil {
		return err
	}
	for _, raw := range arr {
		cs, err := codeableConcept(raw, o.path+".code")
		if err != nil {
			return err
		}
		p.Codes = append(p.Codes, cs...)
	}
	return nil
}

func data(o *object, p *consent.Provision) error {
	arr, err := o.array("data")
	if err != nil {
		return err
	}
	path := o.path + ".data"
	for _, raw := range arr {
		d, err := parseObject(raw, path)
		if err != nil {
			return err
		}
		meaning, _, err := d.str("meaning")
		if err != nil {
			return err
		}
		if meaning != "instance" {
			return unsupported(path+".meaning", "only instance is supported")
		}
		rr, ok := d.take("reference")
		if !ok {
			return &consent.ValidationError{Path: path + ".reference", Err: consent.ErrInvalidConsent}
		}
		r, err := parseObject(rr, path+".reference")
		if err != nil {
			return err
		}
		s, _, err := r.str("reference")
		if err != nil {
			return err
		}
		r.skip("display")
		if err := r.done(); err != nil {
			return err
		}
		if err := d.done(); err != nil {
			return err
		}
		typ, id, ok := strings.Cut(s, "/")
		if !ok || strings.Contains(id, "/") || id == "" {
			return unsupported(path+".reference", "only relative references Type/id are supported")
		}
		if !consent.IsResourceType(typ) {
			return &consent.ValidationError{Path: path + ".reference", Err: consent.ErrUnknownCode}
		}
		p.Resources = append(p.Resources, consent.ResourceRef{Type: typ, ID: id})
	}
	return nil
}

// r5Provisions parses R5 provisions: exceptions without a type.
func (imp *importer) r5Provisions(o *object, depth int) ([]consent.Provision, error) {
	arr, err := o.array("provision")
	if err != nil || len(arr) == 0 {
		return nil, err
	}
	path := o.path + ".provision"
	if depth > consent.MaxDepth {
		return nil, &consent.ValidationError{Path: path, Err: consent.ErrTooDeep}
	}
	out := make([]consent.Provision, 0, len(arr))
	for _, raw := range arr {
		po, err := parseObject(raw, path)
		if err != nil {
			return nil, err
		}
		var p consent.Provision
		if po.has("expression") {
			return nil, unsupported(path+".expression", "expressions are not supported")
		}
		if po.has("documentType") {
			return nil, unsupported(path+".documentType", "")
		}
		if err := imp.criteria(po, &p, "resourceType"); err != nil {
			return nil, err
		}
		if p.Provisions, err = imp.r5Provisions(po, depth+1); err != nil {
			return nil, err
		}
		if err := po.done(); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func effect(raw json.RawMessage, path string) (consent.Effect, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, malformed(path)
	}
	switch s {
	case "permit":
		return consent.Permit, nil
	case "deny":
		return consent.Deny, nil
	}
	return 0, &consent.ValidationError{Path: path, Err: consent.ErrUnknownCode}
}
