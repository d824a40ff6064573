package consent

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/healthledger/healthledger/ledger"
)

// CustodialProof is what a custodian hands to whoever must later check a
// custodial consent (the patient, an auditor, a court): the statement, the
// salt of its commitment and the receipt of the custodial grant entry. The
// log alone shows only the salted commitment. It holds no form, but names
// the patient: keep it as confidential as the consent.
type CustodialProof struct {
	Statement CustodialStatement
	Salt      Salt
	Receipt   *ledger.Receipt
}

type wireCustodialProof struct {
	Patient    string `json:"patient"`
	Custodian  string `json:"custodian"`
	Consent    string `json:"consent"`
	Method     string `json:"method"`
	Witness    string `json:"witness,omitempty"`
	CapturedAt string `json:"capturedAt"`
	MediaType  string `json:"mediaType"`
	FormDigest string `json:"formDigest"`
	Salt       string `json:"salt"`
	Receipt    string `json:"receipt,omitempty"`
}

// MarshalJSON writes the proof as JSON: the statement's fields, hex
// consent ID, form digest and salt, and the receipt in the C2SP tlog-proof
// text format.
func (p *CustodialProof) MarshalJSON() ([]byte, error) {
	s := &p.Statement
	if err := s.validate(); err != nil {
		return nil, err
	}
	w := wireCustodialProof{Patient: s.Patient, Custodian: s.Custodian, Consent: s.Consent.String(), Method: s.Method.String(),
		Witness: s.Witness, CapturedAt: formatTime(s.CapturedAt), MediaType: s.MediaType, FormDigest: s.FormDigest.String(),
		Salt: p.Salt.String()}
	if p.Receipt != nil {
		t, err := p.Receipt.MarshalText()
		if err != nil {
			return nil, err
		}
		w.Receipt = string(t)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes. It verifies nothing (see
// [VerifyCapturedForm]) but that the statement is well formed.
func (p *CustodialProof) UnmarshalJSON(b []byte) error {
	var w wireCustodialProof
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || dec.More() {
		return invalid("json", ErrMalformed)
	}
	s := CustodialStatement{Patient: w.Patient, Custodian: w.Custodian, Witness: w.Witness, MediaType: w.MediaType}
	var err error
	if s.Consent, err = ParseID(w.Consent); err != nil {
		return err
	}
	if s.Method, err = ParseCaptureMethod(w.Method); err != nil {
		return err
	}
	if s.CapturedAt, err = parseTime(w.CapturedAt, "capturedAt"); err != nil {
		return err
	}
	d, err := hex.DecodeString(w.FormDigest)
	if err != nil || len(d) != len(s.FormDigest) {
		return invalid("formDigest", ErrMalformed)
	}
	copy(s.FormDigest[:], d)
	if err := s.validate(); err != nil {
		return err
	}
	salt, err := ParseSalt(w.Salt)
	if err != nil {
		return err
	}
	var rcpt *ledger.Receipt
	if w.Receipt != "" {
		if rcpt, err = ledger.ParseReceipt([]byte(w.Receipt)); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidProof, err)
		}
	}
	*p = CustodialProof{Statement: s, Salt: salt, Receipt: rcpt}
	return nil
}

// VerifyCapturedForm answers "is form exactly the form the custodian
// captured?" with nothing but the proof and a verifier holding the log's
// public key. It checks that the receipt verifies (an error wrapping
// ErrInvalidProof if not), that its entry is a custodial grant written by
// the statement's custodian whose Digest is the commitment to the
// statement under the proof's salt, and that form's SHA-256 is the
// statement's form digest. Any difference is a *FormMismatchError naming
// the field. It does not check the custodian's signature (see
// [CustodialProof.VerifyCustodian]) nor whether a deployment trusts the
// custodian.
func VerifyCapturedForm(form []byte, p *CustodialProof, v *ledger.Verifier) error {
	if p == nil || p.Receipt == nil || v == nil {
		return fmt.Errorf("%w: missing proof, receipt or verifier", ErrInvalidProof)
	}
	e, err := v.VerifyReceipt(p.Receipt)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if e.Kind != KindCustodialGranted {
		return &FormMismatchError{Field: "kind"}
	}
	if e.Writer != p.Statement.Custodian {
		return &FormMismatchError{Field: "custodian"}
	}
	c, err := p.Statement.Commitment(p.Salt)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if c != e.Digest {
		return &FormMismatchError{Field: "commitment"}
	}
	if DigestForm(form) != p.Statement.FormDigest {
		return &FormMismatchError{Field: "form"}
	}
	return nil
}

// VerifyCustodian checks the custodial grant entry's signature with keys
// (an identity.Resolver, or the custodian's public keys). It does not
// verify the receipt: use VerifyCapturedForm for that.
func (p *CustodialProof) VerifyCustodian(ctx context.Context, keys SignatureChecker) error {
	if p == nil || p.Receipt == nil {
		return fmt.Errorf("%w: missing receipt", ErrInvalidProof)
	}
	e, err := ledger.UnmarshalEntry(p.Receipt.Leaf)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	msg, err := e.SignedMessage()
	if err != nil || len(e.Signature) == 0 || e.Writer != p.Statement.Custodian {
		return ErrNotSignedByCustodian
	}
	if err := keys.CheckSignature(ctx, e.Writer, msg, e.Signature, e.Time); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSignedByCustodian, err)
	}
	return nil
}
