package records

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/ledger"
)

// Domain-separation strings of the hashes this package defines (SPEC.md).
const (
	// AnchorCommitmentDomain prefixes the commitment to an anchor statement.
	AnchorCommitmentDomain = "healthledger/records/anchor/v1\x00"
	// AccessCommitmentDomain prefixes the commitment to an access statement.
	AccessCommitmentDomain = "healthledger/records/access/v1\x00"
	// payloadADDomain separates the associated data of sealed payloads.
	payloadADDomain = "healthledger/records/payload/v1\x00"
)

// SaltSize is the size of a statement's salt.
const SaltSize = len(Salt{})

// Salt is the random value a commitment is salted with. Whoever holds it
// and the statement can check the commitment on the log; without it the
// commitment reveals nothing, even of a statement with few unknowns. It is
// the type of package consent's custodial statements, so that a report
// carries one kind of salt.
type Salt = consent.Salt

// ParseSalt parses the hex encoding of a salt.
func ParseSalt(s string) (Salt, error) {
	out, err := consent.ParseSalt(s)
	if err != nil {
		return out, fmt.Errorf("%w: salt is not %d bytes of hex", ErrMalformed, SaltSize)
	}
	return out, nil
}

func newSalt() (Salt, error) {
	var s Salt
	if _, err := rand.Read(s[:]); err != nil {
		return s, fmt.Errorf("records: salt: %w", err)
	}
	return s, nil
}

// Format says how an anchored content digest was computed.
type Format uint8

// Formats.
const (
	// FormatFHIRJSON: SHA-256 of the canonical form v1 of a FHIR JSON
	// resource ([Canonicalize]).
	FormatFHIRJSON Format = 1
	// FormatRaw: SHA-256 of a document's bytes as stored (PDF, DICOM, ...).
	FormatRaw Format = 2
)

// String returns "fhir-json-v1" or "raw".
func (f Format) String() string {
	switch f {
	case FormatFHIRJSON:
		return "fhir-json-v1"
	case FormatRaw:
		return "raw"
	}
	return "invalid"
}

// AnchorStatement is what an anchor commits to: which version of which
// record of which patient had which content digest.
type AnchorStatement struct {
	// Format says how Digest was computed.
	Format Format `json:"format"`
	// Patient is the DID of the patient the record is about.
	Patient string `json:"patient"`
	// ResourceType is the FHIR resource type, or for a raw document its
	// media type (application/pdf, application/dicom).
	ResourceType string `json:"resourceType"`
	// ID is the resource (or document) id.
	ID string `json:"id"`
	// Version is the version id (FHIR meta.versionId).
	Version string `json:"version"`
	// Digest is SHA-256 of the canonical form (FormatFHIRJSON) or of the
	// bytes (FormatRaw).
	Digest ledger.Digest `json:"digest"`
}

// maxField bounds every text field of a statement.
const maxField = 1024

func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func checkFields(fields map[string]string) error {
	for name, s := range fields {
		if len(s) > maxField || !utf8.ValidString(s) {
			return fmt.Errorf("%w: %s must be at most %d bytes of UTF-8", ErrInvalidRequest, name, maxField)
		}
	}
	return nil
}

// MarshalBinary returns the statement's encoding (SPEC.md, "Anchor
// statement"): format byte, then patient, resourceType, id and version each
// as a big-endian uint16 length and UTF-8 bytes, then the 32-byte digest.
func (s *AnchorStatement) MarshalBinary() ([]byte, error) {
	if s.Format != FormatFHIRJSON && s.Format != FormatRaw {
		return nil, fmt.Errorf("%w: format", ErrInvalidRequest)
	}
	if s.Patient == "" || s.ResourceType == "" || s.ID == "" || s.Version == "" {
		return nil, fmt.Errorf("%w: patient, resourceType, id and version are required", ErrInvalidRequest)
	}
	if err := checkFields(map[string]string{"patient": s.Patient, "resourceType": s.ResourceType, "id": s.ID, "version": s.Version}); err != nil {
		return nil, err
	}
	b := []byte{byte(s.Format)}
	for _, f := range []string{s.Patient, s.ResourceType, s.ID, s.Version} {
		b = appendField(b, f)
	}
	return append(b, s.Digest[:]...), nil
}

// Commitment returns SHA-256(AnchorCommitmentDomain || salt || encoding):
// the value an anchor entry carries as its Digest.
func (s *AnchorStatement) Commitment(salt Salt) (ledger.Digest, error) {
	enc, err := s.MarshalBinary()
	if err != nil {
		return ledger.Digest{}, err
	}
	return commit(AnchorCommitmentDomain, salt, enc), nil
}

func commit(domain string, salt Salt, enc []byte) ledger.Digest {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(salt[:])
	h.Write(enc)
	var d ledger.Digest
	h.Sum(d[:0])
	return d
}

