package consent

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/healthledger/healthledger/ledger"
)

// Custodial consent (SPEC.md, "Custodial consent"): a consent the patient
// gave on paper, by voice or on the custodian's device, recorded on the
// ledger by a custodian (an EHR's DID) on the patient's behalf.

// Ledger entry kinds of custodial consent.
const (
	// KindCustodialGranted records a consent captured by a custodian: its
	// writer is the custodian, its body a custodial encoding, its Digest
	// the salted commitment to the [CustodialStatement].
	KindCustodialGranted = ledger.KindConsentFirst + 3
	// KindCustodialRevoked records a custodian withdrawing a custodial
	// consent it recorded: its writer is the custodian, its body a
	// revocation encoding.
	KindCustodialRevoked = ledger.KindConsentFirst + 4
)

// Domain-separation strings of custodial consent (SPEC.md).
const (
	// CustodialEncodingPrefix starts a custodial grant body.
	CustodialEncodingPrefix = "healthledger/consent/custodial/v1\n"
	// CustodialCommitmentDomain prefixes the commitment to a custodial
	// statement, the Digest of a custodial grant entry.
	CustodialCommitmentDomain = "healthledger/consent/custodial/commitment/v1\x00"
)

// CaptureMethod says how a custodian captured a patient's consent.
type CaptureMethod uint8

// Capture methods.
const (
	// CapturePaper: a form the patient signed on paper, scanned.
	CapturePaper CaptureMethod = iota + 1
	// CaptureVerbal: consent the patient gave by voice in person; the form
	// is the recording or the staff member's attestation. Needs a witness.
	CaptureVerbal
	// CaptureTelephone: verbal consent by telephone. Needs a witness.
	CaptureTelephone
	// CaptureElectronicProxy: a form the patient signed electronically on
	// the custodian's device (signature pad, kiosk), not with their own key.
	CaptureElectronicProxy
	numCaptureMethods
)

var captureNames = [...]string{"", "paper", "verbal", "telephone", "electronic-proxy"}

// String returns "paper", "verbal", "telephone" or "electronic-proxy".
func (m CaptureMethod) String() string {
	if m == 0 || m >= numCaptureMethods {
		return "invalid"
	}
	return captureNames[m]
}

// ParseCaptureMethod parses the name of a capture method.
func ParseCaptureMethod(s string) (CaptureMethod, error) {
	for i := 1; i < len(captureNames); i++ {
		if captureNames[i] == s {
			return CaptureMethod(i), nil
		}
	}
	return 0, invalid("method", ErrUnknownCode)
}

// needsWitness reports whether consent captured with m must name who
// witnessed it: verbal consent leaves no signature of the patient.
func (m CaptureMethod) needsWitness() bool { return m == CaptureVerbal || m == CaptureTelephone }

// Salt is the random value a custodial statement's commitment is salted
// with: without it, the commitment on the log cannot be tested against a
// guessed form (a plain SHA-256 of a short standard form could be).
type Salt [32]byte

// String returns the hex encoding of the salt.
func (s Salt) String() string { return hex.EncodeToString(s[:]) }

// ParseSalt parses the hex encoding of a salt.
func ParseSalt(s string) (Salt, error) {
	var out Salt
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(out) {
		return out, invalid("salt", ErrMalformed)
	}
	copy(out[:], b)
	return out, nil
}

func newSalt() (Salt, error) {
	var s Salt
	if _, err := rand.Read(s[:]); err != nil {
		return s, fmt.Errorf("consent: salt: %w", err)
	}
	return s, nil
}

// FormDigest is SHA-256 of a captured form's bytes as stored (the scan,
// the recording), as package records digests raw documents.
type FormDigest [32]byte

// String returns the hex encoding of the digest.
func (d FormDigest) String() string { return hex.EncodeToString(d[:]) }

// DigestForm returns the FormDigest of a captured form.
func DigestForm(form []byte) FormDigest { return sha256.Sum256(form) }

