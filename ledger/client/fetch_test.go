package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/stretchr/testify/require"
)

// A server that no longer has a partial tile (a log may delete them once
// the full tile exists) is read from the full tile, as C2SP tlog-tiles
// recommends; a server that has neither is ErrNotFound, not a guess.
func TestPartialTileFallsBackToFull(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, 300)
	cp300 := mustCheckpoint(t, r)
	r.append(t, r.log, 300, 300) // tile 0/001 is now full

	var partials atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/tile/0/001.p/") {
			partials.Add(1)
			http.NotFound(w, req)
			return
		}
		r.handler.ServeHTTP(w, req)
	}))
	defer srv.Close()
	// A client that trusts the tree of 300 reads it: proofs there need
	// tile 0/001 at width 44, which the server no longer has.
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: r.logKey, Witnesses: []string{r.witnessKey}, Trusted: cp300})
	require.NoError(t, err)
	c, err := client.New(client.Config{URL: srv.URL, Verifier: v})
	require.NoError(t, err)
	p, err := c.InclusionProof(ctx, 299, 300)
	require.NoError(t, err)
	want, err := r.log.InclusionProof(ctx, 299, 300)
	require.NoError(t, err)
	require.Equal(t, want, p)
	require.Positive(t, partials.Load(), "the partial tile was asked for first")
	leaf, err := c.Leaf(ctx, 299)
	require.NoError(t, err)
	wantLeaf, err := r.log.Leaf(ctx, 299)
	require.NoError(t, err)
	require.Equal(t, wantLeaf, leaf)
	cp, err := c.Update(ctx)
	require.NoError(t, err, "and proves the grown tree consistent")
	require.Equal(t, uint64(600), cp.Size)
}

func mustCheckpoint(t *testing.T, r *rig) []byte {
	cp, err := r.log.Checkpoint(context.Background())
	require.NoError(t, err)
	return cp
}

// With a RefreshInterval, Checkpoint serves the trusted checkpoint without
// asking the server again until the interval has passed.
func TestRefreshInterval(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, 10)
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/checkpoint" {
			fetches.Add(1)
		}
		r.handler.ServeHTTP(w, req)
	}))
	defer srv.Close()
	for _, tt := range []struct {
		interval time.Duration
		want     int32
	}{{0, 3}, {time.Hour, 1}} {
		fetches.Store(0)
		c, err := client.New(client.Config{URL: srv.URL, Verifier: r.verifier(t), RefreshInterval: tt.interval})
		require.NoError(t, err)
		for range 3 {
			cp, err := c.Checkpoint(ctx)
			require.NoError(t, err)
			require.NotEmpty(t, cp)
		}
		require.Equal(t, tt.want, fetches.Load(), "interval %v", tt.interval)
	}
}
