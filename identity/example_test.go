package identity_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
)

// Example shows a patient identity on a ledger that requires writer
// signatures: creation, a stolen key's update, recovery with the
// higher-priority key, and an old signature that still verifies as of its
// time.
func Example() {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := t0
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}

	// A ledger whose writer signatures are checked by the resolver.
	skey, _, err := ledger.GenerateKey("ledger.example.org/ids")
	must(err)
	signer, err := ledger.NewSigner(skey)
	must(err)
	res, err := identity.NewResolver(identity.Config{Now: func() time.Time { return clock }})
	must(err)
	log, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: "ledger.example.org/ids", WriterVerifier: res, Now: func() time.Time { return clock }})
	must(err)
	defer log.Close()
	res.SetLedger(log)

	// Keys: a recovery key kept offline (highest priority), a phone
	// rotation key, and a device signing key.
	recovery, _ := identity.GenerateKey(identity.KeyTypeEd25519)
	phone, _ := identity.GenerateKey(identity.KeyTypeP256)
	device, _ := identity.GenerateKey(identity.KeyTypeEd25519)
	state := func(signing *identity.PrivateKey) identity.State {
		return identity.State{
			RotationKeys:        []identity.PublicKey{recovery.Public(), phone.Public()},
			VerificationMethods: []identity.VerificationMethod{{ID: "device", Key: signing.Public(), Relationships: identity.Authentication | identity.AssertionMethod}},
		}
	}
	appendOp := func(did string, op *identity.Operation, k *identity.PrivateKey) error {
		e, err := identity.OperationEntry(did, op, k)
		if err != nil {
			return err
		}
		_, err = log.Append(ctx, e)
		return err
	}

	genesis, did, err := identity.NewGenesis(state(device), t0, phone)
	must(err)
	must(appendOp(did, genesis, phone))
	fmt.Println("created a did:hl identity:", len(did) == len("did:hl:")+40)

	// The device signs a consent.
	holder, _ := identity.NewHolder(did, did+"#device", device)
	consent := []byte("example/consent/v1\x00share labs with Dr. Rivera")
	sig, _ := holder.Sign(consent)
	signedAt := t0.Add(time.Minute)

	// The phone is stolen; the thief replaces the device key.
	thiefKey, _ := identity.GenerateKey(identity.KeyTypeEd25519)
	gh, _ := genesis.Hash()
	clock = t0.Add(time.Hour)
	stolen, _ := identity.NewOperation(identity.OpUpdate, gh, state(thiefKey), clock, phone)
	must(appendOp(did, stolen, phone))
	fmt.Println("after the theft the device key no longer verifies:", res.CheckSignature(ctx, did, consent, sig, clock) != nil)

	// A day later, the patient overrides it with the recovery key.
	clock = t0.Add(25 * time.Hour)
	recovered, _ := identity.NewOperation(identity.OpUpdate, gh, state(device), clock, recovery)
	must(appendOp(did, recovered, recovery))
	r, _ := res.Resolve(ctx, did)
	fmt.Println("history:", r.History[0].Status, r.History[1].Status, r.History[2].Status)

	// The thief cannot override the recovery: the phone key ranks lower.
	retake, _ := identity.NewOperation(identity.OpUpdate, gh, state(thiefKey), clock, phone)
	err = appendOp(did, retake, phone)
	fmt.Println("thief retakes:", errors.Is(err, identity.ErrInsufficientPriority))

	// The consent signed before the theft still verifies as of its time.
	fmt.Println("old consent verifies:", res.CheckSignature(ctx, did, consent, sig, signedAt) == nil)
	// Output:
	// created a did:hl identity: true
	// after the theft the device key no longer verifies: true
	// history: accepted nullified accepted
	// thief retakes: true
	// old consent verifies: true
}

// ExampleHolder_SignRequest shows that a key only in assertionMethod cannot
// authenticate.
func ExampleHolder_SignRequest() {
	ctx := context.Background()
	res, _ := identity.NewResolver(identity.Config{})
	k, _ := identity.GenerateKey(identity.KeyTypeP256)
	did := k.Public().DIDKey()
	h, _ := identity.NewHolder(did, did+"#"+k.Public().Multibase(), k)
	q, _ := h.SignRequest(identity.Authentication, []byte("GET /Observation?patient=me"), time.Now())
	fmt.Println(res.VerifyRequest(ctx, q) == nil)
	q.Payload = []byte("GET /Observation")
	fmt.Println(errors.Is(res.VerifyRequest(ctx, q), identity.ErrBadSignature))
	// Output:
	// true
	// true
}

// ExampleParseDID parses a did:key DID and exports its key as a JWK.
func ExampleParseDID() {
	d, err := identity.ParseDID("did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th")
	if err != nil {
		panic(err)
	}
	k, _ := identity.ParseMultibase(d.ID)
	fmt.Println(d.Method, k.Type(), k.JWK().Kty, k.JWK().Crv)
	_, err = identity.ParseDID("did:web:example.org")
	fmt.Println(errors.Is(err, identity.ErrUnsupportedMethod))
	// Output:
	// key Ed25519 OKP Ed25519
	// true
}