// CustodialStatement is what a custodial grant entry commits to: who
// recorded which consent of which patient, how it was captured, who
// witnessed it, and the digest of the captured form. Only its salted
// commitment is on the log; the statement and salt are sealed beside the
// tree and handed, with the receipt, to whoever must verify
// ([CustodialProof]). It names the patient: keep it as confidential as
// the consent.
type CustodialStatement struct {
	// Patient is the patient's DID.
	Patient string
	// Custodian is the DID that recorded the consent and signed the entry.
	Custodian string
	// Consent is the ID of the consent recorded.
	Consent ID
	// Method is how the consent was captured.
	Method CaptureMethod
	// Witness identifies the staff member who witnessed the capture (a DID
	// or the deployment's staff identifier, never the patient's data).
	// Required for verbal and telephone consent.
	Witness string
	// CapturedAt is when the form was captured; not after the entry's time.
	CapturedAt time.Time
	// MediaType is the captured form's media type (application/pdf,
	// audio/ogg, text/plain for a staff attestation).
	MediaType string
	// FormDigest is SHA-256 of the captured form's bytes.
	FormDigest FormDigest
}

// maxCustodialField bounds the text fields of a statement.
const maxCustodialField = 2048

func (s *CustodialStatement) validate() error {
	switch {
	case !isDID(s.Patient):
		return invalid("custodial.patient", ErrInvalidConsent)
	case !isDID(s.Custodian):
		return invalid("custodial.custodian", ErrInvalidConsent)
	case s.Custodian == s.Patient:
		return invalid("custodial.custodian", ErrInvalidConsent)
	case s.Method == 0 || s.Method >= numCaptureMethods:
		return invalid("custodial.method", ErrUnknownCode)
	case s.Method.needsWitness() && s.Witness == "":
		return invalid("custodial.witness", ErrInvalidConsent)
	case s.CapturedAt.IsZero():
		return invalid("custodial.capturedAt", ErrInvalidConsent)
	case s.MediaType == "":
		return invalid("custodial.form.mediaType", ErrInvalidConsent)
	}
	for _, f := range [...]struct{ path, value string }{{"witness", s.Witness}, {"form.mediaType", s.MediaType}} {
		if len(f.value) > maxCustodialField || !utf8.ValidString(f.value) {
			return invalid("custodial."+f.path, ErrInvalidConsent)
		}
	}
	return nil
}

// MarshalBinary returns the statement's encoding (SPEC.md, "Custodial
// statement"): method byte; patient, custodian, witness and media type,
// each as a big-endian uint16 length and UTF-8 bytes; capture time
// (int64 BE Unix ns); consent ID; form digest.
func (s *CustodialStatement) MarshalBinary() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	b := []byte{byte(s.Method)}
	for _, f := range []string{s.Patient, s.Custodian, s.Witness, s.MediaType} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(s.CapturedAt.UnixNano()))
	b = append(b, s.Consent[:]...)
	return append(b, s.FormDigest[:]...), nil
}

// Commitment returns SHA-256(CustodialCommitmentDomain || salt ||
// encoding): the Digest of the custodial grant entry.
func (s *CustodialStatement) Commitment(salt Salt) ([32]byte, error) {
	enc, err := s.MarshalBinary()
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte(CustodialCommitmentDomain))
	h.Write(salt[:])
	h.Write(enc)
	var d [32]byte
	h.Sum(d[:0])
	return d, nil
}

// CustodialGrant is the decoded body of a custodial grant: the consent,
// the statement about its capture, and the salt of the statement's
// commitment.
type CustodialGrant struct {
	Consent   Consent
	Statement CustodialStatement
	Salt      Salt
}

type wireForm struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
}

type wireCustodial struct {
	Consent    wireConsent `json:"consent"`
	Custodian  string      `json:"custodian"`
	Method     string      `json:"method"`
	Witness    string      `json:"witness,omitempty"`
	CapturedAt string      `json:"capturedAt"`
	Form       wireForm    `json:"form"`
	Salt       string      `json:"salt"`
}

