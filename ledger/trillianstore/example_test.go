package trillianstore

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/google/trillian/extension"
	"github.com/google/trillian/monitoring"
	"github.com/google/trillian/quota"
	"github.com/google/trillian/storage/memory"
	"github.com/google/trillian/testonly/integration"
	"github.com/healthledger/healthledger/ledger"
)

// A Log on a Trillian LOG tree. The example runs Trillian in-process; a
// deployment sets Config.Address to its trillian_log_server instead.
func ExampleOpen() {
	ctx := context.Background()
	ts := memory.NewTreeStorage()
	env, err := integration.NewLogEnvWithRegistry(ctx, 1, extension.Registry{
		AdminStorage: memory.NewAdminStorage(ts),
		LogStorage:   &lockedStorage{LogStorage: memory.NewLogStorage(ts, monitoring.InertMetricFactory{})},
		QuotaManager: quota.Noop(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close()
	tree, err := CreateTree(ctx, env.ClientConn, ModeLog)
	if err != nil {
		log.Fatal(err)
	}

	const origin = "ledger.example-hospital.org/audit"
	skey, _, err := ledger.GenerateKey(origin)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		log.Fatal(err)
	}
	store, err := Open(ctx, Config{Conn: env.ClientConn, TreeID: tree, Sign: SignWith(signer, origin)})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	l, err := ledger.Open(ctx, ledger.Config{Store: store, Signer: signer, Origin: origin})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	e := &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("example", "record-1"),
		Writer:  "did:hl:ehr.example",
		Time:    time.Now(), // the log refuses entries dated far from its clock
	}
	for range 2 {
		rc, err := l.Append(ctx, e)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("index %d, existed %v, proof against a signed checkpoint: %v\n",
			rc.Index, rc.Existed, len(rc.Checkpoint) > 0)
	}
	// Output:
	// index 0, existed false, proof against a signed checkpoint: true
	// index 0, existed true, proof against a signed checkpoint: true
}
