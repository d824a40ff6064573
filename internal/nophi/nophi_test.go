// Package nophi holds the end-to-end test that no protected health
// information reaches the log: synthetic records, consents and access
// records whose every free-text and identifier field holds a unique random
// canary go through the public API of a Pebble-backed ledger with the
// default privacy settings, and then every leaf, tile, entry bundle and
// checkpoint is searched for every canary, raw and encoded; after erasure,
// the raw store directory is searched too.
package nophi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/pebblestore"
	"github.com/healthledger/healthledger/privacy/privacytest"
	"github.com/stretchr/testify/require"
)

const origin = "nophi.test/log"

// canaries hands out unique random strings and remembers them.
type canaries struct{ all []string }

func (c *canaries) new(kind string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	s := fmt.Sprintf("%s-%x", kind, b)
	c.all = append(c.all, s)
	return s
}

// forms returns s raw and in every encoding a careless writer might use.
func forms(s string) [][]byte {
	b := []byte(s)
	return [][]byte{b, []byte(hex.EncodeToString(b)), []byte(base64.StdEncoding.EncodeToString(b)),
		[]byte(base64.RawStdEncoding.EncodeToString(b)), []byte(base64.URLEncoding.EncodeToString(b)),
		[]byte(base64.RawURLEncoding.EncodeToString(b))}
}

func requireNone(t *testing.T, what string, data []byte, cs []string) {
	t.Helper()
	for _, c := range cs {
		for _, f := range forms(c) {
			require.False(t, bytes.Contains(data, f), "%s holds canary %q", what, c)
		}
	}
}

type did struct {
	id     string
	holder *identity.Holder
}

func newDID(t *testing.T, l *ledger.Log, at time.Time) did {
	t.Helper()
	rot, err := identity.GenerateKey(identity.KeyTypeEd25519)
	require.NoError(t, err)
	dev, err := identity.GenerateKey(identity.KeyTypeEd25519)
	require.NoError(t, err)
	st := identity.State{
		RotationKeys:        []identity.PublicKey{rot.Public()},
		VerificationMethods: []identity.VerificationMethod{{ID: "key-1", Key: dev.Public(), Relationships: identity.AssertionMethod}},
	}
	op, id, err := identity.NewGenesis(st, at, rot)
	require.NoError(t, err)
	e, err := identity.OperationEntry(id, op, rot)
	require.NoError(t, err)
	_, err = l.Append(context.Background(), e)
	require.NoError(t, err)
	h, err := identity.NewHolder(id, id+"#key-1", dev)
	require.NoError(t, err)
	return did{id: id, holder: h}
}

func TestNoPHIOnTheLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := pebblestore.Open(ctx, pebblestore.Config{Dir: filepath.Join(dir, "db")})
	require.NoError(t, err)
	skey, _, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	resolver, err := identity.NewResolver(identity.Config{})
	require.NoError(t, err)
	l, err := ledger.Open(ctx, ledger.Config{Store: store, Signer: signer, Origin: origin, WriterVerifier: resolver})
	require.NoError(t, err)
	resolver.SetLedger(l)

	vault, tagger := privacytest.Vault(t, origin), privacytest.Tagger(t, origin)

	now := time.Now().UTC()
	patient, ehr := newDID(t, l, now), newDID(t, l, now)
	reg, err := consent.NewRegistry(consent.RegistryConfig{Log: l, Checker: resolver, Recorder: ehr.holder, Sealer: vault, Tagger: tagger})
	require.NoError(t, err)
	tag, err := reg.SubjectTag(patient.id)
	require.NoError(t, err)

	var c canaries
	// A consent whose every identifier and free-text field is a canary.
	team, org, doctor := "did:web:"+c.new("team"), "did:web:"+c.new("org"), "did:web:"+c.new("doctor")
	grant, err := reg.GrantEntry(ctx, &consent.Consent{
		Patient: patient.id, Status: consent.StatusActive, Decision: consent.Deny, Grantors: []string{patient.id},
		PolicyBasis: "https://" + c.new("policy") + ".example/policy",
		Provisions: []consent.Provision{{
			Actors:   []consent.ActorMatch{{Reference: team}, {Organization: org}},
			Purposes: []consent.Purpose{consent.PurposeTreat},
		}},
	}, now)
	require.NoError(t, err)
	require.NoError(t, patient.holder.SignEntry(grant))
	_, err = reg.Submit(ctx, grant)
	require.NoError(t, err)
	// Access records: who, what resource, which team.
	for range 3 {
		req := consent.Request{Patient: patient.id, Actor: consent.Actor{DID: doctor, Organization: org, Teams: []string{team}, Roles: []string{c.new("role")}},
			Action: consent.ActionAccess, Purpose: consent.PurposeTreat, Time: now,
			Resource: consent.Resource{Type: "Observation", ID: c.new("obs")}}
		_, err := reg.Authorize(ctx, &req)
		require.NoError(t, err)
	}
	// FHIR resources, sealed under the patient's key, kept beside the tree.
	var anchored []uint64
	for range 3 {
		fhir := fmt.Sprintf(`{"resourceType":"Observation","id":%q,"subject":{"display":%q},"note":[{"text":%q}],"valueQuantity":{"value":6.10,"unit":"mmol/L"}}`,
			c.new("id"), c.new("name"), c.new("note"))
		e := &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: tag, Writer: ehr.id, Time: now}
		sealed, err := vault.Seal(ctx, tag, []byte("nophi/fhir"), []byte(fhir))
		require.NoError(t, err)
		require.NoError(t, e.SetPayload(sealed))
		require.NoError(t, ehr.holder.SignEntry(e))
		r, err := l.Append(ctx, e)
		require.NoError(t, err)
		anchored = append(anchored, r.Index)
	}
	// A low-entropy value in a clear payload (the visible opt-out): the
	// salted commitment does not reveal it, and erasure removes it.
	birth := "1987-06-05"
	clear := &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: tag, Writer: ehr.id, Time: now}
	clearCanary := c.new("clear")
	require.NoError(t, clear.SetPayload([]byte(birth+" "+clearCanary)))
	require.NoError(t, ehr.holder.SignEntry(clear))
	_, err = l.Append(ctx, clear)
	require.NoError(t, err)

	// Everything a reader of the log gets: leaves, tiles, entry bundles and
	// the checkpoint.
	cp, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	requireNone(t, "the checkpoint", cp, c.all)
	head, err := ledger.ParseSignedCheckpoint(cp)
	require.NoError(t, err)
	for i := range head.Size {
		leaf, err := l.Leaf(ctx, i)
		require.NoError(t, err)
		requireNone(t, fmt.Sprintf("leaf %d", i), leaf, c.all)
	}
	for level := uint8(0); level < 3; level++ {
		for n := uint64(0); ; n++ {
			width := 256
			tile, err := l.Tile(ctx, level, n, width)
			for err != nil && width > 1 {
				width--
				tile, err = l.Tile(ctx, level, n, width)
			}
			if err != nil {
				break
			}
			requireNone(t, "a tile", tile, c.all)
		}
	}
	for n := uint64(0); n*256 < head.Size; n++ {
		width := int(min(256, head.Size-n*256))
		bundle, err := l.EntryBundle(ctx, n, width)
		require.NoError(t, err)
		requireNone(t, "an entry bundle", bundle, c.all)
	}
	// The commitment to a low-entropy value cannot be brute-forced without
	// its salt: no candidate date, hashed any unsalted way, matches.
	for d := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2030; d = d.AddDate(0, 0, 1) {
		guess := []byte(d.Format("2006-01-02") + " " + clearCanary)
		unsalted := (&ledger.Payload{Data: guess}).Commitment()
		plain := sha256.Sum256(guess)
		require.NotEqual(t, clear.PayloadCommitment, unsalted)
		require.NotEqual(t, ledger.Commitment(plain), clear.PayloadCommitment)
	}

	// Before erasure the clear payload is on disk (the scan sees it), and
	// nothing else is: sealed payloads are ciphertext at rest too.
	require.Positive(t, countOnDisk(t, dir, clearCanary), "the directory scan finds what is there")
	for _, cn := range c.all {
		if cn != clearCanary {
			require.Zero(t, countOnDisk(t, dir, cn), "canary %q in clear on disk", cn)
		}
	}
	// ...after erasure (the patient's key destroyed, their payloads
	// deleted, the erasure on the log), nothing of theirs is.
	require.NoError(t, vault.EraseSubject(ctx, tag))
	x, err := ledger.NewErasureEntry(tag, head.Size, "GDPR Art. 17(1)(a)", ehr.id, time.Now())
	require.NoError(t, err)
	require.NoError(t, ehr.holder.SignEntry(x))
	xr, err := l.Erase(ctx, x)
	require.NoError(t, err)
	for _, i := range anchored {
		_, err := l.Entry(ctx, i)
		var ee *ledger.ErasedError
		require.ErrorAs(t, err, &ee)
		require.Equal(t, xr.Index, ee.ErasedBy)
	}
	require.NoError(t, l.Close())
	require.NoError(t, store.Close())
	for _, cn := range c.all {
		require.Zero(t, countOnDisk(t, dir, cn), "canary %q on disk after erasure", cn)
	}
}

// countOnDisk counts the raw occurrences of s in every file under dir.
func countOnDisk(t *testing.T, dir, s string) int {
	t.Helper()
	n := 0
	require.NoError(t, filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n += bytes.Count(data, []byte(s))
		return nil
	}))
	return n
}
