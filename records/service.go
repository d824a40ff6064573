package records

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/ledger"
)

// Config configures a [Service]. The zero value of every optional field
// means its documented default.
type Config struct {
	// Log is the ledger (a *ledger.Log). Required.
	Log consent.Log
	// Registry decides and records consent decisions, and gives each
	// patient's subject tag: a patient's anchors and accesses are filed
	// under the same keyed tag as their consents, so one scan finds them
	// all. Required.
	Registry *consent.Registry
	// Signer signs anchor and access entries as the EHR (an
	// *identity.Holder). Required.
	Signer consent.EntrySigner
	// Sealer seals every statement kept beside the tree (a *privacy.Vault).
	// Required: the statements name patients, actors and records.
	Sealer consent.Sealer
	// Now is the clock that dates anchors and accesses. Default time.Now.
	Now func() time.Time
}

// Service anchors record versions and records accesses to them on a
// ledger, and builds patients' reports. It is safe for concurrent use: it
// holds no mutable state of its own.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Log == nil || cfg.Registry == nil || cfg.Signer == nil || cfg.Sealer == nil {
		return nil, fmt.Errorf("%w: Config needs Log, Registry, Signer and Sealer", ErrInvalidConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// Anchor anchors one version of a FHIR JSON resource (R4 or R5) of patient:
// it computes the canonical form v1 and its digest, and appends an entry
// signed by the EHR whose Digest is the salted commitment to the anchor
// statement (patient, resourceType, id, meta.versionId, digest). The
// statement and salt are sealed beside the tree; the returned Anchor
// carries them with the receipt. The resource must have resourceType, id
// and meta.versionId (ErrNotFHIR otherwise).
func (s *Service) Anchor(ctx context.Context, patient string, resource []byte) (*Anchor, error) {
	v, err := parse(resource)
	if err != nil {
		return nil, err
	}
	typ, id, version := fhirHeader(v)
	if typ == "" || id == "" || version == "" {
		return nil, fmt.Errorf("%w: resourceType, id and meta.versionId are required", ErrNotFHIR)
	}
	st := AnchorStatement{Format: FormatFHIRJSON, Patient: patient, ResourceType: typ, ID: id, Version: version,
		Digest: sha256.Sum256(appendValue(make([]byte, 0, len(resource)), stripVersioning(v)))}
	return s.anchor(ctx, st)
}

// AnchorDocument anchors a raw document (a PDF, a DICOM object) by the
// SHA-256 of its bytes, under its media type, id and version.
func (s *Service) AnchorDocument(ctx context.Context, patient, mediaType, id, version string, data []byte) (*Anchor, error) {
	st := AnchorStatement{Format: FormatRaw, Patient: patient, ResourceType: mediaType, ID: id, Version: version,
		Digest: sha256.Sum256(data)}
	return s.anchor(ctx, st)
}

func (s *Service) anchor(ctx context.Context, st AnchorStatement) (*Anchor, error) {
	salt, err := newSalt()
	if err != nil {
		return nil, err
	}
	c, err := st.Commitment(salt)
	if err != nil {
		return nil, err
	}
	w := payloadWire{Anchor: ptr(st.wire(salt))}
	e, err := s.entry(ctx, ledger.KindRecordAnchored, st.Patient, c, &w)
	if err != nil {
		return nil, err
	}
	r, err := s.cfg.Log.Append(ctx, e)
	if err != nil {
		return nil, err
	}
	return &Anchor{Statement: st, Salt: salt, Receipt: r}, nil
}

func ptr[T any](v T) *T { return &v }

// payloadWire is the sealed payload of an anchor or access entry
// (SPEC.md, "Payloads"): exactly one of the two.
type payloadWire struct {
	Anchor *wireAnchor `json:"anchor,omitempty"`
	Access *wireAccess `json:"access,omitempty"`
}

// entry builds, seals and signs an entry of the patient with the
// commitment c as its Digest and w as its payload.
func (s *Service) entry(ctx context.Context, kind ledger.Kind, patient string, c ledger.Digest, w *payloadWire) (*ledger.Entry, error) {
	tag, err := s.cfg.Registry.SubjectTag(patient)
	if err != nil {
		return nil, err
	}
	at := s.cfg.Now().UTC()
	if w.Access != nil {
		at = w.Access.Time
	}
	plain, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	sealed, err := s.cfg.Sealer.Seal(ctx, tag, payloadAssociatedData(kind, at), plain)
	if err != nil {
		return nil, fmt.Errorf("records: sealing: %w", err)
	}
	e := &ledger.Entry{Kind: kind, Subject: tag, Time: at, Digest: c}
	if err := e.SetPayload(sealed); err != nil {
		return nil, err
	}
	if err := s.cfg.Signer.SignEntry(e); err != nil {
		return nil, err
	}
	return e, nil
}

// open returns the decoded payload of an anchor or access entry.
func (s *Service) open(ctx context.Context, e *ledger.Entry) (*payloadWire, error) {
	if e.Payload == nil {
		return nil, fmt.Errorf("%w: no payload", ErrMalformed)
	}
	plain, err := s.cfg.Sealer.Open(ctx, e.Subject, payloadAssociatedData(e.Kind, e.Time), e.Payload.Data)
	if err != nil {
		return nil, fmt.Errorf("records: opening payload: %w", err)
	}
	var w payloadWire
	if err := json.Unmarshal(plain, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &w, nil
}
