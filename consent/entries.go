package consent

import (
	"crypto/sha256"
	"encoding/binary"

	"time"

	"github.com/healthledger/healthledger/ledger"
)

// Ledger entry kinds of package consent (in ledger's consent range).
const (
	// KindConsentGranted records a consent: its body is the consent's
	// canonical encoding, its writer the patient, signed by the patient.
	KindConsentGranted = ledger.KindConsentFirst + 0
	// KindConsentRevoked records the revocation of a consent by its
	// patient: its body is a revocation encoding naming the consent's ID.
	KindConsentRevoked = ledger.KindConsentFirst + 1
	// KindAccessDecided records an access decision: the request, the
	// decision, the consents it relied on and the consent state it used.
	KindAccessDecided = ledger.KindConsentFirst + 2
)

// Domain-separation strings of the ledger bodies (SPEC.md).
const (
	// RevocationEncodingPrefix starts a revocation body.
	RevocationEncodingPrefix = "healthledger/consent/revocation/v1\n"
	// AccessEncodingPrefix starts an access decision body.
	AccessEncodingPrefix = "healthledger/consent/access/v1\n"
	// entryDigestDomain prefixes the hash that is an entry's Digest.
	entryDigestDomain = "healthledger/consent/entry/v1\x00"
)

// bodyDigest is the Digest of a consent entry: a hash of the body as
// stored (sealed or not), so that it reveals nothing a sealed body hides.
// bodyAssociatedData is what a sealed body is bound to besides its subject
// (which the Sealer binds itself): its entry's kind and time, so that a
// sealed body copied into another entry does not open. The writer is not
// bound: an access entry's writer is set when the recorder signs, after
// sealing; the writer's signature covers the sealed body anyway. (The
// digest hashes the sealed body and the log index is not known before the
// append, so neither can be bound.)
func bodyAssociatedData(kind ledger.Kind, at time.Time) []byte {
	b := make([]byte, 0, 4+len(bodyADDomain)+2+8)
	b = binary.BigEndian.AppendUint32(b, uint32(len(bodyADDomain)))
	b = append(b, bodyADDomain...)
	b = binary.BigEndian.AppendUint16(b, uint16(kind))
	return binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
}

// bodyADDomain separates consent bodies' associated data from any other.
const bodyADDomain = "healthledger/consent-body/v1"

func bodyDigest(body []byte) ledger.Digest {
	h := sha256.New()
	h.Write([]byte(entryDigestDomain))
	h.Write(body)
	var d ledger.Digest
	h.Sum(d[:0])
	return d
}

// Revocation withdraws a consent.
type Revocation struct {
	// Patient is the patient who granted the consent.
	Patient string
	// Consent is the ID of the revoked consent.
	Consent ID
}

type wireRevocation struct {
	Patient string `json:"patient"`
	Consent string `json:"consent"`
}

// MarshalBinary returns the canonical encoding of the revocation.
func (r *Revocation) MarshalBinary() ([]byte, error) {
	if !isDID(r.Patient) {
		return nil, invalid("patient", ErrInvalidConsent)
	}
	return marshalPrefixed(RevocationEncodingPrefix, wireRevocation{Patient: r.Patient, Consent: r.Consent.String()})
}

// UnmarshalRevocation decodes a canonical revocation encoding.
func UnmarshalRevocation(b []byte) (*Revocation, error) {
	var w wireRevocation
	if err := unmarshalPrefixed(RevocationEncodingPrefix, b, &w); err != nil {
		return nil, err
	}
	id, err := ParseID(w.Consent)
	if err != nil {
		return nil, err
	}
	r := &Revocation{Patient: w.Patient, Consent: id}
	again, err := r.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if string(again) != string(b) {
		return nil, invalid("", ErrMalformed)
	}
	return r, nil
}

// AccessRecord is what an access entry holds: the request, the decision,
// and ConsentState, the ledger position of the consent state used: the
// decision was made from the patient's grant and revocation entries with
// index below ConsentState.
type AccessRecord struct {
	// Request is the decided request.
	Request Request
	// Decision is the decision made.
	Decision Decision
	// ConsentState is one past the index of the last grant or revocation
	// entry of the patient applied when deciding (0: none).
	ConsentState uint64
}

