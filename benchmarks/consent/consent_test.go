package consentbench

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/healthledger/healthledger/consent"
	"github.com/stretchr/testify/require"
)

// sizes are the numbers of consents of the benchmark's patient. At 1000,
// Cedar takes milliseconds per decision, so its figures rest on few batches.
var sizes = []int{1, 10, 100, 1000}

// TestSamePolicies checks that both engines decide the workload alike, so
// the benchmark compares equal work.
func TestSamePolicies(t *testing.T) {
	dr := consent.Actor{DID: "did:hl:dr-a", Organization: "did:hl:org-general", Teams: []string{team}}
	researcher := consent.Actor{DID: "did:hl:res", Organization: orgDID(1)}
	requests := map[string]Request{
		"care team read":      CareTeamRead(),
		"care team PSY":       NewRequest(dr, consent.ActionAccess, consent.PurposeTreat, consent.LabelPsychiatry),
		"care team ETREAT":    NewRequest(dr, consent.ActionAccess, consent.PurposeEmergencyTreat),
		"care team payment":   NewRequest(dr, consent.ActionAccess, consent.PurposePayment),
		"care team HIV disc":  NewRequest(dr, consent.ActionDisclose, consent.PurposeTreat, consent.LabelHIV),
		"researcher":          NewRequest(researcher, consent.ActionAccess, consent.PurposeResearch),
		"researcher CLINTRCH": NewRequest(researcher, consent.ActionAccess, consent.PurposeClinicalTrialResearch),
	}
	for _, n := range sizes {
		ev, err := consent.New(consent.Config{}, Consents(n))
		require.NoError(t, err)
		ps, err := CedarPolicies(n)
		require.NoError(t, err)
		for name, r := range requests {
			t.Run(fmt.Sprintf("n=%d/%s", n, name), func(t *testing.T) {
				d, err := ev.Decide(&r.Consent)
				require.NoError(t, err)
				got, diag := cedar.Authorize(ps, r.Entities, r.Cedar)
				require.Empty(t, diag.Errors)
				require.Equal(t, d.Allowed, got == cedar.Allow)
			})
		}
	}
}

// batch is the number of decisions timed together for the latency
// percentiles (a single decision is too short for the clock).
const batch = 64

func BenchmarkDecide(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("engine=healthledger/consents=%d", n), func(b *testing.B) {
			ev, err := consent.New(consent.Config{}, Consents(n))
			if err != nil {
				b.Fatal(err)
			}
			r := CareTeamRead()
			var d consent.Decision
			decide := func() {
				if err := ev.DecideInto(&r.Consent, &d); err != nil || !d.Allowed {
					b.Fatal("unexpected decision")
				}
			}
			runTimed(b, decide)
		})
		b.Run(fmt.Sprintf("engine=cedar/consents=%d", n), func(b *testing.B) {
			ps, err := CedarPolicies(n)
			if err != nil {
				b.Fatal(err)
			}
			r := CareTeamRead()
			decide := func() {
				if got, _ := cedar.Authorize(ps, r.Entities, r.Cedar); got != cedar.Allow {
					b.Fatal("unexpected decision")
				}
			}
			runTimed(b, decide)
		})
	}
}

// BenchmarkRatio runs both engines in one benchmark, alternating batches
// of decisions, and reports the median time per decision of each and
// Cedar's median over healthledger's (medians resist the noise of a shared
// machine better than means).
func BenchmarkRatio(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("consents=%d", n), func(b *testing.B) {
			ev, err := consent.New(consent.Config{}, Consents(n))
			if err != nil {
				b.Fatal(err)
			}
			ps, err := CedarPolicies(n)
			if err != nil {
				b.Fatal(err)
			}
			r := CareTeamRead()
			var d consent.Decision
			hl := make([]float64, 0, 1<<14)
			cd := make([]float64, 0, 1<<14)
			for b.Loop() {
				t0 := time.Now()
				for range batch {
					_ = ev.DecideInto(&r.Consent, &d)
				}
				t1 := time.Now()
				for range batch {
					cedar.Authorize(ps, r.Entities, r.Cedar)
				}
				t2 := time.Now()
				if len(hl) < cap(hl) {
					hl = append(hl, float64(t1.Sub(t0).Nanoseconds())/batch)
					cd = append(cd, float64(t2.Sub(t1).Nanoseconds())/batch)
				}
			}
			slices.Sort(hl)
			slices.Sort(cd)
			b.ReportMetric(hl[len(hl)/2], "healthledger-p50-ns")
			b.ReportMetric(cd[len(cd)/2], "cedar-p50-ns")
			b.ReportMetric(cd[len(cd)/2]/hl[len(hl)/2], "cedar/healthledger")
		})
	}
}

// runTimed runs decide once per b.Loop iteration (ns/op is per decision)
// and reports the median and 99th percentile of the time per decision over
// batches of decisions (a single decision is too short for the clock).
func runTimed(b *testing.B, decide func()) {
	b.ReportAllocs()
	samples := make([]float64, 0, 1<<16)
	i, t0 := 0, time.Now()
	for b.Loop() {
		decide()
		if i++; i == batch {
			now := time.Now()
			if len(samples) < cap(samples) {
				samples = append(samples, float64(now.Sub(t0).Nanoseconds())/batch)
			}
			i, t0 = 0, now
		}
	}
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(samples[len(samples)/2], "p50-ns/decision")
	b.ReportMetric(samples[len(samples)*99/100], "p99-ns/decision")
}
