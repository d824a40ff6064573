package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"github.com/healthledger/healthledger/privacy/privacytest"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

// The Client satisfies the interfaces identity and consent read through.
var (
	_ identity.Ledger = (*client.Client)(nil)
	_ consent.Log     = (*client.Client)(nil)
)

type did struct {
	did              string
	rotation, device *identity.PrivateKey
	last             *identity.Operation
	holder           *identity.Holder
}

func newKey(t *testing.T) *identity.PrivateKey {
	k, err := identity.GenerateKey(identity.KeyTypeEd25519)
	require.NoError(t, err)
	return k
}

func deviceState(rotation, device *identity.PrivateKey) identity.State {
	return identity.State{
		RotationKeys:        []identity.PublicKey{rotation.Public()},
		VerificationMethods: []identity.VerificationMethod{{ID: "key-1", Key: device.Public(), Relationships: identity.AssertionMethod | identity.Authentication}},
	}
}

func createDID(t *testing.T, l *ledger.Log, at time.Time) *did {
	d := &did{rotation: newKey(t), device: newKey(t)}
	var err error
	d.last, d.did, err = identity.NewGenesis(deviceState(d.rotation, d.device), at, d.rotation)
	require.NoError(t, err)
	e, err := identity.OperationEntry(d.did, d.last, d.rotation)
	require.NoError(t, err)
	_, err = l.Append(context.Background(), e)
	require.NoError(t, err)
	d.holder, err = identity.NewHolder(d.did, d.did+"#key-1", d.device)
	require.NoError(t, err)
	return d
}

func (d *did) replaceDevice(t *testing.T, l *ledger.Log, at time.Time) {
	d.device = newKey(t)
	h, err := d.last.Hash()
	require.NoError(t, err)
	d.last, err = identity.NewOperation(identity.OpUpdate, h, deviceState(d.rotation, d.device), at, d.rotation)
	require.NoError(t, err)
	e, err := identity.OperationEntry(d.did, d.last, d.rotation)
	require.NoError(t, err)
	_, err = l.Append(context.Background(), e)
	require.NoError(t, err)
	d.holder, err = identity.NewHolder(d.did, d.did+"#key-1", d.device)
	require.NoError(t, err)
}

