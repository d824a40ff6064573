package consent

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// randomProvision draws a provision from a small vocabulary so that
// criteria often overlap with the requests below.
func randomProvision(rng *rand.Rand, depth int) Provision {
	var p Provision
	for p.empty() {
		if rng.IntN(3) == 0 {
			p.Actors = []ActorMatch{[]ActorMatch{{Reference: cardioTeam}, {Organization: orgPsych}, {Role: roleER}, {Reference: drA}}[rng.IntN(4)]}
		}
		if rng.IntN(3) == 0 {
			p.Actions = []Action{Action(1 + rng.IntN(5))}
		}
		if rng.IntN(3) == 0 {
			p.Purposes = []Purpose{[]Purpose{PurposeTreat, PurposeResearch, PurposePayment, PurposeEmergencyTreat}[rng.IntN(4)]}
		}
		if rng.IntN(3) == 0 {
			p.Labels = []Label{[]Label{LabelPsychiatry, LabelHIV, LabelVeryRestricted}[rng.IntN(3)]}
		}
		if rng.IntN(4) == 0 {
			p.DataClasses = []string{[]string{"Observation", "Condition"}[rng.IntN(2)]}
		}
		if rng.IntN(6) == 0 {
			p.DataPeriod = Period{End: t2026}
		}
	}
	if depth < 3 && rng.IntN(2) == 0 {
		child := randomProvision(rng, depth+1)
		// Keep the child compatible with the parent (no contradiction).
		child.Actions, child.Purposes, child.DataClasses = nil, nil, nil
		if !child.empty() {
			p.Provisions = append(p.Provisions, child)
		}
	}
	return p
}

func randomConsents(rng *rand.Rand) []Consent {
	var cs []Consent
	for range rng.IntN(5) {
		c := active([]Effect{Permit, Deny}[rng.IntN(2)])
		for range rng.IntN(3) {
			c.Provisions = append(c.Provisions, randomProvision(rng, 1))
		}
		cs = append(cs, c)
	}
	return cs
}

func randomRequest(rng *rand.Rand) Request {
	r := baseRequest()
	r.Actor = []Actor{
		{DID: drA, Organization: orgGeneral, Teams: []string{cardioTeam}},
		{DID: drB, Organization: orgPsych},
		{DID: erDoc, Roles: []string{roleER}},
	}[rng.IntN(3)]
	r.Action = Action(1 + rng.IntN(5))
	r.Purpose = []Purpose{PurposeTreat, PurposeResearch, PurposePayment, PurposeEmergencyTreat, PurposeBreakTheGlass}[rng.IntN(5)]
	r.Resource.Type = []string{"Observation", "Condition"}[rng.IntN(2)]
	if rng.IntN(2) == 0 {
		r.Resource.Labels = []Label{[]Label{LabelPsychiatry, LabelHIV, LabelVeryRestricted, LabelNormal}[rng.IntN(4)]}
	}
	if rng.IntN(5) == 0 {
		r.Resource.Date = zeroTime()
	}
	return r
}

// TestDecisionProperties checks, over random consents and requests, rules
// that hold whatever the consents say.
func TestDecisionProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := Config{BreakGlassRoles: []string{roleER}}
	for i := range 3000 {
		cs := randomConsents(rng)
		req := randomRequest(rng)
		ev, err := New(cfg, cs)
		require.NoError(t, err, "case %d", i)
		d, err := ev.Decide(&req)
		require.NoError(t, err)

		// Order of consents does not matter for the answer.
		rev := slices.Clone(cs)
		slices.Reverse(rev)
		ev2, err := New(cfg, rev)
		require.NoError(t, err)
		d2, err := ev2.Decide(&req)
		require.NoError(t, err)
		require.Equal(t, d.Effect, d2.Effect, "case %d", i)
		require.Equal(t, d.Allowed, d2.Allowed, "case %d", i)

		// Adding a deny-all consent denies, unless the glass is broken.
		ev3, err := New(cfg, append(slices.Clone(cs), active(Deny)))
		require.NoError(t, err)
		d3, err := ev3.Decide(&req)
		require.NoError(t, err)
		require.Equal(t, Deny, d3.Effect)
		require.Equal(t, d3.BreakGlass, d3.Allowed, "case %d: only break-glass passes a deny", i)

		// A permit always cites a consent, unless it is the no-consent
		// default or a break-glass; a break-glass always carries both
		// obligations; BTG is allowed only to the role.
		if d.Allowed && d.Effect == Permit {
			require.NotEmpty(t, d.Basis)
		}
		if d.BreakGlass {
			require.Contains(t, d.Obligations, Obligation{Kind: ObligationAudit})
			require.Contains(t, d.Obligations, Obligation{Kind: ObligationNotifyPatient})
		}
		if req.Purpose == PurposeBreakTheGlass && !slices.Contains(req.Actor.Roles, roleER) {
			require.False(t, d.Allowed)
		}
	}
}
