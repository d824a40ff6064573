package consent_test

import (
	"fmt"
	"time"

	"github.com/healthledger/healthledger/consent"
)

// A patient permits treatment by their care team, except psychiatric data.
func ExampleEvaluator_Decide() {
	c := consent.Consent{
		Patient:  "did:hl:patient-1",
		Status:   consent.StatusActive,
		Decision: consent.Deny,
		Provisions: []consent.Provision{{
			Actors:     []consent.ActorMatch{{Reference: "did:hl:team-cardio"}},
			Purposes:   []consent.Purpose{consent.PurposeTreat},
			Provisions: []consent.Provision{{Labels: []consent.Label{consent.LabelPsychiatry}}},
		}},
	}
	ev, err := consent.New(consent.Config{}, []consent.Consent{c})
	if err != nil {
		panic(err)
	}
	req := consent.Request{
		Patient:  "did:hl:patient-1",
		Actor:    consent.Actor{DID: "did:hl:dr-a", Teams: []string{"did:hl:team-cardio"}},
		Action:   consent.ActionAccess,
		Purpose:  consent.PurposeTreat,
		Resource: consent.Resource{Type: "Observation"},
		Time:     time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
	}
	d, _ := ev.Decide(&req)
	fmt.Println(d.Effect, d.Allowed, "provision", d.Basis[0].Path, d.Obligations[0].Kind, d.Obligations[0].Label)

	req.Resource.Labels = []consent.Label{consent.LabelPsychiatry}
	d, _ = ev.Decide(&req)
	fmt.Println(d.Effect, d.Allowed, "provision", d.Basis[0].Path)

	req.Purpose = consent.PurposeResearch
	d, _ = ev.Decide(&req)
	fmt.Println(d.Effect, d.Allowed, "base decision", d.Basis[0].Path == "")
	// Output:
	// permit true provision 1 redact PSY
	// deny false provision 1.1
	// deny false base decision true
}

// An ER physician breaks the glass against a patient's opt-out.
func ExampleEvaluator_Decide_breakGlass() {
	optOut := consent.Consent{Patient: "did:hl:patient-1", Status: consent.StatusActive, Decision: consent.Deny}
	ev, err := consent.New(consent.Config{BreakGlassRoles: []string{"ER-PHYSICIAN"}}, []consent.Consent{optOut})
	if err != nil {
		panic(err)
	}
	req := consent.Request{
		Patient:  "did:hl:patient-1",
		Actor:    consent.Actor{DID: "did:hl:er-doc", Roles: []string{"ER-PHYSICIAN"}},
		Action:   consent.ActionAccess,
		Purpose:  consent.PurposeBreakTheGlass,
		Resource: consent.Resource{Type: "AllergyIntolerance"},
		Time:     time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
	}
	d, _ := ev.Decide(&req)
	fmt.Println(d.Effect, d.Allowed, d.Reason, d.Obligations[0].Kind, d.Obligations[1].Kind)

	req.Actor.Roles = nil
	d, _ = ev.Decide(&req)
	fmt.Println(d.Allowed, d.Reason)
	// Output:
	// deny true break-glass audit notify-patient
	// false break-glass-unauthorized
}

// A request without a purpose of use is an error and a denial.
func ExampleEvaluator_Decide_failClosed() {
	ev, _ := consent.New(consent.Config{NoConsent: consent.OptOut}, nil)
	d, err := ev.Decide(&consent.Request{
		Patient:  "did:hl:patient-1",
		Actor:    consent.Actor{DID: "did:hl:dr-a"},
		Action:   consent.ActionAccess,
		Resource: consent.Resource{Type: "Observation"},
		Time:     time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
	})
	fmt.Println(d.Allowed, err)
	// Output:
	// false consent: invalid request: missing purpose of use at purpose
}
