package identity

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

const testOrigin = "ledger.example.org/identity-test"

// testClockSkew is the ledger clock skew of the test logs: wide enough for
// operations dated anywhere from 1970 to 2090.
const testClockSkew = 60 * 365 * 24 * time.Hour

// testLog opens an in-memory Log, optionally guarded by a Resolver used as
// its WriterVerifier, and returns the Log and a Resolver reading it.
func testLog(t testing.TB, guarded bool, cfg Config) (*ledger.Log, *Resolver) {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(testOrigin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	cfg.CheckpointVerifier, cfg.Origin = v, testOrigin
	r, err := NewResolver(cfg)
	require.NoError(t, err)
	// The tests date operations days and months apart (recovery windows),
	// so the log's clock check is opened wide; it is tested in ledger.
	lcfg := ledger.Config{Store: memstore.New(), Signer: signer, Origin: testOrigin, MaxClockSkew: testClockSkew}
	if guarded {
		lcfg.WriterVerifier = r
	}
	l, err := ledger.Open(context.Background(), lcfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	r.SetLedger(l)
	return l, r
}

// publish appends op for f's DID, signed by signer.
func publish(t testing.TB, l *ledger.Log, did string, op *Operation, signer *PrivateKey) *ledger.Receipt {
	t.Helper()
	e, err := OperationEntry(did, op, signer)
	require.NoError(t, err)
	rec, err := l.Append(context.Background(), e)
	require.NoError(t, err)
	return rec
}

func logSize(t testing.TB, l *ledger.Log) uint64 {
	cp, err := l.Checkpoint(context.Background())
	if err != nil {
		return 0
	}
	i := 0
	for i < len(cp) && !(cp[i] == '\n' && i+1 < len(cp) && cp[i+1] == '\n') {
		i++
	}
	c, err := ledger.ParseCheckpoint(cp[:i+1])
	require.NoError(t, err)
	return c.Size
}

func TestResolveLifecycle(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, false, Config{})
	f := newFixture(t)
	dev2 := mustKey(t, KeyTypeEd25519)
	s2 := f.state(f.device)
	s2.VerificationMethods = append(s2.VerificationMethods, VerificationMethod{ID: "phone", Key: dev2.Public(), Relationships: CapabilityInvocation})
	u := f.next(OpUpdate, f.genesis, f.k[0], time.Hour, s2)
	s3 := s2
	s3.RotationKeys = []PublicKey{f.k[0].Public(), dev2.Public()}
	rot := f.next(OpRotate, u, f.k[2], 2*time.Hour, s3)
	publish(t, l, f.did, f.genesis, f.k[1])
	// Someone else's entry on the same subject, and unrelated entries.
	junk := newFixture(t)
	je, err := OperationEntry(junk.did, junk.genesis, junk.k[1])
	require.NoError(t, err)
	je.Writer, je.Subject = f.did, SubjectTag(f.did)
	_, err = l.Append(ctx, je)
	require.NoError(t, err)
	publish(t, l, junk.did, junk.genesis, junk.k[1])
	publish(t, l, f.did, u, f.k[0])
	publish(t, l, f.did, rot, f.k[2])

	res, err := r.Resolve(ctx, f.did)
	require.NoError(t, err)
	require.Equal(t, f.did, res.Document.ID)
	require.Len(t, res.Document.VerificationMethod, 2)
	require.Equal(t, []string{f.did + "#key-1"}, res.Document.AssertionMethod)
	require.Equal(t, []string{f.did + "#key-1"}, res.Document.Authentication)
	require.Equal(t, []string{f.did + "#phone"}, res.Document.CapabilityInvocation)
	require.Equal(t, "https://ehr.example.org/fhir", res.Document.Service[0].ServiceEndpoint)
	require.Len(t, res.RotationKeys, 2)
	rh, _ := rot.Hash()
	require.Equal(t, rh.String(), res.Metadata.VersionID)
	require.Equal(t, uint64(4), res.Metadata.LogIndex)
	require.Equal(t, uint64(5), res.Metadata.TreeSize)
	require.Equal(t, f.t0, res.Metadata.Created)
	require.Len(t, res.History, 4)
	require.Equal(t, StatusRejected, res.History[1].Status)
	require.ErrorIs(t, res.History[1].Err, ErrDuplicateGenesis)

	j, err := res.Document.JSON()
	require.NoError(t, err)
	parsed, err := ParseDocument(j)
	require.NoError(t, err)
	require.Equal(t, res.Document, parsed)

	at, err := r.ResolveAt(ctx, f.did, f.t0.Add(30*time.Minute))
	require.NoError(t, err)
	require.Len(t, at.Document.VerificationMethod, 1)
	require.Len(t, at.RotationKeys, 3)
	bySize, err := r.ResolveAtSize(ctx, f.did, 4)
	require.NoError(t, err)
	require.Len(t, bySize.RotationKeys, 3)
	require.Len(t, bySize.Document.VerificationMethod, 2)
	_, err = r.ResolveAtSize(ctx, f.did, 1)
	require.NoError(t, err)
	_, err = r.ResolveAt(ctx, f.did, f.t0.Add(-time.Second))
	require.ErrorIs(t, err, ErrNotFound)
	_, err = r.Resolve(ctx, newFixture(t).did)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestResolveAtSizeSeesNullifiedOperation(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, true, Config{Now: func() time.Time { return baseTime.Add(24 * time.Hour) }})
	f, stolen, thief := recoverySetup(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	publish(t, l, f.did, stolen, f.k[1])
	// The thief's key signs something while it is in the document.
	h, err := NewHolder(f.did, f.did+"#key-1", thief)
	require.NoError(t, err)
	msg := []byte("thief statement")
	sig, err := h.Sign(msg)
	require.NoError(t, err)
	when := f.t0.Add(90 * time.Minute)
	require.NoError(t, r.CheckSignature(ctx, f.did, msg, sig, when))
	rec := f.next(OpUpdate, f.genesis, f.k[0], 2*time.Hour, f.state(f.device))
	publish(t, l, f.did, rec, f.k[0])

	// After the recovery the thief's key is not valid at any time...
	require.ErrorIs(t, r.CheckSignature(ctx, f.did, msg, sig, when), ErrBadSignature)
	// ...but a reader can still see what the ledger showed before.
	old, err := r.ResolveAtSize(ctx, f.did, 2)
	require.NoError(t, err)
	k, err := old.Document.Keys(AssertionMethod)
	require.NoError(t, err)
	require.True(t, k[0].Equal(thief.Public()))
	res, err := r.Resolve(ctx, f.did)
	require.NoError(t, err)
	require.Equal(t, StatusNullified, res.History[1].Status)
}

func TestCheckSignatureAcrossRotation(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, false, Config{})
	f := newFixture(t)
	dev2 := mustKey(t, KeyTypeEd25519)
	publish(t, l, f.did, f.genesis, f.k[1])
	old, err := NewHolder(f.did, f.did+"#key-1", f.device)
	require.NoError(t, err)
	msg := []byte("healthledger/consent/v1\x00grant")
	sig, err := old.Sign(msg)
	require.NoError(t, err)
	s := f.state(dev2)
	s.VerificationMethods = append(s.VerificationMethods, VerificationMethod{ID: "auth-only", Key: f.device.Public(), Relationships: Authentication})
	publish(t, l, f.did, f.next(OpUpdate, f.genesis, f.k[0], time.Hour, s), f.k[0])
	deact := f.next(OpDeactivate, f.genesis, f.k[0], 2*time.Hour, State{})
	_ = deact

	tests := []struct {
		name string
		at   time.Time
		sig  []byte
		err  error
	}{
		{"before rotation", f.t0.Add(59 * time.Minute), sig, nil},
		{"at rotation", f.t0.Add(time.Hour), sig, ErrBadSignature},
		{"after rotation (key now authentication only)", f.t0.Add(5 * time.Hour), sig, ErrBadSignature},
		{"before the DID existed", f.t0.Add(-time.Minute), sig, ErrNotFound},
		{"garbage signature", f.t0, []byte("x"), ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.CheckSignature(ctx, f.did, msg, tc.sig, tc.at)
			if tc.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.err)
			}
		})
	}
	_, err = r.Resolve(ctx, "did:hl:bad")
	require.ErrorIs(t, err, ErrMalformedDID)
}