// Action is what an actor did with a record.
type Action uint8

// Actions. Each maps to a FHIR consent action for the consent check and to
// an IHE BALP pattern for AuditEvent export (SPEC.md, "Actions").
const (
	ActionRead Action = iota + 1
	ActionCreate
	ActionUpdate
	ActionShare
	ActionExport
	ActionPrint
	// ActionQuery is a search about the patient; it names no anchored
	// version but the query itself.
	ActionQuery
	numActions
)

var actionNames = [...]string{"", "read", "create", "update", "share", "export", "print", "query"}

// String returns the action's name ("read", "create", ...).
func (a Action) String() string {
	if a == 0 || a >= numActions {
		return "invalid"
	}
	return actionNames[a]
}

// ParseAction parses an action name.
func ParseAction(s string) (Action, error) {
	for i := 1; i < len(actionNames); i++ {
		if actionNames[i] == s {
			return Action(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown action", ErrMalformed)
}

// AccessStatement is what an access entry commits to: who did what to
// which anchored version, why, and which recorded consent decision
// allowed it.
type AccessStatement struct {
	// Action is what was done.
	Action Action `json:"action"`
	// Patient is the DID of the patient.
	Patient string `json:"patient"`
	// Actor is the DID of who acted.
	Actor string `json:"actor"`
	// Purpose is the HL7 v3 ActReason purpose of use (TREAT, ETREAT, BTG, ...).
	Purpose string `json:"purpose"`
	// AnchorIndex is the log index of the anchored version (0 with a Query).
	AnchorIndex uint64 `json:"anchorIndex"`
	// AnchorCommitment is the anchor entry's Digest: the salted commitment
	// to the version's digest (zero with a Query).
	AnchorCommitment ledger.Digest `json:"anchorCommitment"`
	// ResourceType and ID name the record (the type alone for a Query).
	ResourceType string `json:"resourceType"`
	ID           string `json:"id,omitempty"`
	// Query is the search, for ActionQuery.
	Query string `json:"query,omitempty"`
	// DecisionIndex is the log index of the consent decision (a
	// consent.KindAccessDecided entry) that allowed the access.
	DecisionIndex uint64 `json:"decisionIndex"`
	// BreakGlass reports an access allowed by a break-glass override.
	BreakGlass bool `json:"breakGlass,omitempty"`
	// Client identifies the application used and ClientAddress its network
	// address, as the EHR knows them (both optional).
	Client        string `json:"client,omitempty"`
	ClientAddress string `json:"clientAddress,omitempty"`
	// Time is when the access happened (UTC, the entry's time).
	Time time.Time `json:"time"`
}

// MarshalBinary returns the statement's encoding (SPEC.md, "Access
// statement").
func (s *AccessStatement) MarshalBinary() ([]byte, error) {
	if s.Action == 0 || s.Action >= numActions {
		return nil, fmt.Errorf("%w: action", ErrInvalidRequest)
	}
	if s.Patient == "" || s.Actor == "" || s.Purpose == "" || s.ResourceType == "" || s.Time.IsZero() {
		return nil, fmt.Errorf("%w: patient, actor, purpose, resourceType and time are required", ErrInvalidRequest)
	}
	if err := checkFields(map[string]string{"patient": s.Patient, "actor": s.Actor, "purpose": s.Purpose,
		"resourceType": s.ResourceType, "id": s.ID, "query": s.Query, "client": s.Client, "clientAddress": s.ClientAddress}); err != nil {
		return nil, err
	}
	b := []byte{byte(s.Action)}
	for _, f := range []string{s.Patient, s.Actor, s.Purpose, s.ResourceType, s.ID, s.Query, s.Client, s.ClientAddress} {
		b = appendField(b, f)
	}
	b = binary.BigEndian.AppendUint64(b, s.AnchorIndex)
	b = append(b, s.AnchorCommitment[:]...)
	b = binary.BigEndian.AppendUint64(b, s.DecisionIndex)
	flags := byte(0)
	if s.BreakGlass {
		flags = 1
	}
	b = append(b, flags)
	return binary.BigEndian.AppendUint64(b, uint64(s.Time.UnixNano())), nil
}

// Commitment returns SHA-256(AccessCommitmentDomain || salt || encoding):
// the value an access entry carries as its Digest.
func (s *AccessStatement) Commitment(salt Salt) (ledger.Digest, error) {
	enc, err := s.MarshalBinary()
	if err != nil {
		return ledger.Digest{}, err
	}
	return commit(AccessCommitmentDomain, salt, enc), nil
}

// payloadAssociatedData binds a sealed payload to its entry's kind and time.
func payloadAssociatedData(kind ledger.Kind, at time.Time) []byte {
	b := append([]byte(payloadADDomain), byte(kind>>8), byte(kind))
	return binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
}
