// Command identity walks through the life of a patient's did:hl identity on
// an in-memory ledger that requires every entry to be signed by its
// writer's DID key: creation, adding a device key, losing a rotation key to
// a thief, recovering with the higher-priority key inside the recovery
// window, and checking that a signature made before all this still
// verifies as of its time.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// scenario holds the ledger, the resolver and a simulated clock.
type scenario struct {
	log   *ledger.Log
	res   *identity.Resolver
	clock time.Time
}

func (s *scenario) publish(ctx context.Context, did string, op *identity.Operation, k *identity.PrivateKey) error {
	e, err := identity.OperationEntry(did, op, k)
	if err != nil {
		return err
	}
	rec, err := s.log.Append(ctx, e)
	if err != nil {
		return err
	}
	fmt.Printf("   ledger: %s operation at index %d, signed checkpoint covers it\n", op.Type, rec.Index)
	return nil
}

func run(ctx context.Context) error {
	const origin = "ledger.example-hospital.org/identity"
	s := &scenario{clock: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	skey, _, err := ledger.GenerateKey(origin)
	if err != nil {
		return err
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		return err
	}
	s.res, err = identity.NewResolver(identity.Config{Now: func() time.Time { return s.clock }})
	if err != nil {
		return err
	}
	s.log, err = ledger.Open(ctx, ledger.Config{
		Store: memstore.New(), Signer: signer, Origin: origin, WriterVerifier: s.res,
		// The story spans days on a simulated clock; the log reads the
		// same clock, as it checks every entry's time against its own.
		Now: func() time.Time { return s.clock },
	})
	if err != nil {
		return err
	}
	defer s.log.Close()
	s.res.SetLedger(s.log)

	fmt.Println("1. The patient creates an identity.")
	paper, err := identity.GenerateKey(identity.KeyTypeEd25519) // recovery key, printed and locked away
	if err != nil {
		return err
	}
	phone, err := identity.GenerateKey(identity.KeyTypeP256) // everyday rotation key
	if err != nil {
		return err
	}
	laptop, err := identity.GenerateKey(identity.KeyTypeEd25519) // signing key
	if err != nil {
		return err
	}
	fmt.Println("   rotation keys, highest priority first: paper", paper.Public(), "and phone", phone.Public())
	fmt.Println("   a private key prints only its public half:", laptop)
	rotation := []identity.PublicKey{paper.Public(), phone.Public()}
	vm := func(id string, k *identity.PrivateKey) identity.VerificationMethod {
		return identity.VerificationMethod{ID: id, Key: k.Public(), Relationships: identity.Authentication | identity.AssertionMethod}
	}
	st1 := identity.State{RotationKeys: rotation, VerificationMethods: []identity.VerificationMethod{vm("laptop", laptop)}}
	genesis, did, err := identity.NewGenesis(st1, s.clock, phone)
	if err != nil {
		return err
	}
	fmt.Println("   DID:", did)
	if err := s.publish(ctx, did, genesis, phone); err != nil {
		return err
	}

	fmt.Println("2. The laptop signs a consent.")
	holder, err := identity.NewHolder(did, did+"#laptop", laptop)
	if err != nil {
		return err
	}
	consent := []byte("example/consent/v1\x00share lab results with Dr. Rivera")
	sig, err := holder.Sign(consent)
	if err != nil {
		return err
	}
	signedAt := s.clock.Add(time.Minute)
	fmt.Println("   consent signature verifies now:", s.res.CheckSignature(ctx, did, consent, sig, signedAt) == nil)

	fmt.Println("3. The patient adds a tablet as a second device key.")
	tablet, err := identity.GenerateKey(identity.KeyTypeP256)
	if err != nil {
		return err
	}
	s.clock = s.clock.Add(2 * time.Hour)
	st2 := identity.State{RotationKeys: rotation, VerificationMethods: []identity.VerificationMethod{vm("laptop", laptop), vm("tablet", tablet)}}
	gh, err := genesis.Hash()
	if err != nil {
		return err
	}
	addTablet, err := identity.NewOperation(identity.OpUpdate, gh, st2, s.clock, phone)
	if err != nil {
		return err
	}
	if err := s.publish(ctx, did, addTablet, phone); err != nil {
		return err
	}

	fmt.Println("4. The phone is stolen. The thief replaces every device key with their own.")
	thief, err := identity.GenerateKey(identity.KeyTypeEd25519)
	if err != nil {
		return err
	}
	s.clock = s.clock.Add(24 * time.Hour)
	ah, err := addTablet.Hash()
	if err != nil {
		return err
	}
	takeover, err := identity.NewOperation(identity.OpUpdate, ah, identity.State{RotationKeys: rotation, VerificationMethods: []identity.VerificationMethod{vm("laptop", thief)}}, s.clock, phone)
	if err != nil {
		return err
	}
	if err := s.publish(ctx, did, takeover, phone); err != nil {
		return err
	}
	res, err := s.res.Resolve(ctx, did)
	if err != nil {
		return err
	}
	k, _ := res.Document.Keys(identity.AssertionMethod)
	fmt.Println("   the document now lists only the thief's key:", len(k) == 1 && k[0].Equal(thief.Public()))

	fmt.Println("5. Two days later the patient recovers with the paper key and drops the phone.")
	s.clock = s.clock.Add(48 * time.Hour)
	newPhone, err := identity.GenerateKey(identity.KeyTypeP256)
	if err != nil {
		return err
	}
	st3 := identity.State{RotationKeys: []identity.PublicKey{paper.Public(), newPhone.Public()}, VerificationMethods: st2.VerificationMethods}
	recovery, err := identity.NewOperation(identity.OpRotate, ah, st3, s.clock, paper)
	if err != nil {
		return err
	}
	if err := s.publish(ctx, did, recovery, paper); err != nil {
		return err
	}
	res, err = s.res.Resolve(ctx, did)
	if err != nil {
		return err
	}
	for _, h := range res.History {
		fmt.Printf("   history: index %d %-7s %s\n", h.Index, h.Type, h.Status)
	}

	fmt.Println("6. The thief tries again with the stolen phone key.")
	s.clock = s.clock.Add(time.Hour)
	rh, err := recovery.Hash()
	if err != nil {
		return err
	}
	again, err := identity.NewOperation(identity.OpUpdate, rh, identity.State{RotationKeys: st3.RotationKeys, VerificationMethods: []identity.VerificationMethod{vm("laptop", thief)}}, s.clock, phone)
	if err != nil {
		return err
	}
	err = s.publish(ctx, did, again, phone)
	fmt.Println("   refused by the ledger:", errors.Is(err, ledger.ErrWriterRejected), "| reason: bad signature:", errors.Is(err, identity.ErrBadSignature))

	fmt.Println("7. The consent signed in step 2 still verifies as of its time.")
	fmt.Println("   as of", signedAt.Format(time.RFC3339), "->", s.res.CheckSignature(ctx, did, consent, sig, signedAt) == nil)
	doc, err := res.Document.JSON()
	if err != nil {
		return err
	}
	fmt.Printf("8. The current DID document:\n%s\n", doc)
	return nil
}
