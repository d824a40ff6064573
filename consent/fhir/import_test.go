package fhir

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/stretchr/testify/require"
)

func importFile(t *testing.T, f string) *consent.Consent {
	t.Helper()
	in, err := os.ReadFile(f)
	require.NoError(t, err)
	c, err := Import(in, testOptions())
	require.NoError(t, err)
	return c
}

// decide returns what c alone answers to a request by dr A at time at.
func decide(t *testing.T, c *consent.Consent, at time.Time, mod func(*consent.Request)) consent.Effect {
	t.Helper()
	ev, err := consent.New(consent.Config{}, []consent.Consent{*c})
	require.NoError(t, err)
	r := consent.Request{
		Patient:  c.Patient,
		Actor:    consent.Actor{DID: "did:hl:dr-a", Organization: "did:hl:org-general"},
		Action:   consent.ActionAccess,
		Purpose:  consent.PurposeOperations,
		Resource: consent.Resource{Type: "Observation", ID: "1"},
		Time:     at,
	}
	if mod != nil {
		mod(&r)
	}
	d, err := ev.Decide(&r)
	require.NoError(t, err)
	return d.Effect
}

// TestPeriodEndIsInclusive: FHIR Period.end is inclusive at the precision
// it is written in, so a deny consent ending at T still denies at T.
func TestPeriodEndIsInclusive(t *testing.T) {
	c := importFile(t, "testdata/r5/deny-until-noon.json")
	treat := func(r *consent.Request) { r.Purpose = consent.PurposeTreat }
	cases := []struct {
		name string
		at   string
		mod  func(*consent.Request)
		want consent.Effect
	}{
		{"before the end", "2026-05-01T11:59:59Z", nil, consent.Deny},
		{"at the end instant", "2026-05-01T12:00:00Z", nil, consent.Deny},
		{"inside the end's second", "2026-05-01T12:00:00.999999999Z", nil, consent.Deny},
		{"after the end's second", "2026-05-01T12:00:01Z", nil, consent.NoConsent},
		{"provision end, millisecond precision, other zone", "2026-04-15T06:30:00.250Z", treat, consent.Permit},
		{"inside the provision end's millisecond", "2026-04-15T06:30:00.250999Z", treat, consent.Permit},
		{"after the provision end's millisecond", "2026-04-15T06:30:00.251Z", treat, consent.Deny},
		{"provision start, date precision", "2026-04-01T00:00:00Z", treat, consent.Permit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339Nano, tc.at)
			require.NoError(t, err)
			require.Equal(t, tc.want, decide(t, c, at, tc.mod))
		})
	}
}

func TestDateTimePrecision(t *testing.T) {
	cases := []struct {
		in         string
		start, end string // the instants a start and an end stand for
	}{
		{"2026", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"2026-02", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"},
		{"2026-05-01", "2026-05-01T00:00:00Z", "2026-05-02T00:00:00Z"},
		{"2026-05-01T12:00:00Z", "2026-05-01T12:00:00Z", "2026-05-01T12:00:01Z"},
		{"2026-05-01T12:00:00+02:00", "2026-05-01T10:00:00Z", "2026-05-01T10:00:01Z"},
		{"2026-05-01T12:00:00.5Z", "2026-05-01T12:00:00.5Z", "2026-05-01T12:00:00.6Z"},
		{"2026-05-01T12:00:00.250Z", "2026-05-01T12:00:00.25Z", "2026-05-01T12:00:00.251Z"},
		{"2026-05-01T12:00:00.123456789Z", "2026-05-01T12:00:00.123456789Z", "2026-05-01T12:00:00.12345679Z"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			s, err := dateTime(tc.in, "p", false)
			require.NoError(t, err)
			require.Equal(t, tc.start, s.Format(time.RFC3339Nano))
			e, err := dateTime(tc.in, "p", true)
			require.NoError(t, err)
			require.Equal(t, tc.end, e.Format(time.RFC3339Nano))
		})
	}
	// A period of one instant (start = end) is valid FHIR.
	in := []byte(`{"resourceType":"Consent","status":"active","subject":{"reference":"did:hl:p-1"},
		"period":{"start":"2026-05-01T12:00:00Z","end":"2026-05-01T12:00:00Z"},"decision":"deny"}`)
	c, err := Import(in, Options{})
	require.NoError(t, err)
	require.True(t, c.Period.Contains(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)))
}

