package tileserver_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"github.com/stretchr/testify/require"
)

const origin = "tileserver.healthledger.example/test"

// rig is a Log over a memory store, cosigned by one in-process witness,
// served by a Handler on a loopback listener.
type rig struct {
	log        *ledger.Log
	store      *memstore.Store
	logKey     string
	witnessKey string
	srv        *httptest.Server
}

func newRig(t testing.TB, entries int) *rig {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	wskey, wvkey, err := ledger.GenerateCosignerKey("witness.tileserver.example")
	require.NoError(t, err)
	cs, err := ledger.NewCosigner(wskey)
	require.NoError(t, err)
	w, err := ledger.NewWitness(ledger.WitnessConfig{Cosigner: cs, Logs: []ledger.WitnessedLog{{Origin: origin, LogKey: vkey}}})
	require.NoError(t, err)
	st := memstore.New()
	l, err := ledger.Open(context.Background(), ledger.Config{
		Store: st, Signer: signer, Origin: origin,
		Witnesses: []ledger.LogWitness{{Key: wvkey, Cosigner: ledger.NewLocalCosigner(w)}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	r := &rig{log: l, store: st, logKey: vkey, witnessKey: wvkey}
	r.append(t, 0, entries)
	h, err := tileserver.New(tileserver.Config{Log: l})
	require.NoError(t, err)
	r.srv = httptest.NewServer(h)
	t.Cleanup(r.srv.Close)
	return r
}

// entry returns the i-th test entry.
func entry(i int) *ledger.Entry {
	return &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("tileserver", fmt.Sprint(i%5)),
		Writer:  "did:key:z6MkTileserverTest",
		Time:    time.Now(),
		Digest:  ledger.Digest{byte(i), byte(i >> 8), byte(i >> 16), 1},
		Body:    make([]byte, i%300),
	}
}

// append appends entries [first, first+n) from 32 goroutines.
func (r *rig) append(t testing.TB, first, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := first + g; i < first+n; i += 32 {
				if _, err := r.log.Append(context.Background(), entry(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
