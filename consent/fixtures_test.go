package consent

import (
	"time"
)

// Fixture identities. DIDs are public pseudonyms, not PHI.
const (
	patient    = "did:hl:patient-1"
	drA        = "did:hl:dr-a"
	drB        = "did:hl:dr-b"
	erDoc      = "did:hl:er-doc"
	researcher = "did:hl:researcher"
	cardioTeam = "did:hl:team-cardio"
	orgGeneral = "did:hl:org-general"
	orgPsych   = "did:hl:org-psych"
	orgUniv    = "did:hl:org-univ"
	roleER     = "ER-PHYSICIAN"
)

var (
	t2025 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t2026 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	t2027 = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

// baseRequest is a care-team doctor reading an observation for treatment.
func baseRequest() Request {
	return Request{
		Patient: patient,
		Actor:   Actor{DID: drA, Roles: []string{"PRCP"}, Organization: orgGeneral, Teams: []string{cardioTeam}},
		Action:  ActionAccess,
		Purpose: PurposeTreat,
		Resource: Resource{
			Type: "Observation", ID: "obs-1",
			Codes: []Coding{{System: "http://loinc.org", Code: "8867-4"}},
			Date:  t2025,
		},
		Time: t2026,
	}
}

func active(decision Effect, ps ...Provision) Consent {
	return Consent{Patient: patient, Status: StatusActive, Decision: decision, Grantors: []string{patient}, Provisions: ps}
}

// careTeamOnly denies everything except treatment by the cardiology team.
func careTeamOnly(nested ...Provision) Consent {
	return active(Deny, Provision{
		Actors:     []ActorMatch{{Reference: cardioTeam}},
		Purposes:   []Purpose{PurposeTreat},
		Provisions: nested,
	})
}

func zeroTime() time.Time { return time.Time{} }