func TestDeactivatedDID(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, false, Config{})
	f := newFixture(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	publish(t, l, f.did, f.next(OpDeactivate, f.genesis, f.k[2], time.Hour, State{}), f.k[2])
	res, err := r.Resolve(ctx, f.did)
	require.NoError(t, err)
	require.True(t, res.Metadata.Deactivated)
	require.Empty(t, res.Document.VerificationMethod)
	h, _ := NewHolder(f.did, f.did+"#key-1", f.device)
	sig, _ := h.Sign([]byte("m"))
	require.ErrorIs(t, r.CheckSignature(ctx, f.did, []byte("m"), sig, f.t0.Add(2*time.Hour)), ErrDeactivated)
	require.NoError(t, r.CheckSignature(ctx, f.did, []byte("m"), sig, f.t0.Add(time.Minute)), "signatures from before deactivation still verify")
}

func TestSignedRequests(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, false, Config{})
	f := newFixture(t)
	assertOnly := mustKey(t, KeyTypeEd25519)
	s := f.state(f.device)
	s.VerificationMethods = append(s.VerificationMethods, VerificationMethod{ID: "signing", Key: assertOnly.Public(), Relationships: AssertionMethod})
	g, did, err := NewGenesis(s, f.t0, f.k[0])
	require.NoError(t, err)
	publish(t, l, did, g, f.k[0])
	external := mustKey(t, KeyTypeP256)
	extDID := external.Public().DIDKey()

	holder := func(id string, k *PrivateKey) *Holder {
		h, err := NewHolder(did, did+"#"+id, k)
		require.NoError(t, err)
		return h
	}
	extHolder, err := NewHolder(extDID, extDID+"#"+external.Public().Multibase(), external)
	require.NoError(t, err)
	at := f.t0.Add(time.Hour)
	tests := []struct {
		name string
		h    *Holder
		rel  Relationship
		mod  func(*SignedRequest)
		err  error
	}{
		{"device authenticates", holder("key-1", f.device), Authentication, nil, nil},
		{"device asserts", holder("key-1", f.device), AssertionMethod, nil, nil},
		{"assertion-only key cannot authenticate", holder("signing", assertOnly), Authentication, nil, ErrWrongRelationship},
		{"assertion-only key asserts", holder("signing", assertOnly), AssertionMethod, nil, nil},
		{"device cannot invoke capabilities", holder("key-1", f.device), CapabilityInvocation, nil, ErrWrongRelationship},
		{"unknown key id", holder("nope", f.device), Authentication, nil, ErrBadSignature},
		{"wrong key under a valid id", holder("key-1", assertOnly), Authentication, nil, ErrBadSignature},
		{"tampered payload", holder("key-1", f.device), Authentication, func(q *SignedRequest) { q.Payload = []byte("read all") }, ErrBadSignature},
		{"relationship swapped after signing", holder("key-1", f.device), AssertionMethod, func(q *SignedRequest) { q.Relationship = Authentication }, ErrBadSignature},
		{"did:key holder", extHolder, Authentication, nil, nil},
		{"two relationships", holder("key-1", f.device), Authentication | AssertionMethod, nil, ErrMalformedDocument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := tc.h.SignRequest(tc.rel, []byte("read labs"), at)
			if err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			if tc.mod != nil {
				tc.mod(q)
			}
			j, err := json.Marshal(q)
			require.NoError(t, err)
			var back SignedRequest
			require.NoError(t, json.Unmarshal(j, &back))
			err = r.VerifyRequest(ctx, &back)
			if tc.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.err)
			}
		})
	}
}

