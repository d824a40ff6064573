package records

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/ledger"
)

// AccessRequest asks to act on an anchored record version.
type AccessRequest struct {
	// Anchor is the anchored version acted on. Required except for
	// ActionQuery; only its statement and receipt index are used.
	Anchor *Anchor
	// Action is what the actor wants to do. Required.
	Action Action
	// Actor is who asks (DID, roles, organization, teams). Required.
	Actor consent.Actor
	// Purpose is the purpose of use. Required.
	Purpose consent.Purpose
	// Labels are the record's security labels, for the consent check.
	Labels []consent.Label
	// Codes are the record's codes, for the consent check.
	Codes []consent.Coding
	// Patient and ResourceType are required for ActionQuery only (an
	// Anchor names them otherwise); Query is the search.
	Patient      string
	ResourceType string
	Query        string
	// Client and ClientAddress identify the application and its network
	// address, for AuditEvent export. Optional.
	Client        string
	ClientAddress string
	// Time is when access happens. Default: the Service's clock.
	Time time.Time
}

// Access is a recorded access: the statement, the salt of its commitment,
// its receipt, and the consent decision that allowed it with that
// decision's receipt.
type Access struct {
	Statement       AccessStatement
	Salt            Salt
	Receipt         *ledger.Receipt
	Decision        consent.Decision
	DecisionReceipt *ledger.Receipt
}

// RefusedError reports an access that consent did not allow. The decision
// itself was recorded (consent.Registry.Authorize records every decision)
// at DecisionIndex, so the refusal shows in the patient's report; no
// access entry was written.
type RefusedError struct {
	// DecisionIndex is the log index of the recorded denial.
	DecisionIndex uint64
	// Decision is the denial, with the consents it relied on.
	Decision consent.Decision
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%v: denied (%s), decision recorded at %d", ErrRefused, e.Decision.Reason, e.DecisionIndex)
}

// Unwrap returns ErrRefused.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// consentAction maps an Action to the FHIR consent action it is checked as
// (SPEC.md, "Actions").
func consentAction(a Action) consent.Action {
	switch a {
	case ActionCreate:
		return consent.ActionCollect
	case ActionUpdate:
		return consent.ActionCorrect
	case ActionShare, ActionExport, ActionPrint:
		return consent.ActionDisclose
	}
	return consent.ActionAccess
}

