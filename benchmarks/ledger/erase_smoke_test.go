package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
)

// Smoke test of BenchmarkErase: its body on a small input, timing nothing.

func TestEraseSmoke(t *testing.T) {
	ctx := context.Background()
	const subjectEntries = 300
	root := t.TempDir()
	tmpl, err := buildErasureLog(ctx, root+"/log", subjectEntries)
	require.NoError(t, err)
	require.Equal(t, uint64(subjectEntries*erasureStride), tmpl.size)
	for i := range 2 { // two copies of one template, erased both ways
		r, err := openErasureCopy(ctx, tmpl, fmt.Sprintf("%s/copy%d", root, i), i == 0)
		require.NoError(t, err)
		idx, err := r.log.BySubject(ctx, tmpl.subject, 0, 2*subjectEntries)
		require.NoError(t, err)
		require.Len(t, idx, subjectEntries)
		require.Error(t, r.checkErased(ctx), "nothing is erased yet")
		if i == 0 {
			rc, err := r.erase(ctx)
			require.NoError(t, err)
			require.Equal(t, tmpl.size, rc.Index, "the erasure entry follows the subject's entries")
		} else {
			require.NoError(t, r.eraseOneCall(ctx))
		}
		require.NoError(t, r.checkErased(ctx))
		for _, j := range idx {
			_, err := r.log.Entry(ctx, j)
			require.ErrorIs(t, err, ledger.ErrErased, "entry %d", j)
		}
		require.NoError(t, r.close())
	}
}
