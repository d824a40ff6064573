package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/witness"
)

// witnessCounts are the numbers of witnesses of BenchmarkAppendWitnessed;
// the threshold is always all of them.
var witnessCounts = []int{0, 1, 3}

// BenchmarkAppendWitnessed measures Log.Append end to end with 0, 1 and 3
// witnesses that must all cosign every batch's checkpoint before its
// receipts are released. Each witness is a ledger.Witness served by
// witness.NewHandler on its own httptest server on 127.0.0.1 (loopback
// only), reached by a witness.Client (keep-alive) as the Log's
// CheckpointCosigner. The Log asks its witnesses in parallel, one round
// per batch, in the sequencer. Every receipt is checked to carry the log's
// signature and one cosignature per witness.
func BenchmarkAppendWitnessed(b *testing.B) {
	for _, kind := range storeKinds {
		for _, n := range witnessCounts {
			for _, w := range writerCounts {
				b.Run(fmt.Sprintf("store=%s/witnesses=%d/writers=%d", kind, n, w), func(b *testing.B) {
					ctx := context.Background()
					rig, _, err := newWitnessedRig(ctx, kind, b.TempDir(), w, n)
					fatalIf(b, err)
					defer rig.close()
					b.SetBytes(leafSize)
					runAppend(ctx, b, rig, w)
				})
			}
		}
	}
}

// loopbackWitness is a witness of the benchmark log served over HTTP on
// 127.0.0.1.
type loopbackWitness struct {
	key       string // cosignature verifier key
	srv       *httptest.Server
	transport *http.Transport
	client    *witness.Client
}

// startLoopbackWitness starts the i-th witness of a log whose checkpoint
// verifier key is logKey. httptest.NewServer listens on 127.0.0.1:0.
func startLoopbackWitness(i int, logKey string) (*loopbackWitness, error) {
	skey, vkey, err := ledger.GenerateCosignerKey(fmt.Sprintf("%s%d.bench.healthledger.example", witnessNamePrefix, i))
	if err != nil {
		return nil, err
	}
	cs, err := ledger.NewCosigner(skey)
	if err != nil {
		return nil, err
	}
	w, err := ledger.NewWitness(ledger.WitnessConfig{Cosigner: cs, Logs: []ledger.WitnessedLog{{Origin: origin, LogKey: logKey}}})
	if err != nil {
		return nil, err
	}
	h, err := witness.NewHandler(witness.HandlerConfig{Witness: w})
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(h)
	lw := &loopbackWitness{key: vkey, srv: srv, transport: &http.Transport{}}
	lw.client, err = witness.NewClient(witness.ClientConfig{URL: srv.URL, HTTPClient: &http.Client{Transport: lw.transport, Timeout: witness.DefaultClientTimeout}})
	if err != nil {
		lw.close()
		return nil, err
	}
	return lw, nil
}

func (lw *loopbackWitness) close() {
	lw.transport.CloseIdleConnections()
	lw.srv.Close()
}

// newWitnessedRig returns an append rig whose Log requires the
// cosignatures of n loopback witnesses, and its verifier key.
func newWitnessedRig(ctx context.Context, kind, dir string, writers, n int) (*appendRig, []*loopbackWitness, error) {
	keys, err := newLogKeys()
	if err != nil {
		return nil, nil, err
	}
	var (
		wits    []*loopbackWitness
		config  []ledger.LogWitness
		closers []func()
	)
	for i := range n {
		lw, err := startLoopbackWitness(i, keys.verifier)
		if err != nil {
			for _, c := range closers {
				c()
			}
			return nil, nil, err
		}
		wits = append(wits, lw)
		config = append(config, ledger.LogWitness{Key: lw.key, Cosigner: lw.client})
		closers = append(closers, lw.close)
	}
	opts := appendOptions{
		check:   func(rc *ledger.Receipt) error { return checkCosignatureLines(rc.Checkpoint, n) },
		closers: closers,
	}
	if n > 0 {
		opts.configure = func(c *ledger.Config) { c.Witnesses, c.WitnessThreshold = config, n }
	}
	rig, err := newAppendRigKeys(ctx, kind, dir, writers, keys, opts)
	if err != nil {
		for _, c := range closers {
			c()
		}
		return nil, nil, err
	}
	return rig, wits, nil
}

// witnessNamePrefix starts the name of every benchmark witness.
const witnessNamePrefix = "witness-"

// checkCosignatureLines checks that a signed checkpoint carries want
// witness cosignature lines, without verifying them: the Log verified
// every cosignature before it kept it.
func checkCosignatureLines(note []byte, want int) error {
	if got := bytes.Count(note, []byte("\n— "+witnessNamePrefix)); got != want {
		return fmt.Errorf("checkpoint has %d witness cosignatures, want %d", got, want)
	}
	return nil
}