// RecordAccess checks an access with the patient's consent and, if
// allowed, records it, in one call: it asks consent.Registry.Authorize
// (which decides and records the decision), and only when the decision
// allows the access appends an access entry, signed by the EHR, whose
// Digest is the salted commitment to the access statement: the action, the
// actor, the purpose, the anchored version's commitment and index, and the
// decision's index. A denial is a *RefusedError and writes no access entry;
// an error before the decision was recorded writes nothing; an allowed
// access that could not be appended is an error wrapping ErrNotRecorded,
// and the access MUST NOT happen.
func (s *Service) RecordAccess(ctx context.Context, req *AccessRequest) (*Access, error) {
	st, err := s.accessStatement(req)
	if err != nil {
		return nil, err
	}
	creq := consent.Request{Patient: st.Patient, Actor: req.Actor, Action: consentAction(req.Action), Purpose: req.Purpose,
		Resource: consent.Resource{Type: st.ResourceType, ID: st.ID, Labels: req.Labels, Codes: req.Codes}, Time: st.Time}
	a, err := s.cfg.Registry.Authorize(ctx, &creq)
	if err != nil {
		if errors.Is(err, consent.ErrAuditRequired) {
			return nil, fmt.Errorf("%w: %w", ErrNotRecorded, err)
		}
		return nil, err
	}
	if !a.Decision.Allowed {
		return nil, &RefusedError{DecisionIndex: a.Receipt.Index, Decision: a.Decision}
	}
	st.DecisionIndex, st.BreakGlass = a.Receipt.Index, a.Decision.BreakGlass
	salt, err := newSalt()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	c, err := st.Commitment(salt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	e, err := s.entry(ctx, ledger.KindRecordAccessed, st.Patient, c, &payloadWire{Access: ptr(st.wire(salt))})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	r, err := s.cfg.Log.Append(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	return &Access{Statement: st, Salt: salt, Receipt: r, Decision: a.Decision, DecisionReceipt: a.Receipt}, nil
}

func (s *Service) accessStatement(req *AccessRequest) (AccessStatement, error) {
	if req == nil || req.Action == 0 || req.Action >= numActions || req.Actor.DID == "" || req.Purpose == 0 {
		return AccessStatement{}, fmt.Errorf("%w: action, actor and purpose are required", ErrInvalidRequest)
	}
	st := AccessStatement{Action: req.Action, Actor: req.Actor.DID, Purpose: req.Purpose.String(),
		Client: req.Client, ClientAddress: req.ClientAddress, Time: req.Time.UTC()}
	if req.Time.IsZero() {
		st.Time = s.cfg.Now().UTC()
	}
	switch {
	case req.Action == ActionQuery:
		if req.Anchor != nil || req.Patient == "" || req.ResourceType == "" || req.Query == "" {
			return st, fmt.Errorf("%w: a query names a patient, a resource type and the query, and no anchor", ErrInvalidRequest)
		}
		st.Patient, st.ResourceType, st.Query = req.Patient, req.ResourceType, req.Query
	case req.Anchor == nil || req.Anchor.Receipt == nil:
		return st, fmt.Errorf("%w: an anchored version is required", ErrInvalidRequest)
	default:
		a := &req.Anchor.Statement
		c, err := a.Commitment(req.Anchor.Salt)
		if err != nil {
			return st, err
		}
		st.Patient, st.ResourceType, st.ID = a.Patient, a.ResourceType, a.ID
		st.AnchorIndex, st.AnchorCommitment = req.Anchor.Receipt.Index, c
	}
	return st, nil
}

type wireAccess struct {
	Action           string    `json:"action"`
	Patient          string    `json:"patient"`
	Actor            string    `json:"actor"`
	Purpose          string    `json:"purpose"`
	AnchorIndex      uint64    `json:"anchorIndex"`
	AnchorCommitment string    `json:"anchorCommitment"`
	ResourceType     string    `json:"resourceType"`
	ID               string    `json:"id,omitempty"`
	Query            string    `json:"query,omitempty"`
	DecisionIndex    uint64    `json:"decisionIndex"`
	BreakGlass       bool      `json:"breakGlass,omitempty"`
	Client           string    `json:"client,omitempty"`
	ClientAddress    string    `json:"clientAddress,omitempty"`
	Time             time.Time `json:"time"`
	Salt             string    `json:"salt"`
}

func (s *AccessStatement) wire(salt Salt) wireAccess {
	return wireAccess{Action: s.Action.String(), Patient: s.Patient, Actor: s.Actor, Purpose: s.Purpose,
		AnchorIndex: s.AnchorIndex, AnchorCommitment: s.AnchorCommitment.String(), ResourceType: s.ResourceType,
		ID: s.ID, Query: s.Query, DecisionIndex: s.DecisionIndex, BreakGlass: s.BreakGlass, Client: s.Client,
		ClientAddress: s.ClientAddress, Time: s.Time, Salt: salt.String()}
}

func (w *wireAccess) statement() (AccessStatement, Salt, error) {
	act, err := ParseAction(w.Action)
	if err != nil {
		return AccessStatement{}, Salt{}, err
	}
	s := AccessStatement{Action: act, Patient: w.Patient, Actor: w.Actor, Purpose: w.Purpose, AnchorIndex: w.AnchorIndex,
		ResourceType: w.ResourceType, ID: w.ID, Query: w.Query, DecisionIndex: w.DecisionIndex, BreakGlass: w.BreakGlass,
		Client: w.Client, ClientAddress: w.ClientAddress, Time: w.Time.UTC()}
	d, err := hex.DecodeString(w.AnchorCommitment)
	if err != nil || len(d) != len(s.AnchorCommitment) {
		return s, Salt{}, fmt.Errorf("%w: anchorCommitment", ErrMalformed)
	}
	copy(s.AnchorCommitment[:], d)
	salt, err := ParseSalt(w.Salt)
	return s, salt, err
}
