package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"github.com/stretchr/testify/require"
)

// The client reads every entry, proof and receipt of a remote log exactly
// as the log itself serves them, and follows it as it grows.
func TestFollowsLog(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, 700)
	c := r.client(t)
	cp, err := c.Update(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(700), cp.Size)
	v := r.verifier(t)

	check := func(t *testing.T, size uint64) {
		for i := uint64(0); i < size; i += 7 {
			want, err := r.log.Leaf(ctx, i)
			require.NoError(t, err)
			got, err := c.Leaf(ctx, i)
			require.NoError(t, err)
			require.Equal(t, want, got, "leaf %d", i)
		}
		for _, ts := range []uint64{1, 2, 255, 256, 257, 511, 512, 513, size - 1, size} {
			for _, i := range []uint64{0, ts / 2, ts - 1} {
				want, err := r.log.InclusionProof(ctx, i, ts)
				require.NoError(t, err)
				got, err := c.InclusionProof(ctx, i, ts)
				require.NoError(t, err)
				require.Equal(t, want, got, "inclusion of %d in %d", i, ts)
			}
			want, err := r.log.ConsistencyProof(ctx, ts, size)
			require.NoError(t, err)
			got, err := c.ConsistencyProof(ctx, ts, size)
			require.NoError(t, err)
			require.Equal(t, want, got, "consistency %d to %d", ts, size)
		}
		rc, err := c.Receipt(ctx, size-1)
		require.NoError(t, err)
		e, err := v.VerifyReceipt(rc)
		require.NoError(t, err, "a receipt built from tiles verifies offline, witness cosignature included")
		want, err := r.log.Entry(ctx, size-1)
		require.NoError(t, err)
		require.Equal(t, want, e)
	}
	t.Run("700", func(t *testing.T) { check(t, 700) })

	r.append(t, r.log, 700, 70)
	cp, err = c.Update(ctx)
	require.NoError(t, err, "the grown tree is proven consistent from tiles")
	require.Equal(t, uint64(770), cp.Size)
	t.Run("770", func(t *testing.T) { check(t, 770) })

	_, err = c.Leaf(ctx, 770)
	require.ErrorIs(t, err, ledger.ErrNotFound)
	_, err = c.InclusionProof(ctx, 0, 771)
	require.ErrorIs(t, err, ledger.ErrNotFound)
	_, err = c.Append(ctx, entry(1, "x"))
	require.ErrorIs(t, err, client.ErrReadOnly)
}

func TestBySubject(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, 600)
	c := r.client(t)
	_, err := c.Update(ctx)
	require.NoError(t, err)
	tag := ledger.DeriveSubjectTag("client", "3")
	want, err := r.log.BySubject(ctx, tag, 0, 1000)
	require.NoError(t, err)
	got, err := c.BySubject(ctx, tag, 0, 1000)
	require.NoError(t, err)
	require.Equal(t, want, got)
	got, err = c.BySubject(ctx, tag, want[10], 5)
	require.NoError(t, err)
	require.Equal(t, want[10:15], got)

	r.append(t, r.log, 600, 100)
	_, err = c.Update(ctx)
	require.NoError(t, err)
	want, err = r.log.BySubject(ctx, tag, 0, 1000)
	require.NoError(t, err)
	got, err = c.BySubject(ctx, tag, 0, 1000)
	require.NoError(t, err)
	require.Equal(t, want, got, "the index grows with the log")
	got, err = c.BySubject(ctx, tag, 0, 0)
	require.NoError(t, err)
	require.Empty(t, got)
}

// flipAt flips a byte of responses whose path matches.
func flipAt(match string, offset int) func(string, []byte) []byte {
	return func(path string, body []byte) []byte {
		if strings.Contains(path, match) && len(body) > offset {
			body[offset] ^= 1
		}
		return body
	}
}