func TestDIDKeyResolution(t *testing.T) {
	ctx := context.Background()
	r, err := NewResolver(Config{}) // no ledger needed for did:key
	require.NoError(t, err)
	for _, kt := range keyTypes {
		t.Run(kt.String(), func(t *testing.T) {
			k := mustKey(t, kt)
			did := k.Public().DIDKey()
			res, err := r.Resolve(ctx, did)
			require.NoError(t, err)
			require.Len(t, res.Document.AssertionMethod, 1)
			j, err := res.Document.JSON()
			require.NoError(t, err)
			_, err = ParseDocument(j)
			require.NoError(t, err)
			sig, err := k.Sign([]byte("m"))
			require.NoError(t, err)
			require.NoError(t, r.CheckSignature(ctx, did, []byte("m"), sig, time.Now()))
			require.ErrorIs(t, r.CheckSignature(ctx, mustKey(t, kt).Public().DIDKey(), []byte("m"), sig, time.Now()), ErrBadSignature)
		})
	}
	_, err = r.Resolve(ctx, newFixture(t).did)
	require.ErrorIs(t, err, ErrNoLedger)
}

// tamperLedger returns a modified leaf at one index.
type tamperLedger struct {
	Ledger
	index uint64
}

func (t tamperLedger) Leaf(ctx context.Context, index uint64) ([]byte, error) {
	b, err := t.Ledger.Leaf(ctx, index)
	if err == nil && index == t.index {
		b = append([]byte(nil), b...)
		b[len(b)-1] ^= 1
	}
	return b, err
}

