package witness_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/witness"
)

// A hospital runs a witness over HTTP; the log asks it to cosign every
// checkpoint before it releases receipts, so a second party that requires
// the witness's cosignature accepts the receipt offline.
func Example() {
	ctx := context.Background()
	const origin = "ledger.example-hospital.org/audit"
	logSKey, logVKey, _ := ledger.GenerateKey(origin)
	signer, _ := ledger.NewSigner(logSKey)

	// The witness: a ledger.Witness that knows the log's key, served by a Handler.
	witSKey, witVKey, _ := ledger.GenerateCosignerKey("witness.hospital-b.example")
	cosigner, _ := ledger.NewCosigner(witSKey)
	w, _ := ledger.NewWitness(ledger.WitnessConfig{
		Cosigner: cosigner,
		Logs:     []ledger.WitnessedLog{{Origin: origin, LogKey: logVKey}},
	})
	h, _ := witness.NewHandler(witness.HandlerConfig{Witness: w})
	srv := httptest.NewServer(h)
	defer srv.Close()

	// The log: a Client per witness in its Config.
	client, _ := witness.NewClient(witness.ClientConfig{URL: srv.URL})
	l, err := ledger.Open(ctx, ledger.Config{
		Store: memstore.New(), Signer: signer, Origin: origin,
		Witnesses: []ledger.LogWitness{{Key: witVKey, Cosigner: client}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	receipt, err := l.Append(ctx, &ledger.Entry{
		Kind: ledger.KindRecordAnchored, Subject: ledger.DeriveSubjectTag("example", "patient-1"),
		Writer: "did:key:z6MkExampleEHR", Time: time.Now(), Digest: ledger.Digest{1},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("cosigned by the witness:", strings.Contains(string(receipt.Checkpoint), "— witness.hospital-b.example "))

	// A second party: the log's key and the witness's key, offline.
	v, _ := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: logVKey, Witnesses: []string{witVKey}})
	if _, err := v.VerifyReceipt(receipt); err != nil {
		log.Fatal(err)
	}
	fmt.Println("receipt verified with 1 of 1 witnesses")

	// Without the witness's cosignature the receipt would not verify.
	bare, _ := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: logVKey, Witnesses: []string{witVKey}})
	receipt.Checkpoint = receipt.Checkpoint[:strings.Index(string(receipt.Checkpoint), "— witness.hospital-b.example ")]
	_, err = bare.VerifyReceipt(receipt)
	fmt.Println("without it:", err)
	// Output:
	// cosigned by the witness: true
	// receipt verified with 1 of 1 witnesses
	// without it: ledger: bad signature: 0 valid witness cosignatures, 1 required
}
