// Package fhir imports FHIR R4 and R5 Consent resources (JSON) into the
// [consent.Consent] model.
//
// The importer is strict: every element it does not support yields an
// error naming the element ([consent.UnsupportedElementError]); nothing is
// silently dropped. Errors never contain text from the input: an element
// is named by its path in the FHIR specification (for example
// "Consent.provision.actor.role"), and a member FHIR does not define for
// its type is reported at its parent's path with its position among the
// parent's members ("element unknown to FHIR, member 3"), never by its
// name. Elements that are supported but do not take part in decisions are
// listed here and accepted:
//
//   - id, meta (versionId, lastUpdated, profile, source, and security and
//     tag, which label the Consent resource itself, not the data it governs:
//     none has a place in the model), text, language,
//     identifier, category, dateTime (R4) / date (R5);
//   - the custodian: organization (R4), manager and controller (R5);
//   - the source document: source[x] (R4), sourceAttachment and
//     sourceReference (R5); verification; policyText and regulatoryBasis (R5);
//   - R4 scope, which must be patient-privacy, treatment or research.
//
// Mapping (R5 / R4):
//
//   - status: any R4 or R5 code, R5's "unknown" included
//     ([consent.StatusUnknown]); only an active consent takes part in
//     decisions;
//   - subject / patient, grantor / performer, grantee: references that must
//     resolve to DIDs, see [Options.Resolve];
//   - decision / the root provision's type: the base decision (an R5
//     Consent without decision is refused: [ErrMissingDecision]). In R4 a root
//     provision with criteria besides its period becomes the one top-level
//     provision, and policyRule OPTIN (base deny) or OPTOUT (base permit)
//     gives the base decision; a nested R4 provision must have the type
//     opposite to its parent's (an exception), else the import fails with
//     [consent.ErrContradictoryProvision];
//   - provision.actor: a reference to an Organization matches the actor's
//     organization; any other reference matches the actor's DID or team. An
//     actor with a reference may carry a role (its participation type),
//     which is accepted but not matched and not kept; an actor with a role
//     and no reference matches every actor holding that role, under any of
//     the role's codings (one [consent.ActorMatch] per distinct code: the
//     model matches role codes, not their code systems);
//   - provision.class (R4) / resourceType (R5) with system
//     http://hl7.org/fhir/fhir-types (R5) or
//     http://hl7.org/fhir/resource-types (R4), in either release: data
//     classes;
//   - provision.data with meaning "instance": specific resources;
//   - period, provision.period and dataPeriod: FHIR Period.start and end
//     are both inclusive, and a date or dateTime stands for the whole span
//     of its precision ("2026-05-01" is the whole day, a time without
//     fractional seconds the whole second, ".250" the whole millisecond).
//     The half-open [consent.Period] starts at the first instant of the
//     start's span and ends at the first instant after the end's span.
//     Dates without a time are read in UTC.
//
// Unsupported, with an error: extensions, modifierExtension, implicitRules,
// contained, provision.expression and
// documentType (R5), data meanings other than instance, classes of other
// code systems, R4 scope adr (advance directives).
package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/healthledger/healthledger/consent"
)

// ErrUnresolvedReference reports a reference that does not resolve to a
// DID. It is returned inside a *consent.ValidationError naming the element.
var ErrUnresolvedReference = errors.New("consent/fhir: reference does not resolve to a DID")

// ErrMissingDecision reports an R5 Consent without a decision. R5 makes
// Consent.decision optional (0..1) but marks it a modifier element ("sets
// context for the values in provision") and defines no default, so a
// resource without it says neither what it permits nor what its
// provisions are exceptions to; the importer refuses it rather than guess.
// It wraps consent.ErrInvalidConsent and is returned inside a
// *consent.ValidationError at "Consent.decision".
var ErrMissingDecision = fmt.Errorf("%w: no decision, and R5 defines no default for this modifier element", consent.ErrInvalidConsent)

// Version selects the FHIR release of the input.
type Version uint8

// Versions.
const (
	// Auto (the zero value) detects the release from the elements present:
	// decision, subject or grantor mean R5; patient, scope, policyRule or
	// performer mean R4.
	Auto Version = iota
	// R4 is FHIR 4.0.1.
	R4
	// R5 is FHIR 5.0.0.
	R5
)