// MarshalBinary returns the canonical custodial grant encoding
// (SPEC.md): CustodialEncodingPrefix and canonical JSON holding the
// consent (as in its own encoding), custodian, method, witness, capture
// time, form media type and digest, and salt. Statement.Consent and
// Statement.Patient must be the consent's ID and patient.
func (g *CustodialGrant) MarshalBinary() ([]byte, error) {
	enc, err := g.Consent.MarshalBinary()
	if err != nil {
		return nil, err
	}
	s := &g.Statement
	if s.Patient != g.Consent.Patient || s.Consent != idOf(enc) {
		return nil, invalid("custodial.consent", ErrInvalidConsent)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	c := &g.Consent
	w := wireCustodial{
		Consent: wireConsent{Patient: c.Patient, Status: c.Status.String(), Period: toWirePeriod(c.Period),
			Grantors: c.Grantors, Grantees: c.Grantees, PolicyBasis: c.PolicyBasis, Decision: c.Decision.String(),
			Provisions: toWireProvisions(c.Provisions)},
		Custodian: s.Custodian, Method: s.Method.String(), Witness: s.Witness, CapturedAt: formatTime(s.CapturedAt),
		Form: wireForm{MediaType: s.MediaType, Digest: s.FormDigest.String()}, Salt: g.Salt.String(),
	}
	return marshalPrefixed(CustodialEncodingPrefix, &w)
}

// UnmarshalCustodialGrant decodes a canonical custodial grant encoding. It
// rejects any input that is not exactly the encoding of a valid grant.
func UnmarshalCustodialGrant(b []byte) (*CustodialGrant, error) {
	var w wireCustodial
	if err := unmarshalPrefixed(CustodialEncodingPrefix, b, &w); err != nil {
		return nil, err
	}
	c, err := fromWireConsent(&w.Consent)
	if err != nil {
		return nil, err
	}
	g := &CustodialGrant{Consent: *c}
	s := &g.Statement
	s.Patient, s.Custodian, s.Witness, s.MediaType = c.Patient, w.Custodian, w.Witness, w.Form.MediaType
	if s.Method, err = ParseCaptureMethod(w.Method); err != nil {
		return nil, err
	}
	if s.CapturedAt, err = parseTime(w.CapturedAt, "capturedAt"); err != nil {
		return nil, err
	}
	d, err := hex.DecodeString(w.Form.Digest)
	if err != nil || len(d) != len(s.FormDigest) {
		return nil, invalid("form.digest", ErrMalformed)
	}
	copy(s.FormDigest[:], d)
	if g.Salt, err = ParseSalt(w.Salt); err != nil {
		return nil, err
	}
	if s.Consent, err = c.ID(); err != nil {
		return nil, err
	}
	again, err := g.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if string(again) != string(b) {
		return nil, invalid("", ErrMalformed)
	}
	return g, nil
}

// CustodialPolicy says whether custodial consents count and whose.
// The zero value refuses them all.
type CustodialPolicy struct {
	// Accept makes custodial consents from Custodians count. Default
	// false: without it, as before custodial consent existed, every
	// consent that counts carries the patient's own signature, and no
	// EHR can create one.
	Accept bool
	// Custodians are the DIDs trusted to record consents on patients'
	// behalf (the deployment's EHRs). Required when Accept is set.
	Custodians []string
}

func (p *CustodialPolicy) validate() error {
	if !p.Accept {
		return nil
	}
	if len(p.Custodians) == 0 {
		return fmt.Errorf("%w: CustodialPolicy.Accept needs Custodians", ErrInvalidConfig)
	}
	for _, c := range p.Custodians {
		if !isDID(c) {
			return fmt.Errorf("%w: CustodialPolicy.Custodians holds a value that is not a DID", ErrInvalidConfig)
		}
	}
	return nil
}

func (p *CustodialPolicy) trusts(did string) bool { return containsString(p.Custodians, did) }

// Capture describes how a custodian captured a consent; see
// [Registry.CustodialGrantEntry].
type Capture struct {
	// Method is how the consent was captured. Required.
	Method CaptureMethod
	// Witness identifies the staff member who witnessed it. Required for
	// verbal and telephone consent.
	Witness string
	// CapturedAt is when the form was captured. Required.
	CapturedAt time.Time
	// MediaType is the form's media type. Required.
	MediaType string
	// Form is the captured form's bytes (the scan, the recording, the
	// attestation). Only its digest is kept; the custodian keeps the form.
	Form []byte
}
