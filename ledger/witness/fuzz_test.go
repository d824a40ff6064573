package witness_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/healthledger/healthledger/ledger/witness"
	"github.com/stretchr/testify/require"
)

// FuzzParseRequest: the parser never panics, and what it accepts it writes
// back byte for byte (one text form per request).
func FuzzParseRequest(f *testing.F) {
	r := newRig(f)
	cp := r.grow(f, 0, 5)
	f.Add(request(f, 0, nil, cp))
	f.Add([]byte("old 3\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\nx\n5\nAAAA\n\n— x AAAA\n"))
	f.Add([]byte("old 0\n\n"))
	f.Add([]byte("old 18446744073709551616\n\nx"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := witness.ParseRequest(body)
		if err != nil {
			return
		}
		out, err := req.MarshalText()
		require.NoError(t, err)
		require.Equal(t, body, out)
	})
}

// FuzzHandler: any body gets one of the protocol's status codes, never a
// panic or a 500 (the witness persists nothing here).
func FuzzHandler(f *testing.F) {
	r := newRig(f)
	cp := r.grow(f, 0, 5)
	f.Add(request(f, 0, nil, cp))
	f.Add(request(f, 3, nil, cp))
	f.Add([]byte("old 0\n\nwitness-test.healthledger.example/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— x AAAA\n"))
	h, err := witness.NewHandler(witness.HandlerConfig{Witness: r.witness})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/add-checkpoint", bytes.NewReader(body)))
		switch rec.Code {
		case 200, 400, 403, 404, 409, 413, 422:
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
