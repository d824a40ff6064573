package ledger_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/pebblestore"
)

// Workload constants, documented in benchmarks/README.md.
const (
	// leafSize is the exact size of every encoded entry (Merkle leaf) the
	// append benchmarks write.
	leafSize = 1024
	// benchWriter is the writer DID of every entry.
	benchWriter = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	// signatureSize is the size of the (unverified) writer signature each
	// entry carries: an Ed25519 signature.
	signatureSize = 64
	// subjects is the number of distinct subject tags entries cycle through.
	subjects = 4096
	// origin names the benchmark logs.
	origin = "bench.healthledger.example/ledger"
)

// storeKinds are the stores every append and proof benchmark runs on.
var storeKinds = []string{"mem", "pebble"}

// openStore opens an empty store of the given kind; Pebble stores live in
// dir and fsync every commit.
func openStore(ctx context.Context, kind, dir string) (ledger.Store, error) {
	switch kind {
	case "mem":
		return memstore.New(), nil
	case "pebble":
		return pebblestore.Open(ctx, pebblestore.Config{Dir: dir})
	default:
		return nil, fmt.Errorf("unknown store kind %q", kind)
	}
}

// logKeys is a checkpoint key pair for origin.
type logKeys struct {
	signer   *ledger.Signer
	verifier string // note verifier key
}

func newLogKeys() (logKeys, error) {
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		return logKeys{}, err
	}
	s, err := ledger.NewSigner(skey)
	if err != nil {
		return logKeys{}, err
	}
	return logKeys{signer: s, verifier: vkey}, nil
}

// entryMaker makes distinct entries whose encoding is exactly leafSize
// bytes (bodySize is computed for that). Entries differ in their digest
// (a per-maker random tag and the sequence number), time and subject.
type entryMaker struct {
	tag      [16]byte
	subjects []ledger.SubjectTag
	body     []byte // shared by all entries, never modified
	sig      []byte // shared by all entries, never modified
	base     time.Time
}

func newEntryMaker(leafSize int) (*entryMaker, error) {
	m := &entryMaker{
		subjects: make([]ledger.SubjectTag, subjects),
		sig:      make([]byte, signatureSize),
		base:     time.Now().UTC(), // the log refuses entries dated far from its clock
	}
	if _, err := rand.Read(m.tag[:]); err != nil {
		return nil, err
	}
	for i := range m.subjects {
		m.subjects[i] = ledger.DeriveSubjectTag("bench-patient", fmt.Sprint(i))
	}
	for i := range m.sig {
		m.sig[i] = byte(i)
	}
	// The body length's uvarint prefix grows with the body, so search for
	// the body size that makes the whole encoding leafSize bytes.
	for bodySize := 0; bodySize <= leafSize; bodySize++ {
		m.body = make([]byte, bodySize)
		b, err := m.entry(0).MarshalBinary()
		if err != nil {
			return nil, err
		}
		if len(b) == leafSize {
			for i := range m.body {
				m.body[i] = byte(i * 7)
			}
			return m, nil
		}
		if len(b) > leafSize {
			break
		}
	}
	return nil, fmt.Errorf("no body size encodes to a %d-byte leaf", leafSize)
}

// entry returns the seq-th entry.
func (m *entryMaker) entry(seq uint64) *ledger.Entry {
	e := &ledger.Entry{
		Kind:      ledger.KindRecordAnchored,
		Subject:   m.subjects[seq%uint64(len(m.subjects))],
		Writer:    benchWriter,
		Time:      m.base.Add(time.Duration(seq) * time.Microsecond),
		Body:      m.body,
		Signature: m.sig,
	}
	copy(e.Digest[:], m.tag[:])
	binary.BigEndian.PutUint64(e.Digest[len(m.tag):], seq)
	return e
}

// openLog opens a Log with default settings over store.
func openLog(ctx context.Context, store ledger.Store, keys logKeys) (*ledger.Log, error) {
	return openLogWith(ctx, store, keys, nil)
}

// openLogWith opens a Log over store with default settings changed by
// configure (if not nil), for example to add witnesses.
func openLogWith(ctx context.Context, store ledger.Store, keys logKeys, configure func(*ledger.Config)) (*ledger.Log, error) {
	cfg := ledger.Config{Store: store, Signer: keys.signer, Origin: origin}
	if configure != nil {
		configure(&cfg)
	}
	return ledger.Open(ctx, cfg)
}

// fatalIf stops tb on err.
func fatalIf(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
