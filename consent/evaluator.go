package consent

import "strconv"

// NoConsentDefault is the deployment-level answer when no active consent
// applies to a request.
type NoConsentDefault uint8

// Defaults for "no consent".
const (
	// OptIn (the zero value): without a consent, access is denied.
	OptIn NoConsentDefault = iota
	// OptOut: without a consent, access is allowed (jurisdictions where
	// patients opt out of sharing).
	OptOut
)

// Config configures an [Evaluator]. The zero value is an opt-in
// deployment where break-glass is never honored.
type Config struct {
	// NoConsent is the answer when no consent applies. Default OptIn (deny).
	NoConsent NoConsentDefault
	// BreakGlassRoles are the actor roles authorized to break the glass
	// (purpose ETREAT or BTG) against a denial. Empty: nobody may.
	BreakGlassRoles []string
}

// Evaluator decides requests against compiled consents. It is immutable and
// safe for concurrent use; [Evaluator.WithPatient] returns an updated copy
// that shares the unchanged patients' indexes. Deciding does no I/O.
//
// Combining rule: each active consent that applies to the request answers
// Permit or Deny; any Deny wins over any Permit; if none applies the
// answer is NoConsent and Config.NoConsent decides. Inside a consent,
// a provision that matches reverses its parent's decision, and among
// matching sibling provisions a Deny wins. A provision that cannot be
// evaluated (a criterion on an attribute the request lacks) makes its
// consent answer Deny. A [Registry] that accepts custodial consents
// compiles them apart: they are combined, by the same rule, only when none
// of the patient's own consents applies (SPEC.md, rule C9).
type Evaluator struct {
	cfg       Config
	patients  map[string]*patientIndex
	bgRoles   []string
	noConsent bool
}

// patientIndex holds one patient's compiled active consents. It is
// immutable once published.
type patientIndex struct {
	consents []compiledConsent
	// slots routes a request to the consents and provisions that can
	// matter to it (see index.go).
	slots slotIndex
	// state is the consent state (see AccessRecord.ConsentState) the
	// index was compiled from, when a Registry built it.
	state uint64
	// custodial holds the patient's custodial consents, consulted only
	// when none of the consents above applies (SPEC.md, rule C9); nil
	// when there are none.
	custodial *patientIndex
}

type compiledConsent struct {
	id       ID
	period   Period
	grantees []string
	decision Effect
	root     compiledProvision // criteria empty; children = provisions
}

type compiledProvision struct {
	path        string
	actions     uint8
	purposes    uint64
	labels      uint64
	actors      []ActorMatch
	dataClasses []string
	codes       []Coding
	period      Period
	dataPeriod  Period
	resources   []ResourceRef
	children    []compiledProvision
}

// New returns an evaluator for the given consents (of any patients). Every
// consent must validate. Consents that are not active are kept out of the
// index.
func New(cfg Config, consents []Consent) (*Evaluator, error) {
	e := &Evaluator{cfg: cfg, patients: map[string]*patientIndex{}}
	e.bgRoles = append([]string(nil), cfg.BreakGlassRoles...)
	e.noConsent = cfg.NoConsent == OptOut
	byPatient := map[string][]Consent{}
	for i := range consents {
		byPatient[consents[i].Patient] = append(byPatient[consents[i].Patient], consents[i])
	}
	for p, cs := range byPatient {
		idx, err := compilePatient(cs)
		if err != nil {
			return nil, err
		}
		e.patients[p] = idx
	}
	return e, nil
}

// WithPatient returns a copy of e in which the patient's consents are
// exactly consents (all of which must be about that patient). The copy
// costs O(number of patients); a [Registry] updates one patient in place.
func (e *Evaluator) WithPatient(patient string, consents []Consent) (*Evaluator, error) {
	for i := range consents {
		if consents[i].Patient != patient {
			return nil, invalid("patient", ErrInvalidConsent)
		}
	}
	idx, err := compilePatient(consents)
	if err != nil {
		return nil, err
	}
	n := &Evaluator{cfg: e.cfg, bgRoles: e.bgRoles, noConsent: e.noConsent,
		patients: make(map[string]*patientIndex, len(e.patients)+1)}
	for k, v := range e.patients {
		n.patients[k] = v
	}
	if len(idx.consents) == 0 {
		delete(n.patients, patient)
	} else {
		n.patients[patient] = idx
	}
	return n, nil
}

// Consents returns the number of compiled (active) consents of a patient,
// custodial ones included.
func (e *Evaluator) Consents(patient string) int {
	n := 0
	if idx := e.patients[patient]; idx != nil {
		n = len(idx.consents)
		if idx.custodial != nil {
			n += len(idx.custodial.consents)
		}
	}
	return n
}

