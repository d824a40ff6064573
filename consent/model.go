package consent

import (
	"time"
)

// MaxDepth is the deepest nesting of provisions a consent may have
// (the consent's own provisions are at depth 1).
const MaxDepth = 8

// Period is a half-open time interval [Start, End). A zero Start or End
// leaves that side open; the zero Period covers all time.
type Period struct {
	// Start is the first instant in the period (inclusive), or zero.
	Start time.Time
	// End is the first instant after the period (exclusive), or zero.
	End time.Time
}

// IsZero reports whether both ends are open.
func (p Period) IsZero() bool { return p.Start.IsZero() && p.End.IsZero() }

// Contains reports whether t falls inside the period.
func (p Period) Contains(t time.Time) bool {
	if !p.Start.IsZero() && t.Before(p.Start) {
		return false
	}
	if !p.End.IsZero() && !t.Before(p.End) {
		return false
	}
	return true
}

func (p Period) valid() bool {
	return p.Start.IsZero() || p.End.IsZero() || p.Start.Before(p.End)
}

// overlaps reports whether p and q share an instant.
func (p Period) overlaps(q Period) bool {
	if !p.End.IsZero() && !q.Start.IsZero() && !q.Start.Before(p.End) {
		return false
	}
	if !q.End.IsZero() && !p.Start.IsZero() && !p.Start.Before(q.End) {
		return false
	}
	return true
}

// Coding is a code from a code system (a FHIR Coding without display).
type Coding struct {
	// System is the code system URI.
	System string
	// Code is the code.
	Code string
}

// ActorMatch selects actors. Every non-empty field must match; at least
// one must be set.
type ActorMatch struct {
	// Reference matches the actor's DID or one of the teams (care teams,
	// groups) the actor acts for.
	Reference string
	// Role matches one of the actor's roles (a code such as "PRCP" or a
	// deployment's role name).
	Role string
	// Organization matches the organization the actor acts for.
	Organization string
}

// ResourceRef names one specific resource.
type ResourceRef struct {
	// Type is the FHIR resource type.
	Type string
	// ID is the resource id.
	ID string
}

// Provision is an exception to its parent: where it matches, its decision
// is the opposite of its parent's (the consent's base decision for the
// consent's own provisions). Each non-empty criterion must match (and);
// within a criterion any value may match (or). A provision must set at
// least one criterion.
type Provision struct {
	// Actors matches the requesting actor (any of).
	Actors []ActorMatch
	// Actions matches the request's action (any of).
	Actions []Action
	// Purposes matches the purpose of use, including its ActReason
	// specializations (TREAT matches ETREAT and BTG).
	Purposes []Purpose
	// DataClasses matches the resource type (FHIR resource type names).
	DataClasses []string
	// Labels matches a resource carrying any of these security labels.
	Labels []Label
	// Codes matches a resource carrying any of these codes.
	Codes []Coding
	// Period matches the request time.
	Period Period
	// DataPeriod matches the resource's clinical date. A request whose
	// resource has no date cannot be matched and is denied (fail closed).
	DataPeriod Period
	// Resources matches specific resources. A request without a resource
	// id cannot be matched and is denied (fail closed).
	Resources []ResourceRef
	// Provisions are nested exceptions to this provision.
	Provisions []Provision
}

// Consent is a patient's consent directive, modelled on FHIR R5 Consent.
type Consent struct {
	// Patient is the DID of the patient the consent is about. Required.
	Patient string
	// Status must be StatusActive for the consent to take part in decisions.
	Status Status
	// Period limits when the consent applies (request time). Zero: always.
	Period Period
	// Grantors are the DIDs granting the rights (the patient or a
	// representative). Informational.
	Grantors []string
	// Grantees, when not empty, limit the consent to requests by matching
	// actors (DID, team or organization). Empty: the consent applies to
	// every actor.
	Grantees []string
	// PolicyBasis is the URI of the regulation or policy the consent is
	// based on (for example 42 CFR Part 2, or a jurisdiction's opt-out law).
	PolicyBasis string
	// Decision is the base decision, Permit or Deny.
	Decision Effect
	// Provisions are exceptions to Decision.
	Provisions []Provision
}

// Actor is who requests access.
type Actor struct {
	// DID identifies the actor. Required.
	DID string
	// Roles are the actor's roles (for example "PRCP", "ER-PHYSICIAN").
	Roles []string
	// Organization is the DID of the organization the actor acts for.
	Organization string
	// Teams are care teams or groups the actor acts for.
	Teams []string
}

