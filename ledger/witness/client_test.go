package witness_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/witness"
	"github.com/stretchr/testify/require"
)

func TestClientAddCheckpoint(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	cp3 := r.grow(t, 0, 3)
	lines, err := r.client.AddCheckpoint(ctx, 0, nil, cp3)
	require.NoError(t, err)
	cs, err := ledger.VerifyCosignatures(append(cp3, lines...), mustVerifier(t, r.cosigner))
	require.NoError(t, err)
	require.Len(t, cs, 1)

	cp5 := r.grow(t, 3, 2)
	_, err = r.client.AddCheckpoint(ctx, 0, nil, cp5)
	var conflict *ledger.WitnessConflictError
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, uint64(3), conflict.Latest)

	proof, err := r.log.ConsistencyProof(ctx, 3, 5)
	require.NoError(t, err)
	proof[0][0] ^= 1
	_, err = r.client.AddCheckpoint(ctx, 3, proof, cp5)
	require.ErrorIs(t, err, ledger.ErrInvalidProof)
	var re *witness.ResponseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, http.StatusUnprocessableEntity, re.StatusCode)
}

// countingHandler counts the requests it passes on.
type countingHandler struct {
	h http.Handler
	n atomic.Int32
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

// TestClientCosignLearnsTheWitnessSize: a client that believes the witness
// has seen nothing learns its size from the 409 and retries with a proof
// from the prover (the Log) from that size.
func TestClientCosignLearnsTheWitnessSize(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	counter := &countingHandler{h: r.srv.Config.Handler}
	r.srv.Config.Handler = counter
	cp3 := r.grow(t, 0, 3)
	_, err := r.client.AddCheckpoint(ctx, 0, nil, cp3)
	require.NoError(t, err)
	counter.n.Store(0)

	cp8 := r.grow(t, 3, 5)
	lines, err := r.client.Cosign(ctx, r.log, 0, cp8)
	require.NoError(t, err)
	require.Equal(t, int32(2), counter.n.Load(), "one 409, one retry")
	cs, err := ledger.VerifyCosignatures(append(cp8, lines...), mustVerifier(t, r.cosigner))
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, cp8, r.witness.Latest(origin))

	// The same size with another root is a fork, not a stale size: no retry loop.
	forked, err := ledger.SignCheckpoint(r.signer, ledger.Checkpoint{Origin: origin, Size: 8, Root: [32]byte{9}}, clock)
	require.NoError(t, err)
	counter.n.Store(0)
	_, err = r.client.Cosign(ctx, r.log, 8, forked)
	require.ErrorIs(t, err, ledger.ErrInvalidProof)
	require.Equal(t, int32(1), counter.n.Load())
}

// TestClientRefusesHostileResponses: whatever a server answers, the client
// returns an error, never a panic, and never more than MaxResponseSize.
func TestClientRefusesHostileResponses(t *testing.T) {
	r := newRig(t)
	cp := r.grow(t, 0, 1)
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   error
	}{
		{"200 not signature lines", 200, "", "hello\n", witness.ErrWitnessFailed},
		{"200 empty", 200, "", "", witness.ErrWitnessFailed},
		{"200 line without newline", 200, "", "— w AAAA", witness.ErrWitnessFailed},
		{"200 control character", 200, "", "— w AA\x00A\n", witness.ErrWitnessFailed},
		{"200 huge", 200, "", "— w " + strings.Repeat("A", witness.MaxResponseSize) + "\n", witness.ErrWitnessFailed},
		{"409 without size", 409, witness.SizeContentType, "soon\n", witness.ErrWitnessFailed},
		{"409 size overflow", 409, witness.SizeContentType, "99999999999999999999999\n", witness.ErrWitnessFailed},
		{"404", 404, "", "no such log", ledger.ErrUnknownLog},
		{"403", 403, "", "bad sig", ledger.ErrBadSignature},
		{"400", 400, "", "bad", ledger.ErrMalformed},
		{"500", 500, "", "\x1b[31m oops", witness.ErrWitnessFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := witness.NewClient(witness.ClientConfig{URL: srv.URL + "/prefix/"})
			require.NoError(t, err)
			lines, err := c.AddCheckpoint(context.Background(), 0, nil, cp)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, lines)
			require.NotContains(t, err.Error(), "\x1b")
		})
	}
}

func TestClientHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c, err := witness.NewClient(witness.ClientConfig{URL: srv.URL})
	require.NoError(t, err)
	r := newRig(t)
	cp := r.grow(t, 0, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.AddCheckpoint(ctx, 0, nil, cp)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}

func TestNewClientRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "ftp://w.example", "witness.example", "http://"} {
		_, err := witness.NewClient(witness.ClientConfig{URL: u})
		require.ErrorIs(t, err, ledger.ErrInvalidConfig, u)
	}
}