// Options configures [Import]. The zero value auto-detects the version and
// accepts only references that are DIDs already.
type Options struct {
	// Version of the input. Default Auto.
	Version Version
	// Resolve maps a FHIR reference (for example "Patient/123" or
	// "Organization/f001") to a DID. Nil: only references whose reference or
	// identifier.value is a DID ("did:...") are accepted.
	Resolve func(reference string) (did string, ok bool)
}

// MaxInputSize is the largest Consent resource Import accepts (1 MiB).
const MaxInputSize = 1 << 20

// Import parses one FHIR Consent resource. The result has passed
// [consent.Consent.Validate].
func Import(data []byte, opts Options) (*consent.Consent, error) {
	if len(data) > MaxInputSize {
		return nil, malformed("Consent")
	}
	o, err := parseObject(json.RawMessage(data), "Consent")
	if err != nil {
		return nil, err
	}
	rt, _, err := o.str("resourceType")
	if err != nil || rt != "Consent" {
		return nil, malformed("Consent.resourceType")
	}
	v := opts.Version
	if v == Auto {
		switch {
		case o.has("decision") || o.has("subject") || o.has("grantor") || o.has("grantee"):
			v = R5
		case o.has("patient") || o.has("scope") || o.has("policyRule") || o.has("performer"):
			v = R4
		default:
			v = R5
		}
	}
	imp := &importer{opts: opts}
	if err := imp.common(o); err != nil {
		return nil, err
	}
	var c *consent.Consent
	if v == R4 {
		c, err = imp.r4(o)
	} else {
		c, err = imp.r5(o)
	}
	if err != nil {
		return nil, err
	}
	if err := o.done(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

type importer struct {
	opts Options
}

// common consumes the elements shared by R4 and R5.
func (imp *importer) common(o *object) error {
	if m, err := o.child("meta"); err != nil {
		return err
	} else if m != nil {
		// About the resource, not the consent it states: a security label
		// or tag here governs access to the Consent resource itself.
		m.skip("versionId", "lastUpdated", "profile", "source", "security", "tag")
		if err := m.done(); err != nil {
			return err
		}
	}
	o.skip("id", "text", "language", "identifier", "category", "verification")
	return nil
}

func (imp *importer) status(o *object) (consent.Status, error) {
	s, ok, err := o.str("status")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, &consent.ValidationError{Path: "Consent.status", Err: consent.ErrInvalidConsent}
	}
	st, err := consent.ParseStatus(s)
	if err != nil {
		return 0, &consent.ValidationError{Path: "Consent.status", Err: consent.ErrUnknownCode}
	}
	return st, nil
}

// ref is a decoded FHIR Reference.
type ref struct {
	did          string
	organization bool
}

func (imp *importer) reference(raw json.RawMessage, path string) (ref, error) {
	o, err := parseObject(raw, path)
	if err != nil {
		return ref{}, err
	}
	var out ref
	r, _, err := o.str("reference")
	if err != nil {
		return out, err
	}
	typ, _, err := o.str("type")
	if err != nil {
		return out, err
	}
	var idValue string
	if id, err := o.child("identifier"); err != nil {
		return out, err
	} else if id != nil {
		id.skip("system", "use", "type")
		if idValue, _, err = id.str("value"); err != nil {
			return out, err
		}
		if err := id.done(); err != nil {
			return out, err
		}
	}
	o.skip("display")
	if err := o.done(); err != nil {
		return out, err
	}
	out.organization = typ == "Organization" || strings.HasPrefix(r, "Organization/")
	switch {
	case strings.HasPrefix(idValue, "did:"):
		out.did = idValue
	case strings.HasPrefix(r, "did:"):
		out.did = r
	case r != "" && imp.opts.Resolve != nil:
		did, ok := imp.opts.Resolve(r)
		if !ok || !strings.HasPrefix(did, "did:") {
			return out, &consent.ValidationError{Path: path, Err: ErrUnresolvedReference}
		}
		out.did = did
	default:
		return out, &consent.ValidationError{Path: path, Err: ErrUnresolvedReference}
	}
	return out, nil
}

func (imp *importer) references(o *object, key string) ([]string, error) {
	arr, err := o.array(key)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range arr {
		r, err := imp.reference(a, o.path+"."+key)
		if err != nil {
			return nil, err
		}
		out = append(out, r.did)
	}
	return out, nil
}

func (imp *importer) policyURI(raw json.RawMessage, path string, urlKey string) (string, error) {
	o, err := parseObject(raw, path)
	if err != nil {
		return "", err
	}
	u, ok, err := o.str(urlKey)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", unsupported(path, "only a policy URI is supported")
	}
	o.skip("authority")
	return u, o.done()
}
