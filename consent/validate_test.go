package consent

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func cyclicConsent() Consent {
	ps := make([]Provision, 1)
	ps[0] = Provision{Purposes: []Purpose{PurposeTreat}}
	ps[0].Provisions = ps // the slice contains itself
	return active(Permit, ps...)
}

func deepConsent(depth int) Consent {
	p := Provision{Purposes: []Purpose{PurposeTreat}}
	for i := 1; i < depth; i++ {
		p = Provision{Purposes: []Purpose{PurposeTreat}, Provisions: []Provision{p}}
	}
	return active(Permit, p)
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		c    Consent
		err  error
		path string
	}{
		{name: "valid", c: careTeamOnly(Provision{Labels: []Label{LabelPsychiatry}})},
		{name: "valid at max depth", c: deepConsent(MaxDepth)},
		{name: "patient not a DID", c: Consent{Patient: "patient-1", Status: StatusActive, Decision: Permit}, err: ErrInvalidConsent, path: "patient"},
		{name: "missing status", c: Consent{Patient: patient, Decision: Permit}, err: ErrUnknownCode, path: "status"},
		{name: "no-consent is not a base decision", c: Consent{Patient: patient, Status: StatusActive}, err: ErrUnknownCode, path: "decision"},
		{name: "consent period ends before it starts", c: Consent{Patient: patient, Status: StatusActive, Decision: Permit, Period: Period{Start: t2026, End: t2025}}, err: ErrInvalidPeriod, path: "period"},
		{name: "empty period is invalid", c: Consent{Patient: patient, Status: StatusActive, Decision: Permit, Period: Period{Start: t2026, End: t2026}}, err: ErrInvalidPeriod, path: "period"},
		{name: "provision period ends before it starts", c: active(Permit, Provision{Period: Period{Start: t2027, End: t2025}}), err: ErrInvalidPeriod, path: "provision[0].period"},
		{name: "data period ends before it starts", c: active(Permit, Provision{DataPeriod: Period{Start: t2027, End: t2025}}), err: ErrInvalidPeriod, path: "provision[0].dataPeriod"},
		{name: "empty provision contradicts its parent", c: active(Permit, Provision{}), err: ErrContradictoryProvision, path: "provision[0]"},
		{name: "nested action disjoint from parent", c: active(Permit, Provision{Actions: []Action{ActionAccess}, Provisions: []Provision{{Actions: []Action{ActionDisclose}}}}),
			err: ErrContradictoryProvision, path: "provision[0].provision[0].action"},
		{name: "nested purpose disjoint from parent", c: careTeamOnly(Provision{Purposes: []Purpose{PurposeResearch}}),
			err: ErrContradictoryProvision, path: "provision[0].provision[0].purpose"},
		{name: "nested specialization is not disjoint", c: careTeamOnly(Provision{Purposes: []Purpose{PurposeEmergencyTreat}})},
		{name: "nested class disjoint from parent", c: active(Permit, Provision{DataClasses: []string{"Observation"}, Provisions: []Provision{{DataClasses: []string{"Condition"}}}}),
			err: ErrContradictoryProvision, path: "provision[0].provision[0].class"},
		{name: "provision period outside the consent period", c: Consent{Patient: patient, Status: StatusActive, Decision: Permit, Period: Period{End: t2025},
			Provisions: []Provision{{Period: Period{Start: t2026}}}}, err: ErrContradictoryProvision, path: "provision[0].period"},
		{name: "nested data period disjoint", c: active(Permit, Provision{DataPeriod: Period{End: t2025}, Provisions: []Provision{{DataPeriod: Period{Start: t2025}}}}),
			err: ErrContradictoryProvision, path: "provision[0].provision[0].dataPeriod"},
		{name: "nested resources disjoint", c: active(Deny, Provision{Resources: []ResourceRef{{Type: "Observation", ID: "a"}}, Provisions: []Provision{{Resources: []ResourceRef{{Type: "Observation", ID: "b"}}}}}),
			err: ErrContradictoryProvision, path: "provision[0].provision[0].data"},
		{name: "cyclic provisions", c: cyclicConsent(), err: ErrCyclicProvision, path: "provision[0]."},
		{name: "too deep", c: deepConsent(MaxDepth + 1), err: ErrTooDeep},
		{name: "unknown action", c: active(Permit, Provision{Actions: []Action{42}}), err: ErrUnknownCode, path: "provision[0].action[0]"},
		{name: "unknown purpose", c: active(Permit, Provision{Purposes: []Purpose{numPurposes}}), err: ErrUnknownCode, path: "provision[0].purpose[0]"},
		{name: "unknown label", c: active(Permit, Provision{Labels: []Label{numLabels}}), err: ErrUnknownCode, path: "provision[0].securityLabel[0]"},
		{name: "unknown resource type", c: active(Permit, Provision{DataClasses: []string{"Observations"}}), err: ErrUnknownCode, path: "provision[0].class[0]"},
		{name: "empty actor", c: active(Permit, Provision{Actors: []ActorMatch{{}}}), err: ErrInvalidConsent, path: "provision[0].actor[0]"},
		{name: "code without system", c: active(Permit, Provision{Codes: []Coding{{Code: "x"}}}), err: ErrInvalidConsent, path: "provision[0].code[0]"},
		{name: "empty grantee", c: Consent{Patient: patient, Status: StatusActive, Decision: Permit, Grantees: []string{""}}, err: ErrInvalidConsent, path: "grantee[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if tc.err == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.err)
			var ve *ValidationError
			require.True(t, errors.As(err, &ve))
			if tc.path != "" {
				require.Equal(t, tc.path, ve.Path)
			}
			_, err = New(Config{}, []Consent{tc.c})
			require.ErrorIs(t, err, tc.err, "an invalid consent must not compile")
		})
	}
}

