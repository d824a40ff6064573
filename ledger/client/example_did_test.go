package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"reflect"
	"time"

	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"golang.org/x/mod/sumdb/note"
)

// A party that reaches the ledger only over HTTP resolves a patient's DID:
// every operation is read from the read path and checked against the
// log's signed checkpoint, and the document is the one the writer sees.
func Example_resolveDID() {
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	const origin = "ledger.example-hospital.org/identity"
	skey, vkey, err := ledger.GenerateKey(origin)
	must(err)
	signer, err := ledger.NewSigner(skey)
	must(err)
	local, err := identity.NewResolver(identity.Config{})
	must(err)
	log, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin, WriterVerifier: local})
	must(err)
	defer log.Close()
	local.SetLedger(log)

	// The patient creates a DID with a phone (rotation) and a laptop key.
	phone, err := identity.GenerateKey(identity.KeyTypeEd25519)
	must(err)
	laptop, err := identity.GenerateKey(identity.KeyTypeEd25519)
	must(err)
	genesis, did, err := identity.NewGenesis(identity.State{
		RotationKeys:        []identity.PublicKey{phone.Public()},
		VerificationMethods: []identity.VerificationMethod{{ID: "laptop", Key: laptop.Public(), Relationships: identity.Authentication}},
	}, time.Now(), phone)
	must(err)
	e, err := identity.OperationEntry(did, genesis, phone)
	must(err)
	_, err = log.Append(ctx, e)
	must(err)

	h, err := tileserver.New(tileserver.Config{Log: log})
	must(err)
	srv := httptest.NewServer(h) // 127.0.0.1
	defer srv.Close()

	// The remote party: the log's origin and public key, and the URL.
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: vkey})
	must(err)
	remote, err := client.New(client.Config{URL: srv.URL, Verifier: v})
	must(err)
	nv, err := note.NewVerifier(vkey)
	must(err)
	res, err := identity.NewResolver(identity.Config{Ledger: remote, CheckpointVerifier: nv, Origin: origin})
	must(err)
	got, err := res.Resolve(ctx, did)
	must(err)
	want, err := local.Resolve(ctx, did)
	must(err)
	fmt.Println("resolved over HTTP:", got.Document.ID == did)
	fmt.Println("same document as the writer's:", reflect.DeepEqual(got.Document, want.Document))
	// Output:
	// resolved over HTTP: true
	// same document as the writer's: true
}