func TestResolverDetectsTampering(t *testing.T) {
	ctx := context.Background()
	l, _ := testLog(t, false, Config{})
	f := newFixture(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	publish(t, l, f.did, f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(f.device)), f.k[0])

	r, err := NewResolver(Config{Ledger: tamperLedger{Ledger: l, index: 1}})
	require.NoError(t, err)
	_, err = r.Resolve(ctx, f.did)
	require.ErrorIs(t, err, ErrNotIncluded)

	_, otherKey, err := ledger.GenerateKey(testOrigin)
	require.NoError(t, err)
	v, err := note.NewVerifier(otherKey)
	require.NoError(t, err)
	r, err = NewResolver(Config{Ledger: l, CheckpointVerifier: v, Origin: testOrigin})
	require.NoError(t, err)
	_, err = r.Resolve(ctx, f.did)
	require.ErrorIs(t, err, ErrNotIncluded)
	_, err = NewResolver(Config{CheckpointVerifier: v})
	require.Error(t, err)
}

func TestWriterVerifier(t *testing.T) {
	ctx := context.Background()
	now := baseTime.Add(10 * time.Minute)
	l, _ := testLog(t, true, Config{Now: func() time.Time { return now }})
	f := newFixture(t)
	stranger := mustKey(t, KeyTypeEd25519)
	publish(t, l, f.did, f.genesis, f.k[1])

	record := func(writer string, signer *PrivateKey, at time.Time) *ledger.Entry {
		e := &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: ledger.DeriveSubjectTag("record", "r1"), Writer: writer,
			Time: at, Digest: ledger.Digest(sha256.Sum256([]byte("fhir")))}
		if signer != nil {
			require.NoError(t, SignEntry(e, signer))
		}
		return e
	}
	opEntry := func(op *Operation, signer *PrivateKey) *ledger.Entry {
		e, err := OperationEntry(f.did, op, signer)
		require.NoError(t, err)
		return e
	}
	ext := mustKey(t, KeyTypeP256)
	upd := f.next(OpUpdate, f.genesis, f.k[2], 5*time.Minute, f.state(f.device))
	deact := f.next(OpDeactivate, f.genesis, f.k[2], 5*time.Minute, State{})

	tests := []struct {
		name string
		e    *ledger.Entry
		err  error
	}{
		{"record signed by device key", record(f.did, f.device, f.t0.Add(time.Minute)), nil},
		{"unsigned record", record(f.did, nil, f.t0.Add(time.Minute)), ErrBadSignature},
		{"record signed by stranger", record(f.did, stranger, f.t0.Add(time.Minute)), ErrBadSignature},
		{"record signed by rotation key (not assertionMethod)", record(f.did, f.k[0], f.t0.Add(time.Minute)), ErrBadSignature},
		{"record dated before the DID existed", record(f.did, f.device, f.t0.Add(-time.Minute)), ErrNotFound},
		{"record by did:key", record(ext.Public().DIDKey(), ext, f.t0), nil},
		{"record by unknown did:hl", record(newFixture(t).did, f.device, f.t0), ErrNotFound},
		{"record by malformed writer", record("did:hl:nope", f.device, f.t0), ErrMalformedDID},
		{"update signed as entry by another key", func() *ledger.Entry {
			e := opEntry(upd, f.k[2])
			require.NoError(t, SignEntry(e, f.k[0]))
			return e
		}(), ErrBadSignature},
		{"update with broken prev", opEntry(f.next(OpUpdate, newFixture(t).genesis, f.k[0], time.Minute, f.state(f.device)), f.k[0]), ErrBrokenPrev},
		{"update by stranger", opEntry(f.next(OpUpdate, f.genesis, stranger, time.Minute, f.state(f.device)), stranger), ErrBadSignature},
		{"operation too far in the future", opEntry(f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(f.device)), f.k[0]), ErrClockSkew},
		{"genesis replayed with a new entry signature", opEntry(f.genesis, f.k[1]), ErrReplayed},
		{"update", opEntry(upd, f.k[2]), nil},
		{"exact re-append of the update is deduplicated", opEntry(upd, f.k[2]), nil},
		{"deactivate after an update at the same prev", opEntry(deact, f.k[2]), ErrInsufficientPriority},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := logSize(t, l)
			rec, err := l.Append(ctx, tc.e)
			if tc.err == nil {
				require.NoError(t, err)
				require.Equal(t, strings.Contains(tc.name, "re-append"), rec.Existed)
				if rec.Existed {
					require.Equal(t, before, logSize(t, l))
				} else {
					require.Equal(t, before+1, logSize(t, l))
				}
				return
			}
			require.ErrorIs(t, err, ledger.ErrWriterRejected)
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, before, logSize(t, l), "a rejected entry stores nothing")
		})
	}
}

