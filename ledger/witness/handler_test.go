package witness_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/witness"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

func post(t *testing.T, url string, body []byte) (int, string, string) {
	t.Helper()
	resp, err := http.Post(url+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func request(t testing.TB, old uint64, proof []merkle.Hash, cp []byte) []byte {
	t.Helper()
	b, err := (&witness.Request{OldSize: old, Proof: proof, Checkpoint: cp}).MarshalText()
	require.NoError(t, err)
	return b
}

// TestHandlerStatusCodes walks the tlog-witness status codes in order, on
// one witness whose state grows as the requests succeed.
func TestHandlerStatusCodes(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	cp3 := r.grow(t, 0, 3)
	cp5 := r.grow(t, 3, 2)
	proof35, err := r.log.ConsistencyProof(ctx, 3, 5)
	require.NoError(t, err)

	// A checkpoint of the same size with another root, signed by the log's key.
	forked, err := ledger.SignCheckpoint(r.signer, ledger.Checkpoint{Origin: origin, Size: 5, Root: merkle.Hash{1}}, clock)
	require.NoError(t, err)
	// A checkpoint of the origin signed by another key, and one of an unknown origin.
	otherKey, _, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	other, err := ledger.NewSigner(otherKey)
	require.NoError(t, err)
	impostor, err := ledger.SignCheckpoint(other, ledger.Checkpoint{Origin: origin, Size: 5, Root: merkle.Hash{2}}, clock)
	require.NoError(t, err)
	strangerKey, _, err := ledger.GenerateKey("stranger.example/log")
	require.NoError(t, err)
	stranger, err := ledger.NewSigner(strangerKey)
	require.NoError(t, err)
	unknown, err := ledger.SignCheckpoint(stranger, ledger.Checkpoint{Origin: "stranger.example/log", Size: 1, Root: merkle.Hash{3}}, clock)
	require.NoError(t, err)
	badProof := append([]merkle.Hash(nil), proof35...)
	badProof[0][0] ^= 1

	tests := []struct {
		name   string
		body   []byte
		status int
		want   string // substring of the body
	}{
		{"first checkpoint", request(t, 0, nil, cp3), 200, "— witness.hospital-a.example "},
		{"stale old size", request(t, 0, nil, cp5), 409, "3\n"},
		{"old size above the checkpoint", request(t, 7, nil, cp5), 400, "old size"},
		{"bad consistency proof", request(t, 3, badProof, cp5), 422, "consistency proof"},
		{"first proof line missing", request(t, 3, proof35[1:], cp5), 422, "consistency proof"},
		{"not signed by the log key", request(t, 3, proof35, impostor), 403, "signature"},
		{"unknown origin", request(t, 0, nil, unknown), 404, "unknown log"},
		{"no empty line", []byte("old 3\n" + string(cp5)), 400, "malformed"},
		{"non-canonical old size", []byte("old 03\n\n" + string(cp5)), 400, "malformed"},
		{"bad proof line", []byte("old 3\nnot-a-hash\n\n" + string(cp5)), 400, "malformed"},
		{"malformed checkpoint", []byte("old 3\n\nhello\n"), 400, "malformed"},
		{"too large", bytes.Repeat([]byte("a"), witness.MaxRequestSize+1), 413, "too large"},
		{"consistent", request(t, 3, proof35, cp5), 200, "— witness.hospital-a.example "},
		{"same size, same root", request(t, 5, nil, cp5), 200, "— witness.hospital-a.example "},
		{"same size, another root", request(t, 5, nil, forked), 409, "5\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := post(t, r.srv.URL, tc.body)
			require.Equal(t, tc.status, code, body)
			require.Contains(t, body, tc.want)
			switch code {
			case 409:
				require.Equal(t, witness.SizeContentType, ctype)
				require.Equal(t, tc.want, body)
			case 200:
				require.True(t, strings.HasSuffix(body, "\n"))
				// The line is a valid cosignature of the checkpoint.
				cp := []byte(tc.body[bytes.Index(tc.body, []byte("\n\n"))+2:])
				cs, err := ledger.VerifyCosignatures(append(cp, body...), mustVerifier(t, r.cosigner))
				require.NoError(t, err)
				require.Len(t, cs, 1)
			}
		})
	}
	require.Equal(t, cp5, r.witness.Latest(origin), "refused requests changed the witness's state")
}

func mustVerifier(t testing.TB, vkey string) []*ledger.CosignatureVerifier {
	v, err := ledger.NewCosignatureVerifier(vkey)
	require.NoError(t, err)
	return []*ledger.CosignatureVerifier{v}
}

func TestHandlerRoutes(t *testing.T) {
	r := newRig(t)
	resp, err := http.Get(r.srv.URL + "/add-checkpoint")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	resp, err = http.Post(r.srv.URL+"/other", "text/plain", strings.NewReader("old 0\n\n"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	_, err = witness.NewHandler(witness.HandlerConfig{})
	require.ErrorIs(t, err, ledger.ErrInvalidConfig)
}

// TestHandlerPersistFailure: a witness that cannot persist answers 500 and
// cosigns nothing.
func TestHandlerPersistFailure(t *testing.T) {
	r := newRig(t)
	cp := r.grow(t, 0, 1)
	wskey, _, err := ledger.GenerateCosignerKey("witness.broken.example")
	require.NoError(t, err)
	cs, err := ledger.NewCosigner(wskey)
	require.NoError(t, err)
	w, err := ledger.NewWitness(ledger.WitnessConfig{
		Cosigner: cs, Logs: []ledger.WitnessedLog{{Origin: origin, LogKey: r.logKey}},
		Persist: func(string, []byte) error { return io.ErrShortWrite },
	})
	require.NoError(t, err)
	h, err := witness.NewHandler(witness.HandlerConfig{Witness: w})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/add-checkpoint", bytes.NewReader(request(t, 0, nil, cp))))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Nil(t, w.Latest(origin))
}
