// Package consentbench measures consent decisions of package consent and
// compares them with the same policies written in Cedar (cedar-go),
// evaluated in the same run.
//
// The workload: one patient with n consents. Consent 1 denies everything
// except treatment by the cardiology care team, and within that denies
// resources labelled PSY. Consents 2..n each permit everything except
// research by one organization and disclosure of HIV-labelled resources.
// In Cedar each consent becomes one forbid (its denial, since denials win)
// and one permit (its permission), so n consents are 2n Cedar policies.
package consentbench

import (
	"fmt"
	"strings"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/healthledger/healthledger/consent"
)

// Patient is the DID of the benchmark's patient.
const Patient = "did:hl:patient-1"

const team = "did:hl:team-cardio"

func orgDID(i int) string { return fmt.Sprintf("did:hl:org-%d", i) }

// Consents returns the n consents of the workload.
func Consents(n int) []consent.Consent {
	cs := []consent.Consent{{
		Patient: Patient, Status: consent.StatusActive, Decision: consent.Deny,
		Provisions: []consent.Provision{{
			Actors:     []consent.ActorMatch{{Reference: team}},
			Purposes:   []consent.Purpose{consent.PurposeTreat},
			Provisions: []consent.Provision{{Labels: []consent.Label{consent.LabelPsychiatry}}},
		}},
	}}
	for i := 1; i < n; i++ {
		cs = append(cs, consent.Consent{
			Patient: Patient, Status: consent.StatusActive, Decision: consent.Permit,
			Provisions: []consent.Provision{
				{Actors: []consent.ActorMatch{{Organization: orgDID(i)}}, Purposes: []consent.Purpose{consent.PurposeResearch}},
				{Labels: []consent.Label{consent.LabelHIV}, Actions: []consent.Action{consent.ActionDisclose}},
			},
		})
	}
	return cs
}

// treatFamily is TREAT and its specializations, as consent matches them.
const treatFamily = `["TREAT", "ETREAT", "BTG", "CAREMGT"]`
const researchFamily = `["HRESCH", "CLINTRCH"]`

// CedarPolicies returns the workload as Cedar policies.
func CedarPolicies(n int) (*cedar.PolicySet, error) {
	var b strings.Builder
	careTeam := `principal.teams.contains("` + team + `") && ` + treatFamily + `.contains(context.purpose) && !resource.labels.contains("PSY")`
	fmt.Fprintf(&b, "@id(\"c1-deny\")\nforbid (principal, action, resource) unless { %s };\n", careTeam)
	fmt.Fprintf(&b, "@id(\"c1-permit\")\npermit (principal, action, resource) when { %s };\n", careTeam)
	for i := 1; i < n; i++ {
		deny := fmt.Sprintf(`(principal.organization == "%s" && %s.contains(context.purpose)) || (resource.labels.contains("HIV") && action == Action::"disclose")`,
			orgDID(i), researchFamily)
		fmt.Fprintf(&b, "@id(\"c%d-deny\")\nforbid (principal, action, resource) when { %s };\n", i+1, deny)
		fmt.Fprintf(&b, "@id(\"c%d-permit\")\npermit (principal, action, resource) unless { %s };\n", i+1, deny)
	}
	return cedar.NewPolicySetFromBytes("consents.cedar", []byte(b.String()))
}

// Request is one benchmark request in both forms.
type Request struct {
	Consent  consent.Request
	Cedar    cedar.Request
	Entities cedar.EntityMap
}

// NewRequest builds the same request for both engines.
func NewRequest(actor consent.Actor, action consent.Action, purpose consent.Purpose, labels ...consent.Label) Request {
	r := Request{Consent: consent.Request{
		Patient: Patient, Actor: actor, Action: action, Purpose: purpose,
		Resource: consent.Resource{Type: "Observation", ID: "obs-1", Labels: labels, Date: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		Time:     time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
	}}
	teams := make([]cedar.Value, 0, len(actor.Teams))
	for _, t := range actor.Teams {
		teams = append(teams, cedar.String(t))
	}
	ls := make([]cedar.Value, 0, len(labels))
	for _, l := range labels {
		ls = append(ls, cedar.String(l.String()))
	}
	principal := cedar.NewEntityUID("User", cedar.String(actor.DID))
	resource := cedar.NewEntityUID("Observation", "obs-1")
	r.Entities = cedar.EntityMap{
		principal: {UID: principal, Attributes: cedar.NewRecord(cedar.RecordMap{
			"organization": cedar.String(actor.Organization),
			"teams":        cedar.NewSet(teams...),
		})},
		resource: {UID: resource, Attributes: cedar.NewRecord(cedar.RecordMap{
			"labels": cedar.NewSet(ls...),
		})},
	}
	r.Cedar = cedar.Request{
		Principal: principal,
		Action:    cedar.NewEntityUID("Action", cedar.String(action.String())),
		Resource:  resource,
		Context:   cedar.NewRecord(cedar.RecordMap{"purpose": cedar.String(purpose.String())}),
	}
	return r
}

// CareTeamRead is the benchmark's main request: a care-team doctor reading
// an unlabelled observation for treatment. It is permitted by every consent.
func CareTeamRead() Request {
	return NewRequest(consent.Actor{DID: "did:hl:dr-a", Organization: "did:hl:org-general", Teams: []string{team}},
		consent.ActionAccess, consent.PurposeTreat)
}
