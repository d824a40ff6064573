package consent

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// diffGen draws consents and requests from a small vocabulary, so that
// criteria often meet requests, for the differential test.
type diffGen struct{ rng *rand.Rand }

const teamOnc = "did:hl:team-onc"

var (
	diffRefs    = []string{drA, drB, erDoc, researcher, cardioTeam, teamOnc}
	diffOrgs    = []string{orgGeneral, orgPsych, orgUniv}
	diffRoles   = []string{"PRCP", roleER, "NURSE"}
	diffClasses = []string{"Observation", "Condition", "MedicationRequest"}
	diffCodes   = []Coding{{System: "http://loinc.org", Code: "8867-4"}, {System: "http://loinc.org", Code: "2339-0"}, {System: "http://snomed.info/sct", Code: "8867-4"}}
	diffTimes   = []time.Time{t2025, t2026, t2027, t2026.Add(-time.Hour), time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)}
	diffPeriods = []Period{{End: t2026}, {Start: t2026}, {Start: t2025, End: t2027}, {Start: t2027}, {End: t2025}}
)

func pick[T any](g *diffGen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

func (g *diffGen) some(n int) bool { return g.rng.IntN(n) == 0 }

func (g *diffGen) actorMatch() ActorMatch {
	var m ActorMatch
	for m == (ActorMatch{}) {
		if g.some(2) {
			m.Reference = pick(g, diffRefs)
		}
		if g.some(3) {
			m.Role = pick(g, diffRoles)
		}
		if g.some(3) {
			m.Organization = pick(g, diffOrgs)
		}
	}
	return m
}

func (g *diffGen) purpose() Purpose {
	if g.some(2) {
		return pick(g, []Purpose{PurposeTreat, PurposeEmergencyTreat, PurposeBreakTheGlass, PurposeResearch, PurposePayment})
	}
	return Purpose(1 + g.rng.IntN(int(numPurposes)-1))
}

func (g *diffGen) label() Label {
	if g.some(2) {
		return pick(g, []Label{LabelPsychiatry, LabelHIV, LabelVeryRestricted, LabelNormal})
	}
	return Label(1 + g.rng.IntN(int(numLabels)-1))
}

// provision draws a provision; every criterion may be absent, so some are
// wildcards (only labels, periods, data periods or resources).
func (g *diffGen) provision(depth int) Provision {
	var p Provision
	for p.empty() {
		for range g.rng.IntN(3) * btoi(g.some(3)) {
			p.Actors = append(p.Actors, g.actorMatch())
		}
		for range g.rng.IntN(3) * btoi(g.some(3)) {
			p.Actions = append(p.Actions, Action(1+g.rng.IntN(int(ActionCorrect))))
		}
		for range g.rng.IntN(3) * btoi(g.some(3)) {
			p.Purposes = append(p.Purposes, g.purpose())
		}
		for range g.rng.IntN(3) * btoi(g.some(3)) {
			p.Labels = append(p.Labels, g.label())
		}
		for range g.rng.IntN(3) * btoi(g.some(4)) {
			p.DataClasses = append(p.DataClasses, pick(g, diffClasses))
		}
		for range g.rng.IntN(3) * btoi(g.some(5)) {
			p.Codes = append(p.Codes, pick(g, diffCodes))
		}
		if g.some(6) {
			p.Period = pick(g, diffPeriods)
		}
		if g.some(6) {
			p.DataPeriod = pick(g, diffPeriods)
		}
		if g.some(8) {
			p.Resources = []ResourceRef{pick(g, []ResourceRef{{"Observation", "obs-1"}, {"Condition", "obs-1"}, {"Observation", "obs-2"}})}
		}
	}
	for depth < 4 && g.some(3) {
		p.Provisions = append(p.Provisions, g.provision(depth+1))
	}
	return p
}

// consent draws a valid consent: active mostly, some with a period
// (expired, current or future), some with grantees.
func (g *diffGen) consent() Consent {
	for {
		c := active(pick(g, []Effect{Permit, Deny}))
		if g.some(10) {
			c.Status = pick(g, []Status{StatusInactive, StatusDraft, StatusRejected})
		}
		if g.some(4) {
			c.Period = pick(g, diffPeriods)
		}
		if g.some(4) {
			for range 1 + g.rng.IntN(2) {
				c.Grantees = append(c.Grantees, pick(g, append(append([]string{"did:hl:nobody"}, diffRefs...), diffOrgs...)))
			}
		}
		for range g.rng.IntN(4) {
			c.Provisions = append(c.Provisions, g.provision(2))
		}
		if c.Validate() == nil {
			return c
		}
	}
}

func (g *diffGen) consents(n int) []Consent {
	cs := make([]Consent, n)
	for i := range cs {
		cs[i] = g.consent()
	}
	return cs
}

// request draws a request, sometimes invalid (an unknown code, a missing
// purpose), sometimes without resource id or date (fail closed).
func (g *diffGen) request() Request {
	r := baseRequest()
	r.Actor = pick(g, []Actor{
		{DID: drA, Roles: []string{"PRCP"}, Organization: orgGeneral, Teams: []string{cardioTeam}},
		{DID: drB, Organization: orgPsych},
		{DID: erDoc, Roles: []string{roleER, "NURSE"}, Organization: orgGeneral},
		{DID: researcher, Organization: orgUniv, Teams: []string{teamOnc, cardioTeam}},
		{DID: "did:hl:stranger"},
	})
	r.Action = Action(1 + g.rng.IntN(int(ActionCorrect)))
	r.Purpose = g.purpose()
	r.Resource.Type = pick(g, diffClasses)
	r.Resource.ID = pick(g, []string{"obs-1", "obs-2", ""})
	r.Resource.Labels = nil
	for range g.rng.IntN(3) {
		r.Resource.Labels = append(r.Resource.Labels, g.label())
	}
	r.Resource.Codes = nil
	for range g.rng.IntN(3) {
		r.Resource.Codes = append(r.Resource.Codes, pick(g, diffCodes))
	}
	if g.some(4) {
		r.Resource.Date = zeroTime()
	} else {
		r.Resource.Date = pick(g, diffTimes)
	}
	r.Time = pick(g, diffTimes)
	if g.some(40) {
		switch g.rng.IntN(4) {
		case 0:
			r.Purpose = 0
		case 1:
			r.Purpose = numPurposes
		case 2:
			r.Resource.Labels = append(r.Resource.Labels, numLabels)
		default:
			r.Resource.Type = "observation"
		}
	}
	return r
}

func (g *diffGen) config() Config {
	cfg := Config{NoConsent: pick(g, []NoConsentDefault{OptIn, OptOut})}
	if g.some(2) {
		cfg.BreakGlassRoles = []string{roleER}
	}
	return cfg
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// snapshot copies what a decision says, so that a reused Decision can be
// compared with a fresh one (nil and empty slices alike).
func snapshot(d *Decision) Decision {
	s := *d
	s.Basis = append([]Basis{}, d.Basis...)
	s.Obligations = append([]Obligation{}, d.Obligations...)
	return s
}

// TestIndexMatchesLinear is the differential test of the index: over many
// random consent sets and requests (wildcards, denials, nested provisions,
// periods, grantees, unknown codes), the indexed evaluator gives exactly
// the linear reference's decision: effect, answer, reason, break-glass,
// the consents and provisions relied on in order, and obligations.
func TestIndexMatchesLinear(t *testing.T) {
	g := diffGen{rng: rand.New(rand.NewPCG(12, 2026))}
	var reused Decision // DecideInto's hot path reuses one Decision
	sizes := []int{0, 1, 2, 3, 5, 8, 13, 40, 120}
	seen := map[string]int{}
	for i := range 6000 {
		n := sizes[i%len(sizes)]
		cs := g.consents(n)
		ev, err := New(g.config(), cs)
		require.NoError(t, err)
		for j := range 4 {
			req := g.request()
			var want Decision
			wantErr := ev.refDecide(&req, &want)
			gotErr := ev.DecideInto(&req, &reused)
			require.Equal(t, wantErr, gotErr, "case %d.%d", i, j)
			require.Equal(t, snapshot(&want), snapshot(&reused), "case %d.%d: %d consents", i, j, n)
			seen[want.Effect.String()+"/"+want.Reason.String()]++
			if len(want.Basis) > 1 {
				seen["several consents relied on"]++
			}
			if len(want.Obligations) > 0 && !want.BreakGlass {
				seen["redact"]++
			}
			for _, b := range want.Basis {
				if len(b.Path) > 1 {
					seen["nested provision decided"]++
					break
				}
			}
		}
	}
	t.Log(seen)
	// The cases must reach every kind of answer.
	for _, k := range []string{"permit/consent", "deny/consent", "deny/indeterminate", "no-consent/no-consent-default",
		"deny/break-glass", "permit/break-glass-unauthorized", "no-consent/invalid-request",
		"several consents relied on", "redact", "nested provision decided"} {
		require.Greater(t, seen[k], 20, "%s: %v", k, seen)
	}
}
