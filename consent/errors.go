package consent

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the package returns wraps one of these, and
// typed errors ([*ValidationError]) carry where the problem is. No error
// message contains a value taken from a consent or a request (a code, a
// DID, a resource id): only element paths and code-system names.
var (
	// ErrInvalidConsent reports a consent that does not validate.
	ErrInvalidConsent = errors.New("consent: invalid consent")
	// ErrUnknownCode reports a code outside a fixed code system (purpose
	// of use, action, security label, status, resource type).
	ErrUnknownCode = errors.New("consent: unknown code")
	// ErrInvalidPeriod reports a period that ends before it starts.
	ErrInvalidPeriod = errors.New("consent: period ends before it starts")
	// ErrContradictoryProvision reports a provision that can never apply
	// inside its parent, or that contradicts it.
	ErrContradictoryProvision = errors.New("consent: contradictory provision")
	// ErrCyclicProvision reports provisions that contain themselves.
	ErrCyclicProvision = errors.New("consent: cyclic provisions")
	// ErrTooDeep reports provisions nested deeper than MaxDepth.
	ErrTooDeep = errors.New("consent: provisions nested too deep")
	// ErrInvalidRequest reports a request that cannot be decided. A decision
	// returned with it is always a denial.
	ErrInvalidRequest = errors.New("consent: invalid request")
	// ErrMissingPurpose reports a request without a purpose of use. It
	// wraps ErrInvalidRequest.
	ErrMissingPurpose = fmt.Errorf("%w: missing purpose of use", ErrInvalidRequest)
	// ErrMalformed reports bytes that do not decode as a canonical encoding.
	ErrMalformed = errors.New("consent: malformed encoding")
	// ErrUnsupportedElement reports a FHIR element this library does not
	// support; see [UnsupportedElementError].
	ErrUnsupportedElement = errors.New("consent: unsupported FHIR element")
	// ErrNotSignedByPatient reports a grant or revocation whose signature is
	// missing, does not verify, or is not the patient's.
	ErrNotSignedByPatient = errors.New("consent: not signed by the patient")
	// ErrUnknownConsent reports a revocation of a consent that was never
	// granted for that patient.
	ErrUnknownConsent = errors.New("consent: unknown consent")
	// ErrDecisionMismatch reports a recorded decision that re-evaluation
	// does not reproduce.
	ErrDecisionMismatch = errors.New("consent: recorded decision does not re-evaluate to the same answer")
	// ErrNotAccessEntry reports a ledger entry that is not an access decision.
	ErrNotAccessEntry = errors.New("consent: not an access decision entry")
	// ErrAuditRequired reports a break-glass permit that could not be
	// recorded; the access must not happen.
	ErrAuditRequired = errors.New("consent: break-glass access requires an audit entry")
)

// ValidationError reports what is wrong with a consent or request and where:
// Path is an element path such as "provision[0].provision[1].period".
// It never holds the offending value.
type ValidationError struct {
	// Path is the element path of the problem.
	Path string
	// Err is the sentinel (or wrapped sentinel) that says what is wrong.
	Err error
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + " at " + e.Path
}

// Unwrap returns the underlying sentinel.
func (e *ValidationError) Unwrap() error { return e.Err }

// UnsupportedElementError names a FHIR element the importer does not
// support. The importer never ignores an element silently.
type UnsupportedElementError struct {
	// Element is the FHIR element path, e.g. "Consent.provision.actor.role".
	Element string
	// Reason says why it is unsupported, without any value from the input.
	Reason string
}

