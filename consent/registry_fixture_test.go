package consent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/privacy"
	"github.com/healthledger/healthledger/privacy/privacytest"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

// fakeKeys is a SignatureChecker over a table of keys with validity
// intervals, standing in for DID resolution.
type fakeKeys struct {
	mu   sync.Mutex
	keys map[string][]fakeKey
}

type fakeKey struct {
	pub         ed25519.PublicKey
	from, until time.Time // valid in [from, until); zero until: still valid
}

var errFakeBadSig = errors.New("fake: bad signature")

func (f *fakeKeys) CheckSignature(_ context.Context, did string, msg, sig []byte, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keys[did] {
		if at.Before(k.from) || !k.until.IsZero() && !at.Before(k.until) {
			continue
		}
		if ed25519.Verify(k.pub, msg, sig) {
			return nil
		}
	}
	return errFakeBadSig
}

// fakeHolder signs entries as a DID.
type fakeHolder struct {
	did  string
	priv ed25519.PrivateKey
}

func (h *fakeHolder) SignEntry(e *ledger.Entry) error {
	e.Writer = h.did
	msg, err := e.SignedMessage()
	if err != nil {
		return err
	}
	e.Signature = ed25519.Sign(h.priv, msg)
	return nil
}

// sign signs without changing the writer (to forge entries in tests).
func (h *fakeHolder) sign(t *testing.T, e *ledger.Entry) {
	msg, err := e.SignedMessage()
	require.NoError(t, err)
	e.Signature = ed25519.Sign(h.priv, msg)
}

func (f *fakeKeys) newHolder(t *testing.T, did string, from time.Time) *fakeHolder {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string][]fakeKey{}
	}
	f.keys[did] = append(f.keys[did], fakeKey{pub: pub, from: from})
	return &fakeHolder{did: did, priv: priv}
}

// revoke ends the validity of every key of did at t.
func (f *fakeKeys) revoke(did string, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.keys[did] {
		f.keys[did][i].until = t
	}
}

// newVault returns a real sealer, as a development deployment sets it up.
func newVault(t testing.TB) *privacy.Vault { return privacytest.Vault(t, testOrigin) }

// newTagger returns a keyed tagger under a fresh PRF key.
func newTagger(t testing.TB) *privacy.Tagger { return privacytest.Tagger(t, testOrigin) }

// world is a ledger with a registry and DIDs for the tests.
type world struct {
	t        *testing.T
	log      *ledger.Log
	verifier note.Verifier
	vkey     string
	keys     *fakeKeys
	reg      *Registry
	patient  *fakeHolder
	ehr      *fakeHolder
	now      time.Time
	cfg      RegistryConfig
}

const testOrigin = "consent.test/log"

func newWorld(t *testing.T, sealer Sealer) *world {
	return newWorldOn(t, sealer, memstore.New())
}

// newWorldOn is newWorld with the ledger over store.
func newWorldOn(t *testing.T, sealer Sealer, store ledger.Store) *world {
	skey, vkey, err := ledger.GenerateKey(testOrigin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	// The tests date grants months apart; the log's clock check is tested
	// in package ledger.
	l, err := ledger.Open(context.Background(), ledger.Config{Store: store, Signer: signer, Origin: testOrigin, MaxClockSkew: 50 * 365 * 24 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	w := &world{t: t, log: l, verifier: v, vkey: vkey, keys: &fakeKeys{}, now: t2026}
	w.patient = w.keys.newHolder(t, patient, t2025)
	w.ehr = w.keys.newHolder(t, "did:hl:ehr-service", t2025)
	w.cfg = RegistryConfig{
		Log: l, Checker: w.keys, Recorder: w.ehr, Sealer: sealer,
		InsecureClearBodies: sealer == nil, InsecurePublicTags: sealer == nil,
		Evaluator: Config{BreakGlassRoles: []string{roleER}},
		Now:       func() time.Time { return w.now },
	}
	if sealer != nil {
		w.cfg.Tagger = newTagger(t)
	}
	w.reg, err = NewRegistry(w.cfg)
	require.NoError(t, err)
	return w
}

// tick advances the clock and returns it.
func (w *world) tick() time.Time {
	w.now = w.now.Add(time.Minute)
	return w.now
}

// grant builds a grant entry for c signed by signer.
func (w *world) grant(c Consent, signer *fakeHolder) *ledger.Entry {
	e, err := w.reg.GrantEntry(context.Background(), &c, w.tick())
	require.NoError(w.t, err)
	signer.sign(w.t, e)
	return e
}

func (w *world) submitGrant(c Consent) ID {
	_, err := w.reg.Submit(context.Background(), w.grant(c, w.patient))
	require.NoError(w.t, err)
	id, err := c.ID()
	require.NoError(w.t, err)
	return id
}

// submitGrantAt submits a grant of c signed by the patient and dated at.
func (w *world) submitGrantAt(c Consent, at time.Time) ID {
	e, err := w.reg.GrantEntry(context.Background(), &c, at)
	require.NoError(w.t, err)
	w.patient.sign(w.t, e)
	_, err = w.reg.Submit(context.Background(), e)
	require.NoError(w.t, err)
	id, err := c.ID()
	require.NoError(w.t, err)
	return id
}

// submitRevocation submits the patient's revocation of id dated at.
func (w *world) submitRevocation(id ID, at time.Time) {
	e, err := w.reg.RevocationEntry(context.Background(), patient, id, at)
	require.NoError(w.t, err)
	w.patient.sign(w.t, e)
	_, err = w.reg.Submit(context.Background(), e)
	require.NoError(w.t, err)
}

func (w *world) size() uint64 {
	cp, err := w.log.Checkpoint(context.Background())
	if errors.Is(err, ledger.ErrEmptyLog) {
		return 0
	}
	require.NoError(w.t, err)
	c, _, err := ledger.OpenCheckpoint(cp, testOrigin, w.verifier)
	require.NoError(w.t, err)
	return c.Size
}

// request returns the base request at the current clock.
func (w *world) request() Request {
	r := baseRequest()
	r.Time = w.tick()
	return r
}