func TestCurrentWriterKeys(t *testing.T) {
	ctx := context.Background()
	for _, current := range []bool{false, true} {
		t.Run(fmt.Sprint("current=", current), func(t *testing.T) {
			l, _ := testLog(t, true, Config{CurrentWriterKeys: current, Now: func() time.Time { return baseTime.Add(2 * time.Hour) }})
			f := newFixture(t)
			publish(t, l, f.did, f.genesis, f.k[1])
			publish(t, l, f.did, f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(mustKey(t, KeyTypeEd25519))), f.k[0])
			// The removed device key signs an entry back-dated to when it was valid.
			e := &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: ledger.DeriveSubjectTag("record", "r"), Writer: f.did,
				Time: f.t0.Add(time.Minute), Digest: ledger.Digest(sha256.Sum256([]byte("x")))}
			require.NoError(t, SignEntry(e, f.device))
			_, err := l.Append(ctx, e)
			if current {
				require.ErrorIs(t, err, ErrBadSignature)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

func TestWriterVerifierOnEmptyLog(t *testing.T) {
	ctx := context.Background()
	l, _ := testLog(t, true, Config{Now: func() time.Time { return baseTime }})
	f := newFixture(t)
	e := &ledger.Entry{Kind: ledger.KindRecordAnchored, Writer: f.did, Time: baseTime, Subject: SubjectTag(f.did)}
	_, err := l.Append(ctx, e)
	require.ErrorIs(t, err, ledger.ErrWriterRejected)
	require.Equal(t, uint64(0), logSize(t, l))
	publish(t, l, f.did, f.genesis, f.k[1])
	require.Equal(t, uint64(1), logSize(t, l))
}

func TestMalformedEntriesOnSubjectAreIgnored(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, false, Config{})
	f := newFixture(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	good, err := OperationEntry(f.did, f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(f.device)), f.k[0])
	require.NoError(t, err)
	for name, mod := range map[string]func(e *ledger.Entry){
		"record kind":     func(e *ledger.Entry) { e.Kind = ledger.KindRecordAnchored },
		"kind mismatch":   func(e *ledger.Entry) { e.Kind = KindRotate },
		"digest mismatch": func(e *ledger.Entry) { e.Digest[0] ^= 1 },
		"time mismatch":   func(e *ledger.Entry) { e.Time = e.Time.Add(time.Second) },
		"body not an op":  func(e *ledger.Entry) { e.Body = []byte("x"); e.Digest = sha256.Sum256(e.Body) },
		"writer is other": func(e *ledger.Entry) { e.Writer = newFixture(t).did },
		"unknown id kind": func(e *ledger.Entry) { e.Kind = ledger.KindIdentityLast },
	} {
		e := *good
		mod(&e)
		e.Subject = SubjectTag(f.did)
		_, err := l.Append(ctx, &e)
		require.NoError(t, err, name)
	}
	op, err := OperationFromEntry(f.did, good)
	require.NoError(t, err)
	publish(t, l, f.did, op, f.k[0])
	res, err := r.Resolve(ctx, f.did)
	require.NoError(t, err)
	require.Equal(t, uint64(8), res.Metadata.LogIndex)
	rejected := 0
	for _, h := range res.History {
		if h.Status == StatusRejected {
			rejected++
		}
	}
	require.Equal(t, 7, rejected, "every malformed entry is recorded as rejected")
}

func TestHolderSignEntry(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, true, Config{Now: func() time.Time { return baseTime }})
	f := newFixture(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	h, err := NewHolder(f.did, f.did+"#key-1", f.device)
	require.NoError(t, err)
	require.Equal(t, f.did, h.DID())
	require.Equal(t, f.did+"#key-1", h.KeyID())
	e := &ledger.Entry{Kind: ledger.KindRecordAccessed, Subject: ledger.DeriveSubjectTag("record", "r"), Time: f.t0.Add(time.Minute)}
	require.NoError(t, h.SignEntry(e))
	require.Equal(t, f.did, e.Writer)
	_, err = l.Append(ctx, e)
	require.NoError(t, err)
	require.NoError(t, r.VerifyWriter(ctx, e))
	for name, args := range map[string][2]string{
		"key id of another DID":  {f.did, "did:hl:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa#key-1"},
		"no fragment":            {f.did, f.did},
		"did:key with other key": {f.device.Public().DIDKey(), f.device.Public().DIDKey() + "#" + f.k[0].Public().Multibase()},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewHolder(args[0], args[1], f.device)
			require.ErrorIs(t, err, ErrMalformedDID)
		})
	}
}