// TestActorRoleKeepsEveryCoding: the codings of actor.role are
// alternatives; an actor holding any of them is matched.
func TestActorRoleKeepsEveryCoding(t *testing.T) {
	c := importFile(t, "testdata/r5/role-any-coding.json")
	require.Equal(t, []consent.ActorMatch{{Role: "PRCP"}, {Role: "primary-care"}}, c.Provisions[0].Actors)
	for _, tc := range []struct {
		roles []string
		want  consent.Effect
	}{
		{[]string{"PRCP"}, consent.Deny},
		{[]string{"primary-care"}, consent.Deny},
		{[]string{"nurse", "primary-care"}, consent.Deny},
		{[]string{"nurse"}, consent.Permit},
		{nil, consent.Permit},
	} {
		t.Run(fmt.Sprint(tc.roles), func(t *testing.T) {
			got := decide(t, c, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), func(r *consent.Request) { r.Actor.Roles = tc.roles })
			require.Equal(t, tc.want, got)
		})
	}
}

// TestResourceTypeSystems: provision.resourceType may use the R5 code
// system fhir-types as well as the R4 resource-types.
func TestResourceTypeSystems(t *testing.T) {
	c := importFile(t, "testdata/r5/resource-type-r5-system.json")
	require.Equal(t, []string{"Observation", "DiagnosticReport"}, c.Provisions[0].DataClasses)
	research := func(typ string) func(*consent.Request) {
		return func(r *consent.Request) { r.Purpose, r.Resource.Type = consent.PurposeResearch, typ }
	}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, consent.Deny, decide(t, c, at, research("Observation")))
	require.Equal(t, consent.Deny, decide(t, c, at, research("DiagnosticReport")))
	require.Equal(t, consent.Permit, decide(t, c, at, research("Condition")))

	// The same in an R4 class, and another system is still refused.
	r4 := `{"resourceType":"Consent","status":"active","patient":{"reference":"did:hl:p-1"},
		"provision":{"type":"deny","class":[{"system":"%s","code":"Observation"}]}}`
	c, err := Import(fmt.Appendf(nil, r4, systemFHIRTypes), Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"Observation"}, c.Provisions[0].DataClasses)
	_, err = Import(fmt.Appendf(nil, r4, "http://example.org/types"), Options{})
	require.ErrorIs(t, err, consent.ErrUnsupportedElement)
}

// TestStatusUnknown: R5 status "unknown" imports, and the consent does not
// apply.
func TestStatusUnknown(t *testing.T) {
	c := importFile(t, "testdata/r5/status-unknown.json")
	require.Equal(t, consent.StatusUnknown, c.Status)
	require.Equal(t, consent.NoConsent, decide(t, c, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), nil))
}

// TestMissingDecision: R5 allows a Consent without decision but gives it
// no meaning; the import fails with an error that says so, at the element.
func TestMissingDecision(t *testing.T) {
	in := []byte(`{"resourceType":"Consent","status":"active","subject":{"reference":"Patient/example"},
		"provision":[{"purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"HRESCH"}]}]}`)
	_, err := Import(in, testOptions())
	require.ErrorIs(t, err, ErrMissingDecision)
	require.ErrorIs(t, err, consent.ErrInvalidConsent)
	var ve *consent.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "Consent.decision", ve.Path)
	require.Contains(t, err.Error(), "no default", "the error says why")
}

// TestMetaIsAcceptedAndIgnored: meta (versionId, lastUpdated, profile,
// source, security labels and tags of the Consent resource itself) does
// not make a resource unimportable and does not change the consent.
func TestMetaIsAcceptedAndIgnored(t *testing.T) {
	with := importFile(t, "testdata/r5/opt-out-with-meta.json")
	without := importFile(t, "testdata/r5/opt-out.json")
	require.Equal(t, without, with)
}
