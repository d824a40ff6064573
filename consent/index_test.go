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

// TestIndexConcurrent decides from several goroutines at once on one
// index, narrow and wide (pooled bitsets), under -race.
func TestIndexConcurrent(t *testing.T) {
	for _, n := range []int{40, stackWords * 64 / 2} {
		g := diffGen{rng: rand.New(rand.NewPCG(uint64(n), 7))}
		ev, err := New(g.config(), g.consents(n))
		require.NoError(t, err)
		require.Equal(t, n > 40, ev.patients[patient].slots.words() > stackWords)
		reqs := make([]Request, 64)
		want := make([]Decision, len(reqs))
		for i := range reqs {
			reqs[i] = g.request()
			_ = ev.refDecide(&reqs[i], &want[i])
		}
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			for w := range 4 {
				t.Run(fmt.Sprint(w), func(t *testing.T) {
					t.Parallel()
					var d Decision
					for i := range reqs {
						_ = ev.DecideInto(&reqs[i], &d)
						require.Equal(t, snapshot(&want[i]), snapshot(&d), "request %d", i)
					}
				})
			}
		})
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