// Error implements error.
func (e *UnsupportedElementError) Error() string {
	msg := ErrUnsupportedElement.Error() + ": " + e.Element
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Unwrap returns ErrUnsupportedElement.
func (e *UnsupportedElementError) Unwrap() error { return ErrUnsupportedElement }

func invalid(path string, err error) error { return &ValidationError{Path: path, Err: err} }

// Errors of the ledger integration.
var (
	// ErrNotFresh reports a grant or revocation submitted with a time too
	// far from the registry's clock (see RegistryConfig.MaxClockSkew).
	ErrNotFresh = errors.New("consent: entry time is not current")
	// ErrOutOfOrder reports a grant of a consent dated at or before an
	// already applied revocation of that same consent: a grant cannot undo
	// a revocation it claims to predate. (Grants and revocations otherwise
	// take effect in ledger order, whatever their times.)
	ErrOutOfOrder = errors.New("consent: grant not dated after a revocation of the same consent")
	// ErrNotLoaded reports a decision asked of a Registry for a patient
	// whose consents it has not loaded from the ledger.
	ErrNotLoaded = errors.New("consent: patient's consents not loaded")
	// ErrInvalidConfig reports a RegistryConfig without a required field.
	ErrInvalidConfig = errors.New("consent: invalid configuration")
	// ErrNotPatientErasure reports an entry passed to Registry.Erase that
	// is not a well-formed erasure entry under the patient's subject tag;
	// nothing is written then.
	ErrNotPatientErasure = errors.New("consent: not an erasure of the patient's entries")
	// ErrRecorderSignature reports an access entry whose recorder
	// signature does not verify.
	ErrRecorderSignature = errors.New("consent: access entry not signed by its recorder")
)

// Errors of custodial consent (SPEC.md, "Custodial consent"). Submit
// returns them inside a [*CustodialError] naming the rule.
var (
	// ErrCustodialNotAccepted reports a custodial entry in a deployment
	// whose CustodialPolicy does not accept custodial consent.
	ErrCustodialNotAccepted = errors.New("consent: custodial consent is not accepted")
	// ErrUntrustedCustodian reports a custodial entry written by a DID
	// that is not one of CustodialPolicy.Custodians.
	ErrUntrustedCustodian = errors.New("consent: custodian is not trusted")
	// ErrNotSignedByCustodian reports a custodial entry whose signature is
	// missing or does not verify under a key its writer held at its time.
	ErrNotSignedByCustodian = errors.New("consent: not signed by the custodian")
	// ErrPatientPrecedence reports a custodial entry that would revoke or
	// override what the patient signed: revoke a patient-signed consent,
	// re-grant a consent the patient revoked, or grant again one the
	// patient signed.
	ErrPatientPrecedence = errors.New("consent: the patient's own signature takes precedence over a custodian")
	// ErrNotOwnConsent reports a custodian revoking a custodial consent
	// another custodian recorded.
	ErrNotOwnConsent = errors.New("consent: a custodian may revoke only the custodial consents it recorded")
	// ErrInvalidProof reports a custodial proof that is malformed or whose
	// receipt does not verify.
	ErrInvalidProof = errors.New("consent: invalid proof")
	// ErrFormMismatch reports a form or proof that is not what was
	// captured; see [*FormMismatchError].
	ErrFormMismatch = errors.New("consent: not the captured form")
)

// CustodialError reports a custodial entry refused by one of the rules of
// SPEC.md, "Custodial consent" (Rule is "C1", "C2", ...). It unwraps to
// the sentinel that says what is wrong, and holds no DID or value.
type CustodialError struct {
	// Rule is the number of the rule, as in SPEC.md.
	Rule string
	// Err is the sentinel.
	Err error
}

// Error implements error.
func (e *CustodialError) Error() string { return e.Err.Error() + " (rule " + e.Rule + ")" }

// Unwrap returns the sentinel.
func (e *CustodialError) Unwrap() error { return e.Err }

func custodialErr(rule string, err error) error { return &CustodialError{Rule: rule, Err: err} }

// FormMismatchError reports which part of a custodial proof does not
// match: Field is "kind", "custodian", "commitment" or "form". It never
// holds the values.
type FormMismatchError struct {
	// Field names what differs.
	Field string
}

// Error implements error.
func (e *FormMismatchError) Error() string {
	return ErrFormMismatch.Error() + ": " + e.Field + " differs"
}

// Unwrap returns ErrFormMismatch.
func (e *FormMismatchError) Unwrap() error { return ErrFormMismatch }
