package interop_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	tclient "github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// Tessera's client follows our log over HTTP: it verifies the checkpoint
// with a note verifier of our log key, proves the grown log consistent
// from our tiles, builds inclusion proofs that verify against the
// checkpoint, and reads our entry bundles.
func TestTesseraClientReadsOurLog(t *testing.T) {
	ctx := context.Background()
	o := newOurs(t, "", 700)
	u, err := url.Parse(o.srv.URL + "/")
	require.NoError(t, err)
	f, err := tclient.NewHTTPFetcher(u, nil)
	require.NoError(t, err)
	nv, err := note.NewVerifier(o.logKey)
	require.NoError(t, err)
	tracker, err := tclient.NewLogStateTracker(ctx, f.ReadTile, nil, nv, ourOrigin, tclient.UnilateralConsensus(f.ReadCheckpoint))
	require.NoError(t, err)
	require.Equal(t, uint64(700), tracker.Latest().Size)

	o.append(t, 700, 70000-700)
	old, consistency, _, err := tracker.Update(ctx)
	require.NoError(t, err, "Tessera proves our grown log consistent from our tiles")
	require.NotEmpty(t, old)
	require.NotEmpty(t, consistency)
	cp := tracker.Latest()
	require.Equal(t, uint64(70000), cp.Size)

	pb, err := tclient.NewProofBuilder(ctx, cp.Size, f.ReadTile)
	require.NoError(t, err)
	for _, i := range []uint64{0, 1, 255, 256, 699, 700, 12345, 65535, 65536, 69999} {
		p, err := pb.InclusionProof(ctx, i)
		require.NoError(t, err)
		leaf, err := o.log.Leaf(ctx, i)
		require.NoError(t, err)
		require.NoError(t, proof.VerifyInclusion(rfc6962.DefaultHasher, i, cp.Size, rfc6962.DefaultHasher.HashLeaf(leaf), p, cp.Hash), "leaf %d", i)
	}
	for _, n := range []uint64{0, 2, 273} { // full, full, partial (70000 = 273*256 + 112)
		b, err := tclient.GetEntryBundle(ctx, f.ReadEntryBundle, n, cp.Size)
		require.NoError(t, err, "bundle %d", n)
		for i, e := range b.Entries {
			leaf, err := o.log.Leaf(ctx, n*256+uint64(i))
			require.NoError(t, err)
			require.True(t, bytes.Equal(leaf, e), "bundle %d entry %d", n, i)
		}
	}
	// Tessera's own check of a wrong leaf fails, so the checks above are real.
	p, err := pb.InclusionProof(ctx, 5)
	require.NoError(t, err)
	require.Error(t, proof.VerifyInclusion(rfc6962.DefaultHasher, 5, cp.Size, rfc6962.DefaultHasher.HashLeaf([]byte("not leaf 5")), p, cp.Hash))
}

// Our client follows a log written by Tessera's POSIX driver and served
// as static files: a NoteVerifier for its key, raw leaves, inclusion and
// consistency proofs from Tessera's tiles.
func TestClientReadsTesseraLog(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	th := newTheirs(t, ctx, 700)
	nv, err := note.NewVerifier(th.vkey)
	require.NoError(t, err)
	v, err := client.NewNoteVerifier(tesseraOrigin, nv)
	require.NoError(t, err)
	c, err := client.New(client.Config{URL: th.srv.URL, Verifier: v})
	require.NoError(t, err)
	cp, err := c.Update(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, cp.Size, uint64(700))

	checkLeaves := func(size uint64) {
		for _, i := range []uint64{0, 1, 255, 256, 511, 600, size - 1} {
			leaf, err := c.Leaf(ctx, i)
			require.NoError(t, err, "leaf %d", i)
			require.Equal(t, tesseraEntry(int(i)), leaf, "leaf %d", i)
			p, err := c.InclusionProof(ctx, i, size)
			require.NoError(t, err)
			require.NoError(t, merkle.VerifyInclusion(merkle.HashLeaf(leaf), i, size, p, cp.Root))
		}
	}
	checkLeaves(cp.Size)
	_, err = c.Entry(ctx, 3)
	require.ErrorIs(t, err, ledger.ErrMalformed, "Tessera's leaves are not healthledger entries")

	th.append(t, ctx, 700, 600)
	cp2, err := c.Update(ctx)
	require.NoError(t, err, "the grown Tessera log is proven consistent from its tiles")
	require.GreaterOrEqual(t, cp2.Size, uint64(1300))
	cp = cp2
	checkLeaves(cp.Size)

	// A NoteVerifier for another key refuses Tessera's checkpoint.
	_, otherV, err := note.GenerateKey(nil, tesseraOrigin)
	require.NoError(t, err)
	onv, err := note.NewVerifier(otherV)
	require.NoError(t, err)
	ov, err := client.NewNoteVerifier(tesseraOrigin, onv)
	require.NoError(t, err)
	oc, err := client.New(client.Config{URL: th.srv.URL, Verifier: ov})
	require.NoError(t, err)
	_, err = oc.Update(ctx)
	require.True(t, errors.Is(err, ledger.ErrBadSignature), "%v", err)
}