// TestJunkEntriesCannotBlockDID appends more junk entries under a DID's
// subject tag than MaxOperations allows: the DID still resolves, because the
// bound counts valid operations; too many valid operations still fail.
func TestJunkEntriesCannotBlockDID(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, false, Config{MaxOperations: 2})
	f := newFixture(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	for i := range 5 {
		_, err := l.Append(ctx, &ledger.Entry{
			Kind: ledger.KindRecordAnchored, Subject: SubjectTag(f.did), Writer: "did:key:z6MkJunk",
			Time: f.t0.Add(time.Duration(i+1) * time.Second), Digest: ledger.Digest{byte(i)},
		})
		require.NoError(t, err)
	}
	res, err := r.Resolve(ctx, f.did)
	require.NoError(t, err)
	require.Equal(t, f.did, res.Document.ID)

	u1 := f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(f.device))
	u2 := f.next(OpUpdate, u1, f.k[0], 2*time.Hour, f.state(f.device))
	publish(t, l, f.did, u1, f.k[0])
	publish(t, l, f.did, u2, f.k[0])
	_, err = r.Resolve(ctx, f.did)
	require.ErrorIs(t, err, ErrTooManyOperations)
}

// TestStolenLowerKeyCannotTakeOver replays the takeover of the "Hardening"
// issue through a ledger: k2 signs an update, k0 answers with a rotation
// that drops the stolen k1, and the thief signs with k1 an operation whose
// prev is the genesis. A guarded Log refuses it; on an unguarded one the
// resolver rejects it and the DID keeps k0's state.
func TestStolenLowerKeyCannotTakeOver(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	thief := mustKey(t, KeyTypeEd25519)
	a := f.next(OpUpdate, f.genesis, f.k[2], time.Hour, f.state(f.device))
	safe := f.state(f.device)
	safe.RotationKeys = []PublicKey{f.k[0].Public(), f.k[2].Public()}
	b := f.next(OpRotate, a, f.k[0], 2*time.Hour, safe)
	takeover := f.state(thief)
	takeover.RotationKeys = []PublicKey{thief.Public()}
	attack := f.next(OpRotate, f.genesis, f.k[1], 3*time.Hour, takeover)
	bh, err := b.Hash()
	require.NoError(t, err)

	for _, guarded := range []bool{true, false} {
		t.Run(fmt.Sprint("guarded=", guarded), func(t *testing.T) {
			l, r := testLog(t, guarded, Config{Now: func() time.Time { return baseTime.Add(3 * time.Hour) }})
			publish(t, l, f.did, f.genesis, f.k[1])
			publish(t, l, f.did, a, f.k[2])
			publish(t, l, f.did, b, f.k[0])
			e, err := OperationEntry(f.did, attack, f.k[1])
			require.NoError(t, err)
			_, err = l.Append(ctx, e)
			if guarded {
				require.ErrorIs(t, err, ledger.ErrWriterRejected)
				require.ErrorIs(t, err, ErrInsufficientPriority)
			} else {
				require.NoError(t, err)
			}
			res, err := r.Resolve(ctx, f.did)
			require.NoError(t, err)
			require.Equal(t, bh.String(), res.Metadata.VersionID)
			require.Len(t, res.RotationKeys, 2)
			require.True(t, res.RotationKeys[0].Equal(f.k[0].Public()))
			for _, h := range res.History[:3] {
				require.Equal(t, StatusAccepted, h.Status)
			}
			if !guarded {
				require.Len(t, res.History, 4)
				require.Equal(t, StatusRejected, res.History[3].Status)
				var pe *PriorityError
				require.ErrorAs(t, res.History[3].Err, &pe)
				require.Equal(t, bh, pe.Blocking)
			}
		})
	}
}