// A hospital writes identities and consents to its log; a second party
// that reaches the log only over HTTP (a tileserver on a 127.0.0.1
// listener) resolves the DIDs, replays the consents and lists the accesses,
// and gets what the writer gets.
func TestRemoteParty(t *testing.T) {
	ctx := context.Background()
	const origin = "hospital.example/ledger"
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	local, err := identity.NewResolver(identity.Config{})
	require.NoError(t, err)
	l, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin, WriterVerifier: local})
	require.NoError(t, err)
	defer l.Close()
	local.SetLedger(l)

	start := time.Now().UTC().Add(-time.Minute)
	pat := createDID(t, l, start)
	ehr := createDID(t, l, start)
	// Noise, so that the DIDs' entries are spread over several bundles.
	for i := range 300 {
		e := entry(i, "noise")
		require.NoError(t, ehr.holder.SignEntry(e))
		_, err := l.Append(ctx, e)
		require.NoError(t, err)
	}
	pat.replaceDevice(t, l, time.Now().UTC())

	// Sealed bodies (payloads beside the tree) and keyed tags, as a
	// deployment runs consent; the auditor below holds the same keys.
	vault, tagger := privacytest.Vault(t, origin), privacytest.Tagger(t, origin)
	reg, err := consent.NewRegistry(consent.RegistryConfig{Log: l, Checker: local, Recorder: ehr.holder, Sealer: vault, Tagger: tagger})
	require.NoError(t, err)
	team := "did:hl:team-cardio"
	c := consent.Consent{Patient: pat.did, Status: consent.StatusActive, Decision: consent.Deny, Grantors: []string{pat.did},
		Provisions: []consent.Provision{{Actors: []consent.ActorMatch{{Reference: team}}, Purposes: []consent.Purpose{consent.PurposeTreat}}}}
	g, err := reg.GrantEntry(ctx, &c, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, pat.holder.SignEntry(g))
	grant, err := reg.Submit(ctx, g)
	require.NoError(t, err)
	a, err := reg.Authorize(ctx, &consent.Request{
		Patient: pat.did, Actor: consent.Actor{DID: "did:hl:dr-a", Teams: []string{team}},
		Action: consent.ActionAccess, Purpose: consent.PurposeTreat,
		Resource: consent.Resource{Type: "Observation", ID: "obs-1"}, Time: time.Now().UTC(),
	})
	require.NoError(t, err)
	require.True(t, a.Decision.Allowed)

	// The remote party: the log's origin and key, and an HTTP URL.
	// Payloads are served: the auditor reads sealed consent bodies.
	h, err := tileserver.New(tileserver.Config{Log: l, Payloads: l})
	require.NoError(t, err)
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	defer srv.Close()
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: vkey})
	require.NoError(t, err)
	remote, err := client.New(client.Config{URL: srv.URL, Verifier: v, Payloads: true})
	require.NoError(t, err)
	nv, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	res, err := identity.NewResolver(identity.Config{Ledger: remote, CheckpointVerifier: nv, Origin: origin})
	require.NoError(t, err)

	for _, d := range []*did{pat, ehr} {
		got, err := res.Resolve(ctx, d.did)
		require.NoError(t, err)
		want, err := local.Resolve(ctx, d.did)
		require.NoError(t, err)
		require.Equal(t, want.Document, got.Document, "%s resolves the same over HTTP", d.did)
		require.Equal(t, want.Head.Hash, got.Head.Hash)
	}
	msg := []byte("example/request/v1")
	sig, err := pat.holder.Sign(msg)
	require.NoError(t, err)
	require.NoError(t, res.CheckSignature(ctx, pat.did, msg, sig, time.Now()), "the current device key verifies remotely")

	// Consents replayed from the read path alone.
	auditor, err := consent.NewRegistry(consent.RegistryConfig{Log: remote, Checker: res, Sealer: vault, Tagger: tagger})
	require.NoError(t, err)
	ids, _, err := auditor.Active(ctx, pat.did)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	re, err := auditor.Reevaluate(ctx, a.Receipt.Index)
	require.NoError(t, err)
	require.True(t, re.Recomputed.Allowed)
	report, err := auditor.AccessReport(ctx, pat.did)
	require.NoError(t, err)
	require.Len(t, report, 1)
	require.Equal(t, ehr.did, report[0].Recorder)

	// The remote party cannot write.
	g2, err := reg.GrantEntry(ctx, &c, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, pat.holder.SignEntry(g2))
	_, err = auditor.Submit(ctx, g2)
	require.ErrorIs(t, err, client.ErrReadOnly)

	// The patient's consent payloads are erased. Over HTTP the grant is
	// then a verified *ErasedError, and every tile and bundle the server
	// served before is byte-identical.
	before := map[string][]byte{}
	for _, p := range []string{"/tile/0/000", "/tile/0/001.p/47", "/tile/1/000.p/1", "/tile/entries/000", "/tile/entries/001.p/47"} {
		before[p] = httpGet(t, srv.URL+p)
	}
	tag, err := reg.SubjectTag(pat.did)
	require.NoError(t, err)
	size, err := remote.Update(ctx)
	require.NoError(t, err)
	ex, err := ledger.NewErasureEntry(tag, size.Size, "patient request", ehr.did, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, ehr.holder.SignEntry(ex))
	erasure, err := l.Erase(ctx, ex)
	require.NoError(t, err)
	_, err = remote.Update(ctx)
	require.NoError(t, err)
	_, err = remote.Entry(ctx, grant.Index)
	var ee *ledger.ErasedError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, erasure.Index, ee.ErasedBy)
	require.NotNil(t, ee.Erasure)
	_, err = v.VerifyReceipt(ee.Erasure)
	require.NoError(t, err, "the erasure's receipt verifies")
	for p, b := range before {
		require.Equal(t, b, httpGet(t, srv.URL+p), "%s is unchanged by the erasure", p)
	}
}

func httpGet(t *testing.T, url string) []byte {
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}
