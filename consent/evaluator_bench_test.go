package consent

import (
	"fmt"
	"testing"
)

// patientConsents returns n realistic consents for one patient: a care-team
// permit with a nested mental-health exclusion, plus denials of other
// organizations and purposes.
func patientConsents(n int) []Consent {
	cs := []Consent{careTeamOnly(Provision{Labels: []Label{LabelPsychiatry}})}
	for i := 1; i < n; i++ {
		cs = append(cs, active(Permit,
			Provision{Actors: []ActorMatch{{Organization: fmt.Sprintf("did:hl:org-%d", i)}}, Purposes: []Purpose{PurposeResearch}},
			Provision{Labels: []Label{LabelHIV}, Actions: []Action{ActionDisclose}},
		))
	}
	return cs
}

func BenchmarkDecideInto(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("consents=%d", n), func(b *testing.B) {
			ev, err := New(Config{}, patientConsents(n))
			if err != nil {
				b.Fatal(err)
			}
			req := baseRequest()
			var d Decision
			b.ReportAllocs()
			for b.Loop() {
				if err := ev.DecideInto(&req, &d); err != nil {
					b.Fatal(err)
				}
			}
			if !d.Allowed || len(d.Basis) != n {
				b.Fatalf("unexpected decision %v", d.Effect)
			}
		})
	}
}

func TestDecideIntoDoesNotAllocate(t *testing.T) {
	ev, err := New(Config{}, patientConsents(10))
	if err != nil {
		t.Fatal(err)
	}
	req := baseRequest()
	var d Decision
	_ = ev.DecideInto(&req, &d) // grow d's slices once
	allocs := testing.AllocsPerRun(100, func() { _ = ev.DecideInto(&req, &d) })
	if allocs != 0 {
		t.Fatalf("DecideInto allocated %v times per call", allocs)
	}
}

// BenchmarkDecideIntoWildcards is the index's worst case beside the
// linear reference: every consent has a provision filed under nothing a
// request lacks (a label under a Permit, which can ask for a redaction),
// so every consent is visited.
func BenchmarkDecideIntoWildcards(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		cs := make([]Consent, n)
		for i := range cs {
			cs[i] = active(Permit, Provision{Labels: []Label{LabelHIV}, Period: Period{Start: t2025.AddDate(0, 0, i)}})
		}
		ev, err := New(Config{}, cs)
		if err != nil {
			b.Fatal(err)
		}
		req := baseRequest()
		for _, engine := range []struct {
			name   string
			decide func(*Request, *Decision) error
		}{{"index", ev.DecideInto}, {"linear", ev.refDecide}} {
			b.Run(fmt.Sprintf("engine=%s/consents=%d", engine.name, n), func(b *testing.B) {
				var d Decision
				b.ReportAllocs()
				for b.Loop() {
					if err := engine.decide(&req, &d); err != nil {
						b.Fatal(err)
					}
				}
				if !d.Allowed || len(d.Basis) != n || len(d.Obligations) != 1 {
					b.Fatalf("unexpected decision %v", d.Effect)
				}
			})
		}
	}
}

// BenchmarkDecideIntoCustodial decides the same request against n
// consents the patient signed ("own") and against the same n consents
// recorded by a custodian behind one patient-signed consent that does not
// apply ("custodial"): the custodial tier costs a second, empty pass over
// the patient's own consents and flagging the basis.
func BenchmarkDecideIntoCustodial(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		own, err := New(Config{}, patientConsents(n))
		if err != nil {
			b.Fatal(err)
		}
		idx, err := compilePatient([]Consent{{Patient: patient, Status: StatusActive, Decision: Deny, Grantees: []string{orgUniv}}})
		if err != nil {
			b.Fatal(err)
		}
		if idx.custodial, err = compilePatient(patientConsents(n)); err != nil {
			b.Fatal(err)
		}
		cust, err := New(Config{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		cust.patients[patient] = idx
		req := baseRequest()
		for _, engine := range []struct {
			name      string
			ev        *Evaluator
			custodial bool
		}{{"own", own, false}, {"custodial", cust, true}} {
			b.Run(fmt.Sprintf("consents=%d/tier=%s", n, engine.name), func(b *testing.B) {
				var d Decision
				b.ReportAllocs()
				for b.Loop() {
					if err := engine.ev.DecideInto(&req, &d); err != nil {
						b.Fatal(err)
					}
				}
				if !d.Allowed || len(d.Basis) != n || d.Custodial() != engine.custodial {
					b.Fatalf("unexpected decision %v", d.Effect)
				}
			})
		}
	}
}
