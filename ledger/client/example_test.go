package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/tileserver"
)

// A second party follows a log it reaches only over HTTP: it trusts the
// log's key, verifies the checkpoint, reads an entry and gets a receipt it
// can check offline, then proves the grown log consistent with what it saw.
func Example() {
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}

	// The operator: a log and its read path.
	const origin = "ledger.example-hospital.org/audit"
	skey, vkey, err := ledger.GenerateKey(origin)
	must(err)
	signer, err := ledger.NewSigner(skey)
	must(err)
	log, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin})
	must(err)
	defer log.Close()
	appendN := func(n int) {
		for i := range n {
			_, err := log.Append(ctx, &ledger.Entry{
				Kind:    ledger.KindRecordAnchored,
				Subject: ledger.DeriveSubjectTag("example", "patient-1"),
				Writer:  "did:key:z6MkExampleEHR",
				Time:    time.Now(),
				Digest:  ledger.Digest{byte(i), byte(i >> 8), byte(n)},
			})
			must(err)
		}
	}
	appendN(300)
	h, err := tileserver.New(tileserver.Config{Log: log})
	must(err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	// The second party knows the origin, the key and the URL.
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: vkey})
	must(err)
	c, err := client.New(client.Config{URL: srv.URL, Verifier: v})
	must(err)
	cp, err := c.Update(ctx)
	must(err)
	fmt.Println("trusted size:", cp.Size)

	e, err := c.Entry(ctx, 42)
	must(err)
	fmt.Println("entry 42 anchors a record:", e.Kind == ledger.KindRecordAnchored)
	r, err := c.Receipt(ctx, 42)
	must(err)
	_, err = v.VerifyReceipt(r)
	fmt.Println("receipt verifies offline:", err == nil)

	appendN(100)
	cp, err = c.Update(ctx)
	must(err)
	fmt.Println("grown log proven consistent, trusted size:", cp.Size)
	// Output:
	// trusted size: 300
	// entry 42 anchors a record: true
	// receipt verifies offline: true
	// grown log proven consistent, trusted size: 400
}