type wireAccessActor struct {
	DID          string   `json:"did"`
	Roles        []string `json:"roles,omitempty"`
	Organization string   `json:"organization,omitempty"`
	Teams        []string `json:"teams,omitempty"`
}

type wireResource struct {
	Type   string       `json:"type"`
	ID     string       `json:"id,omitempty"`
	Labels []string     `json:"labels,omitempty"`
	Codes  []wireCoding `json:"codes,omitempty"`
	Date   string       `json:"date,omitempty"`
}

type wireRequest struct {
	Patient  string          `json:"patient"`
	Actor    wireAccessActor `json:"actor"`
	Action   string          `json:"action"`
	Purpose  string          `json:"purpose"`
	Resource wireResource    `json:"resource"`
	Time     string          `json:"time"`
}

type wireBasis struct {
	Consent   string `json:"consent"`
	Path      string `json:"path,omitempty"`
	Effect    string `json:"effect"`
	Custodial bool   `json:"custodial,omitempty"`
}

type wireObligation struct {
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"`
}

type wireDecision struct {
	Effect      string           `json:"effect"`
	Allowed     bool             `json:"allowed"`
	Reason      string           `json:"reason"`
	BreakGlass  bool             `json:"breakGlass,omitempty"`
	Basis       []wireBasis      `json:"basis,omitempty"`
	Obligations []wireObligation `json:"obligations,omitempty"`
}

type wireAccess struct {
	Request      wireRequest  `json:"request"`
	Decision     wireDecision `json:"decision"`
	ConsentState uint64       `json:"consentState"`
}

// MarshalBinary returns the canonical encoding of the record. The request
// must be valid.
func (a *AccessRecord) MarshalBinary() ([]byte, error) {
	r := &a.Request
	if err := r.validate(); err != nil {
		return nil, err
	}
	w := wireAccess{ConsentState: a.ConsentState}
	w.Request = wireRequest{
		Patient: r.Patient,
		Actor:   wireAccessActor{DID: r.Actor.DID, Roles: r.Actor.Roles, Organization: r.Actor.Organization, Teams: r.Actor.Teams},
		Action:  r.Action.String(), Purpose: r.Purpose.String(),
		Resource: wireResource{Type: r.Resource.Type, ID: r.Resource.ID},
		Time:     formatTime(r.Time),
	}
	for _, l := range r.Resource.Labels {
		w.Request.Resource.Labels = append(w.Request.Resource.Labels, l.String())
	}
	for _, c := range r.Resource.Codes {
		w.Request.Resource.Codes = append(w.Request.Resource.Codes, wireCoding(c))
	}
	if !r.Resource.Date.IsZero() {
		w.Request.Resource.Date = formatTime(r.Resource.Date)
	}
	d := &a.Decision
	w.Decision = wireDecision{Effect: d.Effect.String(), Allowed: d.Allowed, Reason: d.Reason.String(), BreakGlass: d.BreakGlass}
	for _, b := range d.Basis {
		w.Decision.Basis = append(w.Decision.Basis, wireBasis{Consent: b.Consent.String(), Path: b.Path, Effect: b.Effect.String(), Custodial: b.Custodial})
	}
	for _, o := range d.Obligations {
		wo := wireObligation{Kind: o.Kind.String()}
		if o.Label != 0 {
			wo.Label = o.Label.String()
		}
		w.Decision.Obligations = append(w.Decision.Obligations, wo)
	}
	return marshalPrefixed(AccessEncodingPrefix, &w)
}

// UnmarshalAccessRecord decodes a canonical access record encoding.
func UnmarshalAccessRecord(b []byte) (*AccessRecord, error) {
	var w wireAccess
	if err := unmarshalPrefixed(AccessEncodingPrefix, b, &w); err != nil {
		return nil, err
	}
	a, err := fromWireAccess(&w)
	if err != nil {
		return nil, err
	}
	again, err := a.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if string(again) != string(b) {
		return nil, invalid("", ErrMalformed)
	}
	return a, nil
}

