package consent

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIndexMatchesLinearWide covers patients whose slot bitset does not
// fit on the stack (it comes from the index's pool).
func TestIndexMatchesLinearWide(t *testing.T) {
	g := diffGen{rng: rand.New(rand.NewPCG(12, 4096))}
	cs := g.consents(stackWords * 64 / 2)
	ev, err := New(g.config(), cs)
	require.NoError(t, err)
	idx := ev.patients[patient]
	require.Greater(t, idx.slots.words(), stackWords)
	var reused Decision
	for i := range 300 {
		req := g.request()
		var want Decision
		require.Equal(t, ev.refDecide(&req, &want), ev.DecideInto(&req, &reused))
		require.Equal(t, snapshot(&want), snapshot(&reused), "request %d", i)
	}
}

// TestIndexPrunes checks that the index visits only what can matter: in
// the benchmark's workload, a care-team read visits one provision of one
// consent, whatever the number of consents.
func TestIndexPrunes(t *testing.T) {
	for _, n := range []int{1, 10, 100, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ev, err := New(Config{}, patientConsents(n))
			require.NoError(t, err)
			x := &ev.patients[patient].slots
			req := baseRequest()
			pr := preparedRequest{Request: &req, action: 1 << req.Action, purpose: req.Purpose.bit(), labels: labelMask(req.Resource.Labels)}
			set := make([]uint64, x.words())
			x.mark(&pr, set)
			visited := 0
			for _, w := range set {
				for ; w != 0; w &= w - 1 {
					visited++
				}
			}
			require.Equal(t, 1, visited)
		})
	}
}
