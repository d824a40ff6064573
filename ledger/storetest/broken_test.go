package storetest

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// brokenEnv selects, in a child process, the broken store TestBrokenChild
// runs the suite against.
const brokenEnv = "HEALTHLEDGER_STORETEST_BROKEN"

// flawed is a memory store with one flaw, named by kind.
type flawed struct {
	*memstore.Store
	kind string

	mu    sync.Mutex // guards first
	first []byte     // the first checkpoint, for "stale checkpoint"
}

func (f *flawed) Add(ctx context.Context, leaves []ledger.Leaf, sign ledger.SignFunc) (ledger.AddResult, error) {
	switch f.kind {
	case "reorders batches":
		leaves = slices.Clone(leaves)
		slices.Reverse(leaves)
	case "signs twice":
		inner := sign
		sign = func(h ledger.TreeHead) ([]byte, error) {
			if _, err := inner(h); err != nil {
				return nil, err
			}
			return inner(h)
		}
	}
	res, err := f.Store.Add(ctx, leaves, sign)
	if err == nil && f.kind == "no dedup" {
		res.Existed = make([]bool, len(res.Existed))
	}
	if err == nil {
		f.mu.Lock()
		if f.first == nil {
			f.first = res.Checkpoint
		}
		f.mu.Unlock()
	}
	return res, err
}

func (f *flawed) Checkpoint(ctx context.Context) ([]byte, error) {
	cp, err := f.Store.Checkpoint(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil && f.kind == "stale checkpoint" && f.first != nil {
		return f.first, nil
	}
	return cp, err
}

func (f *flawed) Leaf(ctx context.Context, i uint64) ([]byte, error) {
	data, err := f.Store.Leaf(ctx, i)
	switch {
	case err == nil && f.kind == "pads leaves":
		return append(data, 0), nil
	case err != nil && f.kind == "wrong not-found error":
		return nil, ledger.ErrInvalidEntry
	}
	return data, err
}

func (f *flawed) InclusionProof(ctx context.Context, i, n uint64) ([]merkle.Hash, error) {
	p, err := f.Store.InclusionProof(ctx, i, n)
	if err == nil && f.kind == "bad proofs above 1000" && n > 1000 {
		p[len(p)-1][0] ^= 1
	}
	return p, err
}

func (f *flawed) BySubject(ctx context.Context, s ledger.SubjectTag, start uint64, limit int) ([]uint64, error) {
	if f.kind == "ignores subject start" {
		start = 0
	}
	return f.Store.BySubject(ctx, s, start, limit)
}

func (f *flawed) Close() error {
	if f.kind == "never closes" {
		return nil
	}
	return f.Store.Close()
}

// TestBrokenChild runs the suite against a flawed store, in the child
// process of TestSuiteFailsBrokenStores. Outside it, it skips.
func TestBrokenChild(t *testing.T) {
	kind := os.Getenv(brokenEnv)
	if kind == "" {
		t.Skip("the child process of TestSuiteFailsBrokenStores")
	}
	Run(t, func(t *testing.T) ledger.Store { return &flawed{Store: memstore.New(), kind: kind} })
}

// The suite fails a store with any one of these flaws, in the subtest that
// checks the broken rule.
func TestSuiteFailsBrokenStores(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("in the child process")
	}
	tests := []struct{ kind, failing string }{
		{"reorders batches", "AddAndRead"},
		{"signs twice", "AddAndRead"},
		{"stale checkpoint", "AddAndRead"},
		{"pads leaves", "AddAndRead"},
		{"no dedup", "Duplicates"},
		{"bad proofs above 1000", "Proofs"},
		{"wrong not-found error", "OutOfRange"},
		{"ignores subject start", "BySubject"},
		{"never closes", "Closed"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			cmd := child(t, "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+tt.kind)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed a store that %s", tt.kind)
			require.Contains(t, string(out), "--- FAIL: TestBrokenChild/"+tt.failing+" ", "output:\n%s", out)
		})
	}
	t.Run("correct store passes", func(t *testing.T) {
		cmd := child(t)
		cmd.Env = append(os.Environ(), brokenEnv+"=none")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "output:\n%s", out)
	})
}

// child returns the command that runs TestBrokenChild in a new process,
// killed if it outlives the test.
func child(t *testing.T, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	args = append([]string{"-test.run=^TestBrokenChild$", "-test.count=1", "-test.timeout=110s"}, args...)
	return exec.CommandContext(ctx, os.Args[0], args...)
}