// TestResolutionHead builds the next operation from a resolution alone, and
// checks that the head it exposes is a copy.
func TestResolutionHead(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, true, Config{Now: func() time.Time { return baseTime.Add(2 * time.Hour) }})
	f := newFixture(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	u := f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(f.device))
	publish(t, l, f.did, u, f.k[0])

	res, err := r.Resolve(ctx, f.did)
	require.NoError(t, err)
	require.NotNil(t, res.Head)
	uh, err := u.Hash()
	require.NoError(t, err)
	require.Equal(t, uh, res.Head.Hash)
	require.Equal(t, uh.String(), res.Metadata.VersionID)
	require.Equal(t, uint64(1), res.Head.Index)
	require.Equal(t, u, res.Head.Operation)
	require.NotSame(t, u, res.Head.Operation)

	// Mutating the returned head changes nothing in the resolver.
	res.Head.Operation.State.VerificationMethods[0].ID = "mutated"
	res.Head.Operation.State.RotationKeys[0] = f.device.Public()
	res.Head.Operation.Signature[0] ^= 1
	again, err := r.Resolve(ctx, f.did)
	require.NoError(t, err)
	require.Equal(t, u, again.Head.Operation)
	require.Equal(t, "key-1", again.Head.Operation.State.VerificationMethods[0].ID)

	// The next operation needs nothing but the resolution.
	dev2 := mustKey(t, KeyTypeEd25519)
	next := again.Head.Operation.State
	next.VerificationMethods = []VerificationMethod{{ID: "key-2", Key: dev2.Public(), Relationships: AssertionMethod}}
	op, err := NewOperation(OpUpdate, again.Head.Hash, next, again.Head.Operation.Time.Add(time.Minute), f.k[0])
	require.NoError(t, err)
	publish(t, l, f.did, op, f.k[0])
	res, err = r.Resolve(ctx, f.did)
	require.NoError(t, err)
	require.Equal(t, op, res.Head.Operation)

	at, err := r.ResolveAt(ctx, f.did, f.t0)
	require.NoError(t, err)
	require.Equal(t, f.genesis, at.Head.Operation, "ResolveAt's head is the version in effect then")

	key, err := r.Resolve(ctx, f.device.Public().DIDKey())
	require.NoError(t, err)
	require.Nil(t, key.Head, "did:key has no operations")
}

// TestResolveAtSizeBounds: a size beyond the ledger's checkpoint is an
// error, not silently the latest version.
func TestResolveAtSizeBounds(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, false, Config{})
	f := newFixture(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	u := f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(f.device))
	publish(t, l, f.did, u, f.k[0])
	size := logSize(t, l)
	require.Equal(t, uint64(2), size)
	uh, err := u.Hash()
	require.NoError(t, err)
	gh, err := f.genesis.Hash()
	require.NoError(t, err)

	tests := []struct {
		name string
		size uint64
		want OpHash
		errs []error
	}{
		{"empty ledger", 0, OpHash{}, []error{ErrNotFound}},
		{"genesis only", 1, gh, nil},
		{"exactly the ledger size", size, uh, nil},
		{"one beyond the ledger size", size + 1, OpHash{}, []error{ErrSizeBeyondLedger, ledger.ErrNotFound}},
		{"far beyond", 1 << 62, OpHash{}, []error{ErrSizeBeyondLedger, ledger.ErrNotFound}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.ResolveAtSize(ctx, f.did, tc.size)
			if tc.errs != nil {
				for _, e := range tc.errs {
					require.ErrorIs(t, err, e)
				}
				require.Nil(t, res)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, res.Head.Hash)
		})
	}
}

// lossyAppend appends e and then loses the reply, as a client whose request
// timed out after the log had integrated it.
func lossyAppend(ctx context.Context, l *ledger.Log, e *ledger.Entry) (*ledger.Receipt, error) {
	if _, err := l.Append(ctx, e); err != nil {
		return nil, err
	}
	return nil, context.DeadlineExceeded
}