// A server that alters a tile, a bundle or the checkpoint gets a typed
// error, never a wrong answer; once it serves the truth again, the client
// works (nothing false was cached).
func TestTamperedResponses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(string, []byte) []byte
		read   func(c *client.Client) error
		want   error
	}{
		{"full level-0 tile", flipAt("/tile/0/001", 100), func(c *client.Client) error { _, err := c.InclusionProof(ctx, 300, 700); return err }, ledger.ErrInvalidProof},
		{"full level-0 tile, leaf read", flipAt("/tile/0/000", 5), func(c *client.Client) error { _, err := c.Leaf(ctx, 3); return err }, ledger.ErrInvalidProof},
		{"partial level-0 tile", flipAt("/tile/0/002.p/188", 40), func(c *client.Client) error { _, err := c.InclusionProof(ctx, 600, 700); return err }, ledger.ErrInvalidProof},
		{"level-1 tile", flipAt("/tile/1/000.p/2", 1), func(c *client.Client) error { _, err := c.InclusionProof(ctx, 3, 700); return err }, ledger.ErrInvalidProof},
		{"truncated tile", func(p string, b []byte) []byte {
			if strings.Contains(p, "/tile/0/") {
				return b[:len(b)-32]
			}
			return b
		}, func(c *client.Client) error { _, err := c.InclusionProof(ctx, 5, 700); return err }, ledger.ErrInvalidProof},
		{"bundle entry", flipAt("/tile/entries/000", 60), func(c *client.Client) error { _, err := c.Leaf(ctx, 0); return err }, ledger.ErrInvalidProof},
		{"partial bundle entry", flipAt("/tile/entries/002.p/188", 900), func(c *client.Client) error { _, err := c.Leaf(ctx, 600); return err }, ledger.ErrInvalidProof},
		{"bundle with an extra entry", func(p string, b []byte) []byte {
			if strings.Contains(p, "/tile/entries/") {
				return append(b, 0, 1, 'x')
			}
			return b
		}, func(c *client.Client) error { _, err := c.Leaf(ctx, 0); return err }, ledger.ErrInvalidProof},
		{"bundle, subject index", flipAt("/tile/entries/001", 300), func(c *client.Client) error {
			_, err := c.BySubject(ctx, ledger.DeriveSubjectTag("client", "1"), 0, 10)
			return err
		}, ledger.ErrInvalidProof},
		{"checkpoint signature", func(p string, b []byte) []byte {
			if p == "/checkpoint" {
				// A base64 character in the middle of the log's
				// signature (the first signature line): all its bits
				// count.
				i := strings.Index(string(b), "\n\n\u2014 "+origin+" ")
				at := i + len("\n\n\u2014 "+origin+" ") + 20
				if b[at] == 'A' {
					b[at] = 'B'
				} else {
					b[at] = 'A'
				}
			}
			return b
		}, func(c *client.Client) error { _, err := c.Update(ctx); return err }, ledger.ErrBadSignature},
		{"checkpoint root", func(p string, b []byte) []byte {
			if p == "/checkpoint" {
				lines := strings.SplitN(string(b), "\n", 4)
				lines[2] = "AAAA" + lines[2][4:]
				return []byte(strings.Join(lines, "\n"))
			}
			return b
		}, func(c *client.Client) error { _, err := c.Update(ctx); return err }, ledger.ErrBadSignature},
		{"checkpoint without the witness", func(p string, b []byte) []byte {
			if p == "/checkpoint" {
				lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
				var keep []string
				for _, l := range lines {
					if !strings.Contains(l, "witness.client.example") {
						keep = append(keep, l)
					}
				}
				return []byte(strings.Join(keep, "\n") + "\n")
			}
			return b
		}, func(c *client.Client) error { _, err := c.Update(ctx); return err }, ledger.ErrBadSignature},
	}
	r := newRig(t, 700)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := r.client(t)
			if !strings.HasPrefix(tt.name, "checkpoint") {
				_, err := c.Update(ctx)
				require.NoError(t, err)
			}
			r.setTamper(tt.tamper)
			err := tt.read(c)
			r.setTamper(nil)
			require.ErrorIs(t, err, tt.want)
			require.NoError(t, tt.read(c), "the honest server is read correctly afterwards")
		})
	}
}

// A log that shows the client a second history, signed by the same key,
// is caught with evidence.
func TestFork(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, 300)
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: r.logKey})
	require.NoError(t, err)
	c, err := client.New(client.Config{URL: r.srv.URL, Verifier: v})
	require.NoError(t, err)
	_, err = c.Update(ctx)
	require.NoError(t, err)

	fork := r.openLog(t, r.signer)
	for i := range 300 {
		_, err := fork.Append(ctx, entry(i, "fork"))
		require.NoError(t, err)
	}
	r.append(t, fork, 300, 50)
	h, err := tileserver.New(tileserver.Config{Log: fork})
	require.NoError(t, err)
	forkSrv := httptest.NewServer(h)
	defer forkSrv.Close()

	c2, err := client.New(client.Config{URL: forkSrv.URL, Verifier: v})
	require.NoError(t, err)
	_, err = c2.Update(ctx)
	var ie *ledger.InconsistencyError
	require.ErrorAs(t, err, &ie, "the fork is caught")
	require.ErrorIs(t, err, ledger.ErrInvalidProof)
	require.NotNil(t, ie.Trusted)
	require.NotNil(t, ie.Candidate)
	trusted, _ := v.TrustedCheckpoint()
	require.Equal(t, uint64(300), trusted.Size, "the trusted checkpoint did not move")
}

func TestConfig(t *testing.T) {
	_, err := client.New(client.Config{URL: "http://x"})
	require.ErrorIs(t, err, ledger.ErrInvalidConfig)
	c, err := client.New(client.Config{URL: "http://127.0.0.1:1", Verifier: &client.NoteVerifier{}})
	require.NoError(t, err)
	_, err = c.Leaf(context.Background(), 0)
	require.ErrorIs(t, err, ledger.ErrEmptyLog, "nothing is trusted before Update")
	_, err = client.NewNoteVerifier("", nil)
	require.ErrorIs(t, err, ledger.ErrInvalidConfig)
	_ = http.StatusOK
}
