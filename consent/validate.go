package consent

import (
	"strconv"
	"strings"
)

// Validate checks the consent: a patient DID, a known status, a base
// decision of Permit or Deny, periods that do not end before they start,
// known codes, and provisions that are neither empty, contradictory (unable
// to ever match inside their parent), cyclic nor nested deeper than
// MaxDepth. Errors are *ValidationError values naming the element.
func (c *Consent) Validate() error {
	if !isDID(c.Patient) {
		return invalid("patient", ErrInvalidConsent)
	}
	if !c.Status.valid() {
		return invalid("status", ErrUnknownCode)
	}
	if c.Decision != Permit && c.Decision != Deny {
		return invalid("decision", ErrUnknownCode)
	}
	if !c.Period.valid() {
		return invalid("period", ErrInvalidPeriod)
	}
	for i, g := range c.Grantors {
		if g == "" {
			return invalid("grantor["+strconv.Itoa(i)+"]", ErrInvalidConsent)
		}
	}
	for i, g := range c.Grantees {
		if g == "" {
			return invalid("grantee["+strconv.Itoa(i)+"]", ErrInvalidConsent)
		}
	}
	root := Provision{Period: c.Period}
	v := validator{}
	return v.provisions(&root, c.Provisions, "", 1)
}

func isDID(s string) bool {
	return strings.HasPrefix(s, "did:") && len(s) > len("did:x:") && len(s) <= 2048
}

type validator struct {
	// path holds the backing arrays of the provision slices on the current
	// path, to detect a slice that contains itself.
	path []*Provision
}

func (v *validator) provisions(parent *Provision, ps []Provision, path string, depth int) error {
	if len(ps) == 0 {
		return nil
	}
	if depth > MaxDepth {
		return invalid(path, ErrTooDeep)
	}
	id := &ps[0]
	for _, seen := range v.path {
		if seen == id {
			return invalid(path, ErrCyclicProvision)
		}
	}
	v.path = append(v.path, id)
	defer func() { v.path = v.path[:len(v.path)-1] }()
	for i := range ps {
		p := &ps[i]
		pp := path + "provision[" + strconv.Itoa(i) + "]"
		if err := checkProvision(parent, p, pp); err != nil {
			return err
		}
		if err := v.provisions(p, p.Provisions, pp+".", depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (p *Provision) empty() bool {
	return len(p.Actors) == 0 && len(p.Actions) == 0 && len(p.Purposes) == 0 &&
		len(p.DataClasses) == 0 && len(p.Labels) == 0 && len(p.Codes) == 0 &&
		p.Period.IsZero() && p.DataPeriod.IsZero() && len(p.Resources) == 0
}

// checkProvision validates p's own fields and that p can match somewhere
// inside parent.
func checkProvision(parent, p *Provision, path string) error {
	if p.empty() {
		// A provision without criteria overrides its parent everywhere:
		// it contradicts the decision it is nested in.
		return invalid(path, ErrContradictoryProvision)
	}
	for i, a := range p.Actors {
		if a == (ActorMatch{}) {
			return invalid(path+".actor["+strconv.Itoa(i)+"]", ErrInvalidConsent)
		}
	}
	for i, a := range p.Actions {
		if !a.valid() {
			return invalid(path+".action["+strconv.Itoa(i)+"]", ErrUnknownCode)
		}
	}
	for i, u := range p.Purposes {
		if !u.valid() {
			return invalid(path+".purpose["+strconv.Itoa(i)+"]", ErrUnknownCode)
		}
	}
	for i, c := range p.DataClasses {
		if !IsResourceType(c) {
			return invalid(path+".class["+strconv.Itoa(i)+"]", ErrUnknownCode)
		}
	}
	for i, l := range p.Labels {
		if !l.valid() {
			return invalid(path+".securityLabel["+strconv.Itoa(i)+"]", ErrUnknownCode)
		}
	}
	for i, c := range p.Codes {
		if c.System == "" || c.Code == "" {
			return invalid(path+".code["+strconv.Itoa(i)+"]", ErrInvalidConsent)
		}
	}
	for i, r := range p.Resources {
		if !IsResourceType(r.Type) || r.ID == "" {
			return invalid(path+".data["+strconv.Itoa(i)+"]", ErrInvalidConsent)
		}
	}
	if !p.Period.valid() {
		return invalid(path+".period", ErrInvalidPeriod)
	}
	if !p.DataPeriod.valid() {
		return invalid(path+".dataPeriod", ErrInvalidPeriod)
	}
	return reachable(parent, p, path)
}

// reachable reports a contradiction when a criterion of p is disjoint from
// the same criterion of parent: p could then never match.
func reachable(parent, p *Provision, path string) error {
	contra := func(elem string) error { return invalid(path+"."+elem, ErrContradictoryProvision) }
	if len(parent.Actions) > 0 && len(p.Actions) > 0 && actionMask(parent.Actions)&actionMask(p.Actions) == 0 {
		return contra("action")
	}
	if len(parent.Purposes) > 0 && len(p.Purposes) > 0 && purposeMask(parent.Purposes)&purposeMask(p.Purposes) == 0 {
		return contra("purpose")
	}
	if len(parent.DataClasses) > 0 && len(p.DataClasses) > 0 && !intersects(parent.DataClasses, p.DataClasses) {
		return contra("class")
	}
	if !parent.Period.overlaps(p.Period) {
		return contra("period")
	}
	if !parent.DataPeriod.overlaps(p.DataPeriod) {
		return contra("dataPeriod")
	}
	if len(parent.Resources) > 0 && len(p.Resources) > 0 && !intersects(parent.Resources, p.Resources) {
		return contra("data")
	}
	return nil
}

func intersects[T comparable](a, b []T) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func actionMask(as []Action) uint8 {
	var m uint8
	for _, a := range as {
		m |= 1 << a
	}
	return m
}

// purposeMask returns the purposes and all their specializations.
func purposeMask(ps []Purpose) uint64 {
	var m uint64
	for _, p := range ps {
		m |= p.closure()
	}
	return m
}

func labelMask(ls []Label) uint64 {
	var m uint64
	for _, l := range ls {
		m |= l.bit()
	}
	return m
}

// validate checks a request; it never looks at consents.
func (r *Request) validate() error {
	switch {
	case r.Purpose == 0:
		return invalid("purpose", ErrMissingPurpose)
	case !r.Purpose.valid():
		return invalid("purpose", ErrUnknownCode)
	case !isDID(r.Patient):
		return invalid("patient", ErrInvalidRequest)
	case r.Actor.DID == "":
		return invalid("actor", ErrInvalidRequest)
	case !r.Action.valid():
		return invalid("action", ErrInvalidRequest)
	case !IsResourceType(r.Resource.Type):
		return invalid("resource.type", ErrUnknownCode)
	case r.Time.IsZero():
		return invalid("time", ErrInvalidRequest)
	}
	for _, l := range r.Resource.Labels {
		if !l.valid() {
			return invalid("resource.labels", ErrUnknownCode)
		}
	}
	return nil
}
