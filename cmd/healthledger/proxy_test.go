package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// newTamperingProxy serves upstream, flipping a byte in responses whose
// path starts with prefix.
func newTamperingProxy(t *testing.T, upstream, prefix string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(strings.TrimSuffix(upstream, "/") + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if strings.HasPrefix(r.URL.Path, prefix) && resp.StatusCode == http.StatusOK && len(body) > 0 {
			body[len(body)/2] ^= 1
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	require.NotEmpty(t, srv.URL)
	return srv.URL + "/"
}
