package pebblestore

import (
	"context"
	"sync"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/storetest"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	var mu sync.Mutex
	dirs := map[ledger.Store]string{} // the directory of every store opened
	open := func(t *testing.T, dir string) ledger.Store {
		st, err := Open(context.Background(), Config{Dir: dir})
		require.NoError(t, err)
		mu.Lock()
		dirs[st] = dir
		mu.Unlock()
		return st
	}
	storetest.RunHarness(t, storetest.Harness{
		Open: func(t *testing.T) ledger.Store { return open(t, t.TempDir()) },
		Reopen: func(t *testing.T, closed ledger.Store) ledger.Store {
			mu.Lock()
			dir, ok := dirs[closed]
			mu.Unlock()
			require.True(t, ok, "Reopen of a store the harness did not open")
			return open(t, dir)
		},
	})
}