// Resource describes the data a request is about.
type Resource struct {
	// Type is the FHIR resource type. Required.
	Type string
	// ID is the resource id, if the request is about one resource.
	ID string
	// Labels are the security labels the resource carries.
	Labels []Label
	// Codes are codes of the resource (its code, category, ...).
	Codes []Coding
	// Date is the clinical date of the resource, if known.
	Date time.Time
}

// Request is an access request to decide.
type Request struct {
	// Patient is the DID of the patient whose data is requested. Required.
	Patient string
	// Actor is who asks. Actor.DID is required.
	Actor Actor
	// Action is what the actor wants to do. Required.
	Action Action
	// Purpose is the purpose of use. Required.
	Purpose Purpose
	// Resource is what the request is about. Resource.Type is required.
	Resource Resource
	// Time is when access happens; it selects the consents and provisions
	// in effect. Required.
	Time time.Time
}

// Reason says how a decision was reached.
type Reason uint8

// Reasons.
const (
	// ReasonInvalid: the request was invalid; the decision is a denial.
	ReasonInvalid Reason = iota
	// ReasonConsent: the consents in Basis decided.
	ReasonConsent
	// ReasonNoConsentDefault: no consent applied; the deployment default decided.
	ReasonNoConsentDefault
	// ReasonIndeterminate: a provision could not be evaluated (a missing
	// attribute); the evaluator denied (fail closed).
	ReasonIndeterminate
	// ReasonBreakGlass: an authorized role overrode a denial for an
	// emergency purpose; the access must be audited and the patient notified.
	ReasonBreakGlass
	// ReasonBreakGlassUnauthorized: purpose BTG by an actor without an
	// authorized role; denied.
	ReasonBreakGlassUnauthorized
	numReasons
)

const reasonCodes = "invalid-request consent no-consent-default indeterminate break-glass break-glass-unauthorized"

// String returns a short name of the reason.
func (r Reason) String() string { return nameOf(reasonCodes, int(r)+1) }

// ObligationKind says what an obligation requires.
type ObligationKind uint8

// Obligation kinds.
const (
	// ObligationRedact: remove resources carrying Obligation.Label from the
	// response; a consent denies them.
	ObligationRedact ObligationKind = iota + 1
	// ObligationAudit: the access must be recorded before it happens.
	ObligationAudit
	// ObligationNotifyPatient: the patient must be notified of the access.
	ObligationNotifyPatient
)

// String returns "redact", "audit" or "notify-patient".
func (k ObligationKind) String() string {
	switch k {
	case ObligationRedact:
		return "redact"
	case ObligationAudit:
		return "audit"
	case ObligationNotifyPatient:
		return "notify-patient"
	}
	return "invalid"
}

// Obligation is a condition attached to a permit.
type Obligation struct {
	// Kind is what is required.
	Kind ObligationKind
	// Label is the label to redact, for ObligationRedact.
	Label Label
}

// Basis is one consent a decision relied on.
type Basis struct {
	// Consent is the consent's ID.
	Consent ID
	// Path is the provision that decided, as 1-based indices from the
	// consent's provisions ("2.1" is the first provision nested in the
	// second); empty means the consent's base decision.
	Path string
	// Effect is what this consent answered.
	Effect Effect
	// Custodial reports a consent a custodian recorded on the patient's
	// behalf (SPEC.md, "Custodial consent"): access records and reports
	// flag decisions that relied on one.
	Custodial bool
}

// Decision is the answer to a request. Reuse one Decision across calls to
// [Evaluator.DecideInto] to decide without allocating.
type Decision struct {
	// Effect is what the consents answered: Permit, Deny or NoConsent.
	Effect Effect
	// Allowed is the final answer: true for a permit by consent, a
	// break-glass override, or NoConsent under an opt-out default.
	Allowed bool
	// Reason says how the decision was reached.
	Reason Reason
	// BreakGlass reports a break-glass override. The access MUST be
	// recorded on the ledger and the patient notified.
	BreakGlass bool
	// Basis lists the consents relied on: those that denied, for a
	// denial; those that permitted, for a permit.
	Basis []Basis
	// Obligations the access must meet.
	Obligations []Obligation
}

// Custodial reports whether the decision relied on a consent a custodian
// recorded on the patient's behalf (then every consent in Basis is one).
func (d *Decision) Custodial() bool {
	for i := range d.Basis {
		if d.Basis[i].Custodial {
			return true
		}
	}
	return false
}

func (d *Decision) reset() {
	d.Effect, d.Allowed, d.Reason, d.BreakGlass = NoConsent, false, ReasonInvalid, false
	d.Basis = d.Basis[:0]
	d.Obligations = d.Obligations[:0]
}