func compilePatient(cs []Consent) (*patientIndex, error) {
	idx := &patientIndex{}
	for i := range cs {
		c := &cs[i]
		enc, err := c.MarshalBinary() // validates
		if err != nil {
			return nil, err
		}
		if c.Status != StatusActive {
			continue
		}
		cc := compiledConsent{
			id:       idOf(enc),
			period:   c.Period,
			grantees: append([]string(nil), c.Grantees...),
			decision: c.Decision,
		}
		cc.root.children = compileProvisions(c.Provisions, "")
		idx.consents = append(idx.consents, cc)
	}
	idx.slots.build(idx.consents)
	return idx, nil
}

func compileProvisions(ps []Provision, prefix string) []compiledProvision {
	if len(ps) == 0 {
		return nil
	}
	out := make([]compiledProvision, len(ps))
	for i := range ps {
		p := &ps[i]
		path := prefix + strconv.Itoa(i+1)
		out[i] = compiledProvision{
			path:        path,
			actions:     actionMask(p.Actions),
			purposes:    purposeMask(p.Purposes),
			labels:      labelMask(p.Labels),
			actors:      append([]ActorMatch(nil), p.Actors...),
			dataClasses: append([]string(nil), p.DataClasses...),
			codes:       append([]Coding(nil), p.Codes...),
			period:      p.Period,
			dataPeriod:  p.DataPeriod,
			resources:   append([]ResourceRef(nil), p.Resources...),
			children:    compileProvisions(p.Provisions, path+"."),
		}
	}
	return out
}

// preparedRequest is a request reduced to masks, built once per decision.
type preparedRequest struct {
	*Request
	action  uint8
	purpose uint64
	labels  uint64
}

type match uint8

const (
	noMatch match = iota
	matched
	indeterminate
)

// match tests p's criteria against the request, cheapest first.
func (p *compiledProvision) match(r *preparedRequest) match {
	if p.actions != 0 && p.actions&r.action == 0 ||
		p.purposes != 0 && p.purposes&r.purpose == 0 ||
		p.labels != 0 && p.labels&r.labels == 0 {
		return noMatch
	}
	return p.matchRest(r)
}

// matchRest tests the criteria other than action, purpose and labels.
func (p *compiledProvision) matchRest(r *preparedRequest) match {
	if len(p.dataClasses) > 0 && !containsString(p.dataClasses, r.Resource.Type) {
		return noMatch
	}
	if !p.period.IsZero() && !p.period.Contains(r.Time) {
		return noMatch
	}
	if len(p.actors) > 0 && !actorMatches(p.actors, &r.Actor) {
		return noMatch
	}
	if len(p.codes) > 0 && !codesMatch(p.codes, r.Resource.Codes) {
		return noMatch
	}
	if !p.dataPeriod.IsZero() {
		if r.Resource.Date.IsZero() {
			return indeterminate
		}
		if !p.dataPeriod.Contains(r.Resource.Date) {
			return noMatch
		}
	}
	if len(p.resources) > 0 {
		if r.Resource.ID == "" {
			return indeterminate
		}
		found := false
		for _, ref := range p.resources {
			if ref.Type == r.Resource.Type && ref.ID == r.Resource.ID {
				found = true
				break
			}
		}
		if !found {
			return noMatch
		}
	}
	return matched
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func actorMatches(ms []ActorMatch, a *Actor) bool {
	for i := range ms {
		m := &ms[i]
		if m.Reference != "" && m.Reference != a.DID && !containsString(a.Teams, m.Reference) {
			continue
		}
		if m.Role != "" && !containsString(a.Roles, m.Role) {
			continue
		}
		if m.Organization != "" && m.Organization != a.Organization {
			continue
		}
		return true
	}
	return false
}

func codesMatch(want, have []Coding) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h {
				return true
			}
		}
	}
	return false
}

func (c *compiledConsent) applies(r *preparedRequest) bool {
	if !c.period.IsZero() && !c.period.Contains(r.Time) {
		return false
	}
	if len(c.grantees) == 0 {
		return true
	}
	for _, g := range c.grantees {
		if g == r.Actor.DID || g == r.Actor.Organization || containsString(r.Actor.Teams, g) {
			return true
		}
	}
	return false
}

// eval returns the decision of the subtree under p whose own decision is
// eff, the provision that decided, and whether evaluation was
// indeterminate. redact collects labels of deny provisions that match the
// request except for its labels.
func (p *compiledProvision) eval(r *preparedRequest, eff Effect, redact *uint64) (Effect, *compiledProvision, bool) {
	s := evalState{result: eff, by: p}
	for i := range p.children {
		if s.step(&p.children[i], r, eff, redact); s.ind {
			break
		}
	}
	return s.result, s.by, s.ind
}

