package consent

import (
	"testing"

	"github.com/stretchr/testify/require"
)

type decisionCase struct {
	name     string
	cfg      Config
	consents []Consent
	req      func(*Request)
	err      error
	effect   Effect
	allowed  bool
	reason   Reason
	glass    bool
	paths    []string // Basis paths, in order
	obl      []Obligation
}

func bg() Config { return Config{BreakGlassRoles: []string{roleER}} }

func asERDoc(purpose Purpose) func(*Request) {
	return func(r *Request) {
		r.Actor = Actor{DID: erDoc, Roles: []string{roleER}, Organization: orgGeneral}
		r.Purpose = purpose
	}
}

func decisionCases() []decisionCase {
	psyDeny := Provision{Labels: []Label{LabelPsychiatry}}
	return []decisionCase{
		// Defaults for "no consent".
		{name: "no consent opt-in denies", effect: NoConsent, reason: ReasonNoConsentDefault},
		{name: "no consent opt-out permits", cfg: Config{NoConsent: OptOut}, effect: NoConsent, allowed: true, reason: ReasonNoConsentDefault},
		{name: "opt-out does not override a deny", cfg: Config{NoConsent: OptOut}, consents: []Consent{active(Deny)},
			effect: Deny, reason: ReasonConsent, paths: []string{""}},
		// Base decisions.
		{name: "base permit", consents: []Consent{active(Permit)}, effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""}},
		{name: "base deny", consents: []Consent{active(Deny)}, effect: Deny, reason: ReasonConsent, paths: []string{""}},
		// One level of provisions.
		{name: "care team member permitted for treatment", consents: []Consent{careTeamOnly()},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"1"}},
		{name: "doctor outside the team denied", consents: []Consent{careTeamOnly()},
			req: func(r *Request) { r.Actor = Actor{DID: drB, Organization: orgGeneral} }, effect: Deny, reason: ReasonConsent, paths: []string{""}},
		{name: "team member for payment denied", consents: []Consent{careTeamOnly()},
			req: func(r *Request) { r.Purpose = PurposePayment }, effect: Deny, reason: ReasonConsent, paths: []string{""}},
		{name: "TREAT covers its specialization CAREMGT", consents: []Consent{careTeamOnly()},
			req: func(r *Request) { r.Purpose = PurposeCareManagement }, effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"1"}},
		{name: "TREAT covers ETREAT without break-glass", consents: []Consent{careTeamOnly()},
			req: func(r *Request) { r.Purpose = PurposeEmergencyTreat }, effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"1"}},
		{name: "research denial covers clinical-trial research", consents: []Consent{active(Permit, Provision{Purposes: []Purpose{PurposeResearch}})},
			req: func(r *Request) { r.Purpose = PurposeClinicalTrialResearch }, effect: Deny, reason: ReasonConsent, paths: []string{"1"}},
		// Nesting.
		{name: "nested deny of a label inside a permit", consents: []Consent{careTeamOnly(psyDeny)},
			req: func(r *Request) { r.Resource.Labels = []Label{LabelPsychiatry} }, effect: Deny, reason: ReasonConsent, paths: []string{"1.1"}},
		{name: "nested deny not matching yields redact obligation", consents: []Consent{careTeamOnly(psyDeny)},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"1"}, obl: []Obligation{{Kind: ObligationRedact, Label: LabelPsychiatry}}},
		{name: "third level re-permits one organization", consents: []Consent{careTeamOnly(Provision{
			Labels: []Label{LabelPsychiatry}, Provisions: []Provision{{Actors: []ActorMatch{{Organization: orgGeneral}}}}})},
			req:    func(r *Request) { r.Resource.Labels = []Label{LabelPsychiatry} },
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"1.1.1"}},
		{name: "third level does not re-permit another organization", consents: []Consent{careTeamOnly(Provision{
			Labels: []Label{LabelPsychiatry}, Provisions: []Provision{{Actors: []ActorMatch{{Organization: orgPsych}}}}})},
			req:    func(r *Request) { r.Resource.Labels = []Label{LabelPsychiatry} },
			effect: Deny, reason: ReasonConsent, paths: []string{"1.1"}},
		{name: "matching sibling denials: first is cited", consents: []Consent{active(Permit,
			Provision{Actors: []ActorMatch{{Organization: orgUniv}}}, Provision{Purposes: []Purpose{PurposeResearch}})},
			req:    func(r *Request) { r.Actor = Actor{DID: researcher, Organization: orgUniv}; r.Purpose = PurposeResearch },
			effect: Deny, reason: ReasonConsent, paths: []string{"1"}},
		{name: "sibling subtrees: deny wins over permit", consents: []Consent{active(Deny,
			Provision{Purposes: []Purpose{PurposeTreat}},
			Provision{Actors: []ActorMatch{{Reference: cardioTeam}}, Provisions: []Provision{{Labels: []Label{LabelHIV}}}})},
			req:    func(r *Request) { r.Resource.Labels = []Label{LabelHIV} },
			effect: Deny, reason: ReasonConsent, paths: []string{"2.1"}},
		{name: "sibling subtrees: permit when the nested deny does not match", consents: []Consent{active(Deny,
			Provision{Purposes: []Purpose{PurposeTreat}},
			Provision{Actors: []ActorMatch{{Reference: cardioTeam}}, Provisions: []Provision{{Labels: []Label{LabelHIV}}}})},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"1"}, obl: []Obligation{{Kind: ObligationRedact, Label: LabelHIV}}},
		// Combining consents.
		{name: "deny wins across consents", consents: []Consent{active(Permit), active(Permit, Provision{Actors: []ActorMatch{{Organization: orgGeneral}}})},
			effect: Deny, reason: ReasonConsent, paths: []string{"1"}},
		{name: "two permits are both cited", consents: []Consent{active(Permit), careTeamOnly()},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"", "1"}},
		{name: "deny then permit order does not matter", consents: []Consent{active(Deny), active(Permit)},
			effect: Deny, reason: ReasonConsent, paths: []string{""}},
		{name: "inactive consent ignored", consents: []Consent{{Patient: patient, Status: StatusInactive, Decision: Deny}, active(Permit)},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""}},
		{name: "draft consent ignored", consents: []Consent{{Patient: patient, Status: StatusDraft, Decision: Permit}},
			effect: NoConsent, reason: ReasonNoConsentDefault},
		{name: "expired consent ignored", consents: []Consent{{Patient: patient, Status: StatusActive, Decision: Permit, Period: Period{Start: t2025, End: t2026}}},
			effect: NoConsent, reason: ReasonNoConsentDefault},
		{name: "consent not yet started ignored", consents: []Consent{{Patient: patient, Status: StatusActive, Decision: Permit, Period: Period{Start: t2027}}},
			effect: NoConsent, reason: ReasonNoConsentDefault},
		{name: "consent inside its period applies", consents: []Consent{{Patient: patient, Status: StatusActive, Decision: Permit, Period: Period{Start: t2025, End: t2027}}},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""}},
		{name: "grantee limits the consent to an organization", consents: []Consent{{Patient: patient, Status: StatusActive, Decision: Permit, Grantees: []string{orgPsych}}},
			effect: NoConsent, reason: ReasonNoConsentDefault},
		{name: "grantee matches a team", consents: []Consent{{Patient: patient, Status: StatusActive, Decision: Permit, Grantees: []string{cardioTeam}}},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""}},
		{name: "consent of another patient does not apply", consents: []Consent{{Patient: "did:hl:patient-2", Status: StatusActive, Decision: Permit}},
			effect: NoConsent, reason: ReasonNoConsentDefault},
		// Criteria.
		{name: "provision period excludes the request time", consents: []Consent{active(Deny, Provision{Purposes: []Purpose{PurposeTreat}, Period: Period{End: t2026}})},
			effect: Deny, reason: ReasonConsent, paths: []string{""}},
		{name: "action not covered", consents: []Consent{active(Deny, Provision{Actions: []Action{ActionAccess}})},
			req: func(r *Request) { r.Action = ActionDisclose }, effect: Deny, reason: ReasonConsent, paths: []string{""}},
		{name: "action covered", consents: []Consent{active(Deny, Provision{Actions: []Action{ActionUse, ActionAccess}})},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"1"}},
		{name: "data class not matching", consents: []Consent{active(Permit, Provision{DataClasses: []string{"MedicationRequest"}})},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""}},
		{name: "data class matching", consents: []Consent{active(Permit, Provision{DataClasses: []string{"Observation"}})},
			effect: Deny, reason: ReasonConsent, paths: []string{"1"}},
		{name: "code matching", consents: []Consent{active(Permit, Provision{Codes: []Coding{{System: "http://loinc.org", Code: "8867-4"}}})},
			effect: Deny, reason: ReasonConsent, paths: []string{"1"}},
		{name: "code of another system not matching", consents: []Consent{active(Permit, Provision{Codes: []Coding{{System: "http://snomed.info/sct", Code: "8867-4"}}})},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""}},
		{name: "data period matching", consents: []Consent{active(Permit, Provision{DataPeriod: Period{End: t2026}})},
			effect: Deny, reason: ReasonConsent, paths: []string{"1"}},
		{name: "data period not matching", consents: []Consent{active(Permit, Provision{DataPeriod: Period{Start: t2026}})},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""}},
		{name: "data period without a resource date fails closed", consents: []Consent{active(Permit, Provision{DataPeriod: Period{Start: t2026}})},
			req:    func(r *Request) { r.Resource.Date = zeroTime() },
			effect: Deny, reason: ReasonIndeterminate, paths: []string{"1"}},
		{name: "permit of a specific resource without a resource id fails closed", consents: []Consent{active(Deny, Provision{Resources: []ResourceRef{{Type: "Observation", ID: "obs-1"}}})},
			req: func(r *Request) { r.Resource.ID = "" }, effect: Deny, reason: ReasonIndeterminate, paths: []string{"1"}},
		{name: "permit of a specific resource", consents: []Consent{active(Deny, Provision{Resources: []ResourceRef{{Type: "Observation", ID: "obs-1"}}})},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"1"}},
		{name: "specific resource of another type", consents: []Consent{active(Deny, Provision{Resources: []ResourceRef{{Type: "Condition", ID: "obs-1"}}})},
			effect: Deny, reason: ReasonConsent, paths: []string{""}},
		{name: "confidentiality V denied", consents: []Consent{active(Permit, Provision{Labels: []Label{LabelVeryRestricted}})},
			req: func(r *Request) { r.Resource.Labels = []Label{LabelNormal, LabelVeryRestricted} }, effect: Deny, reason: ReasonConsent, paths: []string{"1"}},
		{name: "labels match exactly: N is not V", consents: []Consent{active(Permit, Provision{Labels: []Label{LabelVeryRestricted}})},
			req: func(r *Request) { r.Resource.Labels = []Label{LabelNormal} }, effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""},
			obl: []Obligation{{Kind: ObligationRedact, Label: LabelVeryRestricted}}},
		{name: "redact every excluded label", consents: []Consent{active(Permit, Provision{Labels: []Label{LabelHIV, LabelSubstanceUse}}, psyDeny)},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""},
			obl: []Obligation{{Kind: ObligationRedact, Label: LabelSubstanceUse}, {Kind: ObligationRedact, Label: LabelHIV}, {Kind: ObligationRedact, Label: LabelPsychiatry}}},
		{name: "redact a label whose denial cannot be evaluated", consents: []Consent{active(Permit, Provision{Labels: []Label{LabelHIV}, DataPeriod: Period{End: t2025}})},
			req: func(r *Request) { r.Resource.Date = zeroTime() }, effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""},
			obl: []Obligation{{Kind: ObligationRedact, Label: LabelHIV}}},
		{name: "no redaction for a label denied to other actions", consents: []Consent{active(Permit, Provision{Labels: []Label{LabelHIV}, Actions: []Action{ActionDisclose}})},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""}},
		{name: "actor role match", consents: []Consent{active(Deny, Provision{Actors: []ActorMatch{{Role: "PRCP", Organization: orgGeneral}}})},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"1"}},
		{name: "actor role match needs every field", consents: []Consent{active(Deny, Provision{Actors: []ActorMatch{{Role: "PRCP", Organization: orgPsych}}})},
			effect: Deny, reason: ReasonConsent, paths: []string{""}},
		{name: "actor by DID", consents: []Consent{active(Deny, Provision{Actors: []ActorMatch{{Reference: drB}, {Reference: drA}}})},
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{"1"}},
		// Break-glass.
		{name: "break-glass ETREAT by ER role against a deny", cfg: bg(), consents: []Consent{active(Deny)}, req: asERDoc(PurposeEmergencyTreat),
			effect: Deny, allowed: true, reason: ReasonBreakGlass, glass: true, paths: []string{""},
			obl: []Obligation{{Kind: ObligationAudit}, {Kind: ObligationNotifyPatient}}},
		{name: "break-glass BTG by ER role against a deny", cfg: bg(), consents: []Consent{careTeamOnly()}, req: asERDoc(PurposeBreakTheGlass),
			effect: Deny, allowed: true, reason: ReasonBreakGlass, glass: true, paths: []string{""},
			obl: []Obligation{{Kind: ObligationAudit}, {Kind: ObligationNotifyPatient}}},
		{name: "break-glass against no consent in opt-in", cfg: bg(), req: asERDoc(PurposeBreakTheGlass),
			effect: NoConsent, allowed: true, reason: ReasonBreakGlass, glass: true,
			obl: []Obligation{{Kind: ObligationAudit}, {Kind: ObligationNotifyPatient}}},
		{name: "break-glass against an indeterminate denial", cfg: bg(), consents: []Consent{active(Permit, Provision{DataPeriod: Period{Start: t2026}})},
			req:    func(r *Request) { asERDoc(PurposeEmergencyTreat)(r); r.Resource.Date = zeroTime() },
			effect: Deny, allowed: true, reason: ReasonBreakGlass, glass: true, paths: []string{"1"},
			obl: []Obligation{{Kind: ObligationAudit}, {Kind: ObligationNotifyPatient}}},
		{name: "BTG permitted by consent is still flagged", cfg: bg(), consents: []Consent{active(Permit)}, req: asERDoc(PurposeBreakTheGlass),
			effect: Permit, allowed: true, reason: ReasonConsent, glass: true, paths: []string{""},
			obl: []Obligation{{Kind: ObligationAudit}, {Kind: ObligationNotifyPatient}}},
		{name: "ETREAT permitted by consent needs no break-glass", cfg: bg(), consents: []Consent{active(Permit)}, req: asERDoc(PurposeEmergencyTreat),
			effect: Permit, allowed: true, reason: ReasonConsent, paths: []string{""}},
		{name: "BTG without the role is denied even if consent permits", cfg: bg(), consents: []Consent{active(Permit)},
			req: func(r *Request) { r.Purpose = PurposeBreakTheGlass }, effect: Permit, reason: ReasonBreakGlassUnauthorized, paths: []string{""}},
		{name: "BTG with no authorized roles configured is denied", consents: []Consent{active(Deny)}, req: asERDoc(PurposeBreakTheGlass),
			effect: Deny, reason: ReasonBreakGlassUnauthorized, paths: []string{""}},
		{name: "ETREAT without the role stays denied", cfg: bg(), consents: []Consent{active(Deny)},
			req: func(r *Request) { r.Purpose = PurposeEmergencyTreat }, effect: Deny, reason: ReasonConsent, paths: []string{""}},
		{name: "TREAT by ER role is no break-glass", cfg: bg(), consents: []Consent{active(Deny)}, req: asERDoc(PurposeTreat),
			effect: Deny, reason: ReasonConsent, paths: []string{""}},
		// Bad requests: typed errors, never a permit.
		{name: "missing purpose", consents: []Consent{active(Permit)}, req: func(r *Request) { r.Purpose = 0 }, err: ErrMissingPurpose},
		{name: "unknown purpose", consents: []Consent{active(Permit)}, req: func(r *Request) { r.Purpose = 200 }, err: ErrUnknownCode},
		{name: "missing actor", consents: []Consent{active(Permit)}, req: func(r *Request) { r.Actor = Actor{} }, err: ErrInvalidRequest},
		{name: "missing patient", cfg: Config{NoConsent: OptOut}, req: func(r *Request) { r.Patient = "" }, err: ErrInvalidRequest},
		{name: "unknown action", consents: []Consent{active(Permit)}, req: func(r *Request) { r.Action = 9 }, err: ErrInvalidRequest},
		{name: "unknown resource type", consents: []Consent{active(Permit)}, req: func(r *Request) { r.Resource.Type = "observation" }, err: ErrUnknownCode},
		{name: "missing time", consents: []Consent{active(Permit)}, req: func(r *Request) { r.Time = zeroTime() }, err: ErrInvalidRequest},
		{name: "unknown label", consents: []Consent{active(Permit)}, req: func(r *Request) { r.Resource.Labels = []Label{99} }, err: ErrUnknownCode},
	}
}

func TestDecisionTable(t *testing.T) {
	cases := decisionCases()
	require.GreaterOrEqual(t, len(cases), 40)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := New(tc.cfg, tc.consents)
			require.NoError(t, err)
			req := baseRequest()
			if tc.req != nil {
				tc.req(&req)
			}
			d, err := ev.Decide(&req)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.False(t, d.Allowed, "an invalid request must never be allowed")
				require.Equal(t, ReasonInvalid, d.Reason)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.effect, d.Effect, "effect")
			require.Equal(t, tc.allowed, d.Allowed, "allowed")
			require.Equal(t, tc.reason, d.Reason, "reason")
			require.Equal(t, tc.glass, d.BreakGlass, "break-glass")
			var paths []string
			for _, b := range d.Basis {
				paths = append(paths, b.Path)
				require.Contains(t, []Effect{Permit, Deny}, b.Effect)
			}
			require.Equal(t, tc.paths, paths, "basis paths")
			if len(tc.obl) == 0 {
				require.Empty(t, d.Obligations)
			} else {
				require.Equal(t, tc.obl, d.Obligations)
			}
		})
	}
}