func TestCodesRoundTrip(t *testing.T) {
	for p := Purpose(1); p < numPurposes; p++ {
		got, err := ParsePurpose(p.String())
		require.NoError(t, err)
		require.Equal(t, p, got)
	}
	for l := Label(1); l < numLabels; l++ {
		got, err := ParseLabel(l.System(), l.String())
		require.NoError(t, err)
		require.Equal(t, l, got)
	}
	_, err := ParseLabel(SystemConfidentiality, "HIV")
	require.ErrorIs(t, err, ErrUnknownCode, "HIV is not a confidentiality code")
	_, err = ParsePurpose("treat")
	require.ErrorIs(t, err, ErrUnknownCode)
	require.True(t, IsResourceType("Observation"))
	require.True(t, IsResourceType("Account"))
	require.True(t, IsResourceType("VisionPrescription"))
	require.False(t, IsResourceType("Observ"))
	require.False(t, IsResourceType("servation"))
	require.False(t, IsResourceType("Observation|Condition"))
	require.Equal(t, PurposeEmergencyTreat, PurposeBreakTheGlass.Parent())
}

// TestStatusUnknown: R5's "unknown" is a status the model holds, encodes
// and keeps out of decisions, like every status but active.
func TestStatusUnknown(t *testing.T) {
	for s := StatusDraft; s <= StatusUnknown; s++ {
		got, err := ParseStatus(s.String())
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	require.Equal(t, "unknown", StatusUnknown.String())
	require.False(t, (StatusUnknown + 1).valid())

	c := active(Deny)
	c.Status = StatusUnknown
	enc, err := c.MarshalBinary()
	require.NoError(t, err)
	back, err := UnmarshalConsent(enc)
	require.NoError(t, err)
	require.Equal(t, StatusUnknown, back.Status)

	ev, err := New(Config{NoConsent: OptOut}, []Consent{c})
	require.NoError(t, err)
	require.Zero(t, ev.Consents(patient))
	req := baseRequest()
	d, err := ev.Decide(&req)
	require.NoError(t, err)
	require.Equal(t, NoConsent, d.Effect)
}
