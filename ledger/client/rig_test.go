package client_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"github.com/stretchr/testify/require"
)

const origin = "client.healthledger.example/test"

// rig is a Log cosigned by one witness, served by a tileserver on a
// loopback listener through a proxy that can alter responses.
type rig struct {
	log        *ledger.Log
	signer     *ledger.Signer
	logKey     string
	witnessKey string
	handler    http.Handler
	srv        *httptest.Server

	mu     sync.Mutex
	tamper func(path string, body []byte) []byte // nil passes responses through
}

func newRig(t testing.TB, entries int) *rig {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	r := &rig{signer: signer, logKey: vkey}
	r.log = r.openLog(t, signer)
	r.append(t, r.log, 0, entries)
	h, err := tileserver.New(tileserver.Config{Log: r.log})
	require.NoError(t, err)
	r.handler = h
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// openLog opens a Log over a new memory store with a fresh witness (the
// first witness key is kept as the rig's; later logs reuse it).
func (r *rig) openLog(t testing.TB, signer *ledger.Signer) *ledger.Log {
	wskey, wvkey, err := ledger.GenerateCosignerKey("witness.client.example")
	require.NoError(t, err)
	cs, err := ledger.NewCosigner(wskey)
	require.NoError(t, err)
	w, err := ledger.NewWitness(ledger.WitnessConfig{Cosigner: cs, Logs: []ledger.WitnessedLog{{Origin: origin, LogKey: r.logKey}}})
	require.NoError(t, err)
	if r.witnessKey == "" {
		r.witnessKey = wvkey
	}
	l, err := ledger.Open(context.Background(), ledger.Config{
		Store: memstore.New(), Signer: signer, Origin: origin,
		Witnesses: []ledger.LogWitness{{Key: wvkey, Cosigner: ledger.NewLocalCosigner(w)}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func (r *rig) setTamper(f func(path string, body []byte) []byte) {
	r.mu.Lock()
	r.tamper = f
	r.mu.Unlock()
}

func (r *rig) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	tamper := r.tamper
	r.mu.Unlock()
	if tamper == nil {
		r.handler.ServeHTTP(w, req)
		return
	}
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		body = tamper(req.URL.Path, bytes.Clone(body))
	}
	for k, v := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// verifier returns a ledger.Verifier that requires the rig's witness.
func (r *rig) verifier(t testing.TB) *ledger.Verifier {
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: r.logKey, Witnesses: []string{r.witnessKey}})
	require.NoError(t, err)
	return v
}

func (r *rig) client(t testing.TB) *client.Client {
	c, err := client.New(client.Config{URL: r.srv.URL, Verifier: r.verifier(t)})
	require.NoError(t, err)
	return c
}

func entry(i int, tag string) *ledger.Entry {
	return &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("client", fmt.Sprint(i%5)),
		Writer:  "did:key:z6MkClientTest",
		Time:    time.Now(),
		Digest:  ledger.Digest{byte(i), byte(i >> 8), byte(i >> 16), 2},
		Body:    []byte(fmt.Sprintf("%s/%d", tag, i)),
	}
}

// append appends entries [first, first+n) to l from 32 goroutines.
func (r *rig) append(t testing.TB, l *ledger.Log, first, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := first + g; i < first+n; i += 32 {
				if _, err := l.Append(context.Background(), entry(i, "rig")); err != nil {
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
