package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"github.com/stretchr/testify/require"
)

// Payloads kept beside the tree are read, when the server serves them,
// checked against their commitment; a tampered payload or a false claim
// of erasure is ErrInvalidProof, a real erasure a verified *ErasedError.
func TestPayloads(t *testing.T) {
	ctx := context.Background()
	const origin = "payloads.healthledger.example/log"
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	l, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin})
	require.NoError(t, err)
	defer l.Close()
	subject := ledger.DeriveSubjectTag("payloads", "patient-1")
	for i := range 5 {
		e := entry(i, "payload")
		e.Subject, e.Body = subject, nil
		require.NoError(t, e.SetPayload([]byte("sealed bytes of entry "+string(rune('0'+i)))))
		_, err := l.Append(ctx, e)
		require.NoError(t, err)
	}
	h, err := tileserver.New(tileserver.Config{Log: l, Payloads: l})
	require.NoError(t, err)
	var tamper func(w http.ResponseWriter, r *http.Request) bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tamper != nil && tamper(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	open := func(payloads bool) *client.Client {
		v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: vkey})
		require.NoError(t, err)
		c, err := client.New(client.Config{URL: srv.URL, Verifier: v, Payloads: payloads})
		require.NoError(t, err)
		_, err = c.Update(ctx)
		require.NoError(t, err)
		return c
	}
	c := open(true)
	e, err := c.Entry(ctx, 3)
	require.NoError(t, err)
	require.NotNil(t, e.Payload)
	require.Equal(t, "sealed bytes of entry 3", string(e.Payload.Data))
	e, err = open(false).Entry(ctx, 3)
	require.NoError(t, err)
	require.Nil(t, e.Payload, "without Config.Payloads the leaf alone is read")

	tamper = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/payload/3" {
			return false
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		b[len(b)-1] ^= 1
		w.Write(b)
		return true
	}
	_, err = c.Entry(ctx, 3)
	require.ErrorIs(t, err, ledger.ErrInvalidProof, "a tampered payload")
	tamper = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/payload/") {
			return false
		}
		w.Header().Set("X-Erased-By", "0")
		http.Error(w, "erased", http.StatusGone)
		return true
	}
	_, err = c.Entry(ctx, 3)
	require.ErrorIs(t, err, ledger.ErrInvalidProof, "a false claim of erasure by an earlier entry")
	tamper = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/payload/3" {
			return false
		}
		w.Header().Set("X-Erased-By", "4")
		http.Error(w, "erased", http.StatusGone)
		return true
	}
	_, err = c.Entry(ctx, 3)
	require.ErrorIs(t, err, ledger.ErrInvalidProof, "a false claim of erasure by an entry that is no erasure")
	tamper = nil

	ex, err := ledger.NewErasureEntry(subject, 5, "patient request", "did:key:z6MkClientTest", time.Now())
	require.NoError(t, err)
	rc, err := l.Erase(ctx, ex)
	require.NoError(t, err)
	_, err = c.Update(ctx)
	require.NoError(t, err)
	_, err = c.Entry(ctx, 3)
	var ee *ledger.ErasedError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, rc.Index, ee.ErasedBy)
	require.ErrorIs(t, err, ledger.ErrErased)

	// An erasure of another subject does not erase this payload.
	other := entry(6, "payload")
	other.Subject, other.Body = ledger.DeriveSubjectTag("payloads", "patient-2"), nil
	require.NoError(t, other.SetPayload([]byte("kept")))
	orc, err := l.Append(ctx, other)
	require.NoError(t, err)
	ex3, err := ledger.NewErasureEntry(ledger.DeriveSubjectTag("payloads", "patient-3"), orc.Index+1, "test", "did:key:z6MkClientTest", time.Now())
	require.NoError(t, err)
	rc3, err := l.Erase(ctx, ex3)
	require.NoError(t, err)
	_, err = c.Update(ctx)
	require.NoError(t, err)
	e, err = c.Entry(ctx, orc.Index)
	require.NoError(t, err)
	require.Equal(t, "kept", string(e.Payload.Data))
	tamper = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/payload/"+strconv.FormatUint(orc.Index, 10) {
			return false
		}
		w.Header().Set("X-Erased-By", strconv.FormatUint(rc3.Index, 10))
		http.Error(w, "erased", http.StatusGone)
		return true
	}
	_, err = c.Entry(ctx, orc.Index)
	require.ErrorIs(t, err, ledger.ErrInvalidProof, "a claim of erasure by another subject's erasure")
	tamper = nil

	hNo, err := tileserver.New(tileserver.Config{Log: l})
	require.NoError(t, err)
	h = hNo
	_, err = c.Entry(ctx, 1)
	require.ErrorIs(t, err, ledger.ErrNotFound, "a server that does not serve payloads")
}