// TestRetryAfterTimeout re-sends the exact entry of an operation whose
// append timed out: the log returns the existing index with Existed, the
// DID resolves identically, and rebuilding the entry instead (a P-256
// signature is randomized) is not a retry but a replay, which a guarded
// log refuses.
func TestRetryAfterTimeout(t *testing.T) {
	ctx := context.Background()
	for _, guarded := range []bool{true, false} {
		t.Run(fmt.Sprint("guarded=", guarded), func(t *testing.T) {
			l, r := testLog(t, guarded, Config{Now: func() time.Time { return baseTime.Add(2 * time.Hour) }})
			f := newFixture(t) // genesis is signed by k[1], a P-256 key
			u := f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(mustKey(t, KeyTypeEd25519)))
			for i, step := range []struct {
				op     *Operation
				signer *PrivateKey
			}{{f.genesis, f.k[1]}, {u, f.k[0]}} {
				e, err := OperationEntry(f.did, step.op, step.signer)
				require.NoError(t, err)
				_, err = lossyAppend(ctx, l, e)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				before, err := r.Resolve(ctx, f.did)
				require.NoError(t, err)

				rec, err := l.Append(ctx, e) // the retry: the same entry, the same bytes
				require.NoError(t, err)
				require.True(t, rec.Existed)
				require.Equal(t, uint64(i), rec.Index)
				require.Equal(t, uint64(i+1), logSize(t, l), "the retry stored nothing")
				after, err := r.Resolve(ctx, f.did)
				require.NoError(t, err)
				require.Equal(t, before, after)
				require.Equal(t, step.op, after.Head.Operation)
			}
			// Rebuilding the genesis entry gives other bytes (P-256 signatures
			// are randomized): it is not deduplicated.
			again, err := OperationEntry(f.did, f.genesis, f.k[1])
			require.NoError(t, err)
			rec, err := l.Append(ctx, again)
			if guarded {
				require.ErrorIs(t, err, ErrReplayed)
				require.Equal(t, uint64(2), logSize(t, l))
			} else {
				require.NoError(t, err)
				require.False(t, rec.Existed)
				res, err := r.Resolve(ctx, f.did)
				require.NoError(t, err)
				uh, _ := u.Hash()
				require.Equal(t, uh, res.Head.Hash, "the replayed genesis changes nothing")
				require.ErrorIs(t, res.History[len(res.History)-1].Err, ErrReplayed)
			}
		})
	}
}

// TestRetryWhileInFlight re-sends an entry while the first append may still
// be queued: every call gets the same index and the log stores it once.
func TestRetryWhileInFlight(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, true, Config{Now: func() time.Time { return baseTime.Add(2 * time.Hour) }})
	f := newFixture(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	e, err := OperationEntry(f.did, f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(f.device)), f.k[0])
	require.NoError(t, err)
	recs := make([]*ledger.Receipt, 4)
	errs := make([]error, len(recs))
	var wg sync.WaitGroup
	for i := range recs {
		wg.Go(func() { recs[i], errs[i] = l.Append(ctx, e) })
	}
	wg.Wait()
	existed := 0
	for i := range recs {
		require.NoError(t, errs[i])
		require.Equal(t, uint64(1), recs[i].Index)
		if recs[i].Existed {
			existed++
		}
	}
	require.Equal(t, len(recs)-1, existed)
	require.Equal(t, uint64(2), logSize(t, l))
	res, err := r.Resolve(ctx, f.did)
	require.NoError(t, err)
	require.Len(t, res.History, 2)
}

// reorderLedger returns a subject's indices in the wrong order, as a
// misbehaving remote ledger could.
type reorderLedger struct {
	Ledger
	reorder func([]uint64) []uint64
}

func (l reorderLedger) BySubject(ctx context.Context, s ledger.SubjectTag, start uint64, limit int) ([]uint64, error) {
	idx, err := l.Ledger.BySubject(ctx, s, start, limit)
	return l.reorder(slices.Clone(idx)), err
}

// TestResolverReplaysInIndexOrder: the resolver replays a DID's operations
// in ledger index order and refuses a subject index that is not strictly
// increasing, rather than replaying in the order a ledger lists them.
func TestResolverReplaysInIndexOrder(t *testing.T) {
	ctx := context.Background()
	l, _ := testLog(t, false, Config{})
	f, stolen, _ := recoverySetup(t)
	rec := f.next(OpUpdate, f.genesis, f.k[0], 2*time.Hour, f.state(f.device))
	publish(t, l, f.did, f.genesis, f.k[1])
	publish(t, l, f.did, stolen, f.k[1])
	publish(t, l, f.did, rec, f.k[0])
	rh, err := rec.Hash()
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		reorder func([]uint64) []uint64
		err     error
	}{
		{"as listed", func(i []uint64) []uint64 { return i }, nil},
		{"reversed", func(i []uint64) []uint64 { slices.Reverse(i); return i }, ErrNotIncluded},
		{"recovery listed before the update", func(i []uint64) []uint64 { i[1], i[2] = i[2], i[1]; return i }, ErrNotIncluded},
		{"an index listed twice", func(i []uint64) []uint64 { return append(i[:2], i[1:]...) }, ErrNotIncluded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewResolver(Config{Ledger: reorderLedger{Ledger: l, reorder: tc.reorder}})
			require.NoError(t, err)
			res, err := r.Resolve(ctx, f.did)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, rh, res.Head.Hash)
		})
	}
}
