package witness_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/witness"
	"github.com/stretchr/testify/require"
)

const origin = "witness-test.healthledger.example/log"

var clock = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func now() time.Time { return clock }

// rig is a log, an in-process witness of it served over HTTP, and a
// client of that server.
type rig struct {
	signer   *ledger.Signer
	logKey   string
	log      *ledger.Log
	witness  *ledger.Witness
	cosigner string // the witness's verifier key
	srv      *httptest.Server
	client   *witness.Client
}

func newRig(t testing.TB) *rig {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	l, err := ledger.Open(context.Background(), ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin, Now: now})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	wskey, wvkey, err := ledger.GenerateCosignerKey("witness.hospital-a.example")
	require.NoError(t, err)
	cs, err := ledger.NewCosigner(wskey)
	require.NoError(t, err)
	w, err := ledger.NewWitness(ledger.WitnessConfig{Cosigner: cs, Logs: []ledger.WitnessedLog{{Origin: origin, LogKey: vkey}}, Now: now})
	require.NoError(t, err)
	h, err := witness.NewHandler(witness.HandlerConfig{Witness: w})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := witness.NewClient(witness.ClientConfig{URL: srv.URL})
	require.NoError(t, err)
	return &rig{signer: signer, logKey: vkey, log: l, witness: w, cosigner: wvkey, srv: srv, client: c}
}

func entry(i int) *ledger.Entry {
	return &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("test", fmt.Sprint(i%7)),
		Writer:  "did:key:z6MkTestWriter",
		Time:    clock.Add(time.Duration(i)),
		Digest:  ledger.Digest{byte(i), byte(i >> 8)},
	}
}

// grow appends entries first..first+n-1 and returns the last checkpoint.
func (r *rig) grow(t testing.TB, first, n int) []byte {
	t.Helper()
	var cp []byte
	for i := first; i < first+n; i++ {
		rc, err := r.log.Append(context.Background(), entry(i))
		require.NoError(t, err)
		cp = rc.Checkpoint
	}
	return cp
}
