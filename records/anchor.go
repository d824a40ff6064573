package records

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/healthledger/healthledger/ledger"
)

// Anchor is the proof that one version of a record was anchored: the
// statement, the salt of its commitment and the receipt of the anchor
// entry. It is what the EHR hands to whoever must later check the record
// (the patient, an auditor, a court); the log alone shows only the salted
// commitment. It carries no record content, but the statement names the
// patient, the record and its digest: keep it as confidential as the
// record's metadata.
type Anchor struct {
	Statement AnchorStatement
	Salt      Salt
	Receipt   *ledger.Receipt
}

// Index returns the anchor entry's log index.
func (a *Anchor) Index() uint64 { return a.Receipt.Index }

type wireAnchor struct {
	Format       string `json:"format"`
	Patient      string `json:"patient"`
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Version      string `json:"version"`
	Digest       string `json:"digest"`
	Salt         string `json:"salt"`
	Receipt      string `json:"receipt,omitempty"`
}

func (s *AnchorStatement) wire(salt Salt) wireAnchor {
	return wireAnchor{Format: s.Format.String(), Patient: s.Patient, ResourceType: s.ResourceType, ID: s.ID,
		Version: s.Version, Digest: s.Digest.String(), Salt: salt.String()}
}

func (w *wireAnchor) statement() (AnchorStatement, Salt, error) {
	s := AnchorStatement{Patient: w.Patient, ResourceType: w.ResourceType, ID: w.ID, Version: w.Version}
	switch w.Format {
	case FormatFHIRJSON.String():
		s.Format = FormatFHIRJSON
	case FormatRaw.String():
		s.Format = FormatRaw
	default:
		return s, Salt{}, fmt.Errorf("%w: format", ErrMalformed)
	}
	d, err := hex.DecodeString(w.Digest)
	if err != nil || len(d) != len(s.Digest) {
		return s, Salt{}, fmt.Errorf("%w: digest", ErrMalformed)
	}
	copy(s.Digest[:], d)
	salt, err := ParseSalt(w.Salt)
	return s, salt, err
}

// MarshalJSON writes the proof as JSON with hex digest and salt and the
// receipt in the C2SP tlog-proof text format.
func (a *Anchor) MarshalJSON() ([]byte, error) {
	w := a.Statement.wire(a.Salt)
	if a.Receipt != nil {
		t, err := a.Receipt.MarshalText()
		if err != nil {
			return nil, err
		}
		w.Receipt = string(t)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes. It verifies nothing.
func (a *Anchor) UnmarshalJSON(b []byte) error {
	var w wireAnchor
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	s, salt, err := w.statement()
	if err != nil {
		return err
	}
	r, err := ledger.ParseReceipt([]byte(w.Receipt))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	*a = Anchor{Statement: s, Salt: salt, Receipt: r}
	return nil
}

// VerifyAnchored answers "is resource exactly the version that was
// anchored?" with nothing but the proof and a verifier holding the log's
// public key. It checks that the receipt verifies (an error wrapping
// ErrInvalidProof if not), that its entry is an anchor whose commitment is
// the proof's statement under the proof's salt, and that resource has the
// statement's resource type, id, version (when the resource carries
// meta.versionId) and content digest: for FormatFHIRJSON the digest of its
// canonical form, for FormatRaw of its bytes. Any difference is a
// *MismatchError naming the field. It does not check the writer's
// signature: see [Anchor.VerifyWriter].
func VerifyAnchored(resource []byte, a *Anchor, v *ledger.Verifier) error {
	if _, err := verifyStatement(a, v); err != nil {
		return err
	}
	s := &a.Statement
	if s.Format == FormatRaw {
		if sha256.Sum256(resource) != s.Digest {
			return &MismatchError{Field: "content"}
		}
		return nil
	}
	pv, err := parse(resource)
	if err != nil {
		return err
	}
	typ, id, version := fhirHeader(pv)
	switch {
	case typ != s.ResourceType:
		return &MismatchError{Field: "resourceType"}
	case id != s.ID:
		return &MismatchError{Field: "id"}
	case version != "" && version != s.Version:
		return &MismatchError{Field: "version"}
	}
	if sha256.Sum256(appendValue(nil, stripVersioning(pv))) != s.Digest {
		return &MismatchError{Field: "content"}
	}
	return nil
}

// verifyStatement checks a's receipt and that its entry commits to a's
// statement and salt; it returns the entry.
func verifyStatement(a *Anchor, v *ledger.Verifier) (*ledger.Entry, error) {
	if a == nil || a.Receipt == nil || v == nil {
		return nil, fmt.Errorf("%w: missing proof, receipt or verifier", ErrInvalidProof)
	}
	e, err := v.VerifyReceipt(a.Receipt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if e.Kind != ledger.KindRecordAnchored {
		return nil, &MismatchError{Field: "kind"}
	}
	c, err := a.Statement.Commitment(a.Salt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if c != e.Digest {
		return nil, &MismatchError{Field: "commitment"}
	}
	return e, nil
}

// VerifyWriter checks the anchor entry's signature with keys (for example
// a [KeyRing] of the EHR's public keys, or an identity.Resolver). It does
// not verify the receipt: use VerifyAnchored for that.
func (a *Anchor) VerifyWriter(ctx context.Context, keys SignatureChecker) error {
	if a == nil || a.Receipt == nil {
		return fmt.Errorf("%w: missing receipt", ErrInvalidProof)
	}
	return checkLeafSignature(ctx, a.Receipt.Leaf, keys)
}
