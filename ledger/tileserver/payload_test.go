package tileserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"github.com/stretchr/testify/require"
)

// Payloads are served only when configured, exactly as stored, never
// cached, and an erased one is 410 Gone.
func TestPayloads(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, 3)
	subj := ledger.DeriveSubjectTag("tileserver", "payload")
	e := &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: subj, Writer: "did:key:z6MkTileserverTest", Time: time.Now()}
	require.NoError(t, e.SetPayload([]byte("sealed bytes")))
	rc, err := r.log.Append(ctx, e)
	require.NoError(t, err)
	want, err := e.Payload.MarshalBinary()
	require.NoError(t, err)

	resp, _ := get(t, "GET", r.srv.URL+"/payload/3")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "not served unless configured")

	h, err := tileserver.New(tileserver.Config{Log: r.log, Payloads: r.store})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, body := get(t, "GET", srv.URL+"/payload/3")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, want, body)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	p, err := ledger.ParsePayload(body)
	require.NoError(t, err)
	require.Equal(t, e.PayloadCommitment, p.Commitment())

	for path, code := range map[string]int{
		"/payload/0":  http.StatusNotFound, // a v1 entry: no payload
		"/payload/99": http.StatusNotFound,
		"/payload/03": http.StatusBadRequest,
		"/payload/-1": http.StatusBadRequest,
		"/payload/":   http.StatusBadRequest,
	} {
		resp, _ := get(t, "GET", srv.URL+path)
		require.Equal(t, code, resp.StatusCode, path)
	}

	x, err := ledger.NewErasureEntry(subj, rc.Index+1, "GDPR Art. 17(1)(a)", "did:key:z6MkTileserverTest", time.Now())
	require.NoError(t, err)
	_, err = r.log.Erase(ctx, x)
	require.NoError(t, err)
	resp, body = get(t, "GET", srv.URL+"/payload/3")
	require.Equal(t, http.StatusGone, resp.StatusCode)
	require.NotContains(t, string(body), "sealed bytes")
}