// evalState is the state of eval over the children of one provision
// (or of a consent's root) whose own decision is eff.
type evalState struct {
	result     Effect
	by         *compiledProvision
	matchedAny bool
	ind        bool // indeterminate: result is Deny, by the provision that could not be evaluated
}

// step evaluates the child ch. A child that neither matches nor asks for
// a redaction leaves s unchanged: the index skips only such children.
func (s *evalState) step(ch *compiledProvision, r *preparedRequest, eff Effect, redact *uint64) {
	m := ch.match(r)
	if m == indeterminate {
		s.result, s.by, s.ind = Deny, ch, true
		return
	}
	if m == noMatch {
		if eff == Permit && ch.labels != 0 && ch.labels&r.labels == 0 &&
			(ch.actions == 0 || ch.actions&r.action != 0) &&
			(ch.purposes == 0 || ch.purposes&r.purpose != 0) &&
			ch.matchRest(r) != noMatch { // indeterminate: redact, to be safe
			*redact |= ch.labels
		}
		return
	}
	res, b, ind := ch.eval(r, eff.flip(), redact)
	if ind {
		s.result, s.by, s.ind = Deny, b, true
		return
	}
	if !s.matchedAny || res == Deny && s.result != Deny {
		s.result, s.by = res, b
	}
	s.matchedAny = true
}

// Decide decides a request. It allocates the returned Decision; use
// [Evaluator.DecideInto] on a hot path.
func (e *Evaluator) Decide(r *Request) (*Decision, error) {
	d := &Decision{}
	err := e.DecideInto(r, d)
	return d, err
}

// DecideInto decides r into d, reusing d's slices: with a reused Decision
// it does not allocate. On error, d is a denial with ReasonInvalid. It is
// pure: no I/O, no clock (the request carries its time).
func (e *Evaluator) DecideInto(r *Request, d *Decision) error {
	return e.decide(e.patients[r.Patient], r, d)
}

// decide decides r against idx, the patient's index (nil: no consents).
func (e *Evaluator) decide(idx *patientIndex, r *Request, d *Decision) error {
	d.reset()
	if err := r.validate(); err != nil {
		return err
	}
	pr := preparedRequest{Request: r, action: 1 << r.Action, purpose: r.Purpose.bit(), labels: labelMask(r.Resource.Labels)}
	effect, reason := NoConsent, ReasonNoConsentDefault
	var redact uint64
	if idx != nil {
		effect, reason, redact = e.combine(idx, &pr, d)
		// The patient's own consents take precedence: custodial ones
		// decide only where none of those applies.
		if effect == NoConsent && idx.custodial != nil {
			effect, reason, redact = e.combine(idx.custodial, &pr, d)
			for i := range d.Basis {
				d.Basis[i].Custodial = true
			}
		}
	}
	d.Effect, d.Reason = effect, reason
	switch effect {
	case Permit:
		d.Allowed = true
	case NoConsent:
		d.Allowed = e.noConsent
	}
	e.breakGlass(r, d)
	if d.Allowed && !d.BreakGlass {
		for l := Label(1); l < numLabels; l++ {
			if redact&l.bit() != 0 {
				d.Obligations = append(d.Obligations, Obligation{Kind: ObligationRedact, Label: l})
			}
		}
	}
	return nil
}

// breakGlass applies the emergency rules: an actor holding a role in
// Config.BreakGlassRoles who asks for purpose ETREAT or BTG is allowed
// against a denial (or no consent); purpose BTG is always flagged as
// break-glass when allowed; BTG by an actor without such a role is denied
// whatever the consents say. A break-glass decision carries the audit and
// notify-patient obligations and no redactions.
func (e *Evaluator) breakGlass(r *Request, d *Decision) {
	if !r.Purpose.IsBreakGlass() {
		return
	}
	authorized := false
	for _, role := range e.bgRoles {
		if containsString(r.Actor.Roles, role) {
			authorized = true
			break
		}
	}
	switch {
	case !authorized && r.Purpose == PurposeBreakTheGlass:
		d.Allowed, d.Reason = false, ReasonBreakGlassUnauthorized
		return
	case authorized && !d.Allowed:
		d.Allowed, d.Reason = true, ReasonBreakGlass
	case authorized && r.Purpose == PurposeBreakTheGlass:
		// Permitted by consent, but breaking the glass is always audited.
	default:
		return
	}
	d.BreakGlass = true
	d.Obligations = append(d.Obligations[:0],
		Obligation{Kind: ObligationAudit}, Obligation{Kind: ObligationNotifyPatient})
}