func fromWireAccess(w *wireAccess) (*AccessRecord, error) {
	a := &AccessRecord{ConsentState: w.ConsentState}
	r, wr := &a.Request, &w.Request
	r.Patient = wr.Patient
	r.Actor = Actor{DID: wr.Actor.DID, Roles: wr.Actor.Roles, Organization: wr.Actor.Organization, Teams: wr.Actor.Teams}
	var err error
	if r.Action, err = ParseAction(wr.Action); err != nil {
		return nil, err
	}
	if r.Purpose, err = ParsePurpose(wr.Purpose); err != nil {
		return nil, err
	}
	r.Resource = Resource{Type: wr.Resource.Type, ID: wr.Resource.ID}
	for _, s := range wr.Resource.Labels {
		l, err := ParseLabel("", s)
		if err != nil {
			return nil, err
		}
		r.Resource.Labels = append(r.Resource.Labels, l)
	}
	for _, c := range wr.Resource.Codes {
		r.Resource.Codes = append(r.Resource.Codes, Coding(c))
	}
	if r.Resource.Date, err = parseTime(wr.Resource.Date, "request.resource.date"); err != nil {
		return nil, err
	}
	if r.Time, err = parseTime(wr.Time, "request.time"); err != nil {
		return nil, err
	}
	d, wd := &a.Decision, &w.Decision
	var ok bool
	if d.Effect, ok = parseEffect(wd.Effect); !ok {
		return nil, invalid("decision.effect", ErrUnknownCode)
	}
	d.Allowed, d.BreakGlass = wd.Allowed, wd.BreakGlass
	if d.Reason, ok = parseReason(wd.Reason); !ok {
		return nil, invalid("decision.reason", ErrUnknownCode)
	}
	for _, b := range wd.Basis {
		id, err := ParseID(b.Consent)
		if err != nil {
			return nil, err
		}
		e, ok := parseEffect(b.Effect)
		if !ok {
			return nil, invalid("decision.basis.effect", ErrUnknownCode)
		}
		d.Basis = append(d.Basis, Basis{Consent: id, Path: b.Path, Effect: e, Custodial: b.Custodial})
	}
	for _, o := range wd.Obligations {
		ob, err := parseObligation(o)
		if err != nil {
			return nil, err
		}
		d.Obligations = append(d.Obligations, ob)
	}
	return a, nil
}

func parseReason(s string) (Reason, bool) {
	i := indexOf(reasonCodes, s)
	return Reason(i - 1), i > 0
}

func parseObligation(w wireObligation) (Obligation, error) {
	var o Obligation
	for k := ObligationRedact; k <= ObligationNotifyPatient; k++ {
		if k.String() == w.Kind {
			o.Kind = k
		}
	}
	if o.Kind == 0 {
		return o, invalid("decision.obligations.kind", ErrUnknownCode)
	}
	if w.Label != "" {
		l, err := ParseLabel("", w.Label)
		if err != nil {
			return o, err
		}
		o.Label = l
	}
	return o, nil
}

// sameDecision reports whether two decisions are equal in every recorded field.
func sameDecision(a, b *Decision) bool {
	if a.Effect != b.Effect || a.Allowed != b.Allowed || a.Reason != b.Reason || a.BreakGlass != b.BreakGlass ||
		len(a.Basis) != len(b.Basis) || len(a.Obligations) != len(b.Obligations) {
		return false
	}
	for i := range a.Basis {
		if a.Basis[i] != b.Basis[i] {
			return false
		}
	}
	for i := range a.Obligations {
		if a.Obligations[i] != b.Obligations[i] {
			return false
		}
	}
	return true
}

// freshWithin reports whether t is within skew of now.
func freshWithin(t, now time.Time, skew time.Duration) bool {
	d := t.Sub(now)
	return d <= skew && d >= -skew
}

func isConsentKind(k ledger.Kind) bool {
	return k == KindConsentGranted || k == KindConsentRevoked || isCustodialKind(k)
}

func isCustodialKind(k ledger.Kind) bool {
	return k == KindCustodialGranted || k == KindCustodialRevoked
}
