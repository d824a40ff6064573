// Package storetest is the conformance suite of [ledger.Store]: one set of
// tests that every storage backend runs against itself, so that the memory,
// Pebble and Trillian stores are held to the same contract.
//
// A backend's test calls [Run] with a function that opens a new, empty
// store, or [RunHarness] to add a Reopen hook (durable stores) and options
// (slow stores):
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) ledger.Store { return memstore.New() })
//	}
//
// A durable store adds Reopen, which opens the data of a store the suite
// has closed; a slow or differently-sequenced store sets Options. For
// example a Trillian LOG tree, whose sequencer orders each batch and whose
// leaves can outlive a failed Add, checked in seconds rather than minutes:
//
//	storetest.RunHarness(t, storetest.Harness{
//		Open:     func(t *testing.T) ledger.Store { return open(t, newTree(t)) },
//		Reopen:   func(t *testing.T, closed ledger.Store) ledger.Store { return open(t, treeOf(closed)) },
//		Sign:     sign, // the same SignFunc as the store's Config.Sign
//		Verifier: verifier,
//		Options: storetest.Options{
//			Sizes:             []int{1, 40, 60},
//			ProofSamples:      30,
//			ConcurrentBatches: 4,
//			UnorderedBatches:  true,
//			NonAtomicAdd:      true,
//		},
//	})
//
// # What the suite checks
//
//   - Add of batches of 1, 255, 256, 257 and 1000 leaves (tile boundaries):
//     indices dense from 0, leaf bytes returned exactly, IndexOf, the head.
//   - Duplicates inside a batch and across batches get the existing index
//     with Existed set, and an all-duplicate batch changes nothing.
//   - The SignFunc is called once per Add that adds leaves, with the new head,
//     and its bytes come back as AddResult.Checkpoint and from Checkpoint; a
//     failing SignFunc fails Add and stores nothing.
//   - Roots, inclusion proofs for many (index, size) and consistency proofs
//     for many (m, n) are byte-for-byte those of a naive RFC 6962 reference
//     tree written in this package, and verify with merkle.VerifyInclusion
//     and merkle.VerifyConsistency.
//   - Out-of-range reads fail with errors wrapping ledger.ErrNotFound; an
//     empty store fails Checkpoint with ledger.ErrEmptyLog; every method
//     fails with ledger.ErrClosed after Close, and closing a store while
//     readers call it panics nowhere.
//   - BySubject order, start and limit.
//   - Tile and EntryBundle: every hash tile (all levels) and entry bundle
//     of the tree, full and at partial widths, byte for byte those of the
//     reference tree and leaves, and a width one past the tree fails with
//     ErrNotFound.
//   - Arguments at the edges of their types (indices and sizes up to the
//     largest uint64, limits up to the largest int and down to the
//     smallest) return ErrNotFound or the documented page, never panic.
//   - Readers running concurrently with Adds only ever see verifiable state
//     (run the suite with -race).
//   - With a Reopen hook: everything above survives closing and reopening,
//     and appends continue the same tree.
//
// What it does not check: crash atomicity (a backend proves that with its
// own crash test, see ledger/pebblestore) and performance.
package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

// Origin is the checkpoint origin the suite signs with when the Harness
// brings no SignFunc of its own.
const Origin = "storetest.healthledger.example/log"

// Options tune the suite for a backend. The zero value runs everything at
// full size with the strict contract of the native stores.
type Options struct {
	// Sizes are the batch sizes of the add test, in order. Nil means
	// 1, 255, 256, 257, 1000. A slow store (Trillian over gRPC) may pass
	// smaller ones; they must add up to at least 100 leaves.
	Sizes []int
	// ProofSamples is the number of random (index, size) and (m, n) pairs
	// checked against the reference, on top of every size up to 300 and
	// every head. Zero means 500.
	ProofSamples int
	// ConcurrentBatches is the number of batches the writer adds while
	// readers run in the concurrency test. Zero means 40.
	ConcurrentBatches int
	// UnorderedBatches allows a store to place the new leaves of one batch
	// in any order within the indices the batch adds (Trillian's LOG mode,
	// where Trillian's sequencer orders them). The indices must still be
	// exactly [old size, new size).
	UnorderedBatches bool
	// NonAtomicAdd allows a failed Add to have stored some leaves (Trillian
	// commits leaves before the head that covers them). The suite then
	// checks only that a retried Add stores each leaf once.
	NonAtomicAdd bool
	// ResignsOnReopen says the store signs its head again when it reopens
	// (trillianstore keeps no checkpoint; it re-signs Trillian's root with
	// Config.Sign): the checkpoint after a reopen then carries a new signed
	// time, so the suite compares its tree head (and signature), not its
	// bytes, with the checkpoint from before.
	ResignsOnReopen bool
	// Skip names subtests of the suite to skip, each with the reason
	// (a known bug and where it is tracked); the reason is printed in the
	// test output. AddAndRead, whose data the later subtests read, cannot
	// be skipped.
	Skip map[string]string
	// Seed seeds the random choices of the suite. Zero means 1; the seed is
	// logged so that a failure can be replayed.
	Seed uint64
}

// Harness describes the store under test.
type Harness struct {
	// Open returns a new, empty store. Required. The suite closes it.
	Open func(t *testing.T) ledger.Store
	// Reopen, if set, returns a new Store over the data of closed, a store
	// returned by Open or Reopen that the suite has just closed. Nil skips
	// the reopen tests (memory stores).
	Reopen func(t *testing.T, closed ledger.Store) ledger.Store
	// Sign signs tree heads. Nil means a fresh Ed25519 checkpoint key for
	// Origin. A store that must sign by itself on reopen (trillianstore's
	// Config.Sign) sets the same function here and in its Config.
	Sign ledger.SignFunc
	// Verifier checks the signatures of the checkpoints Sign returns. Nil
	// with Sign set means signatures are parsed but not verified.
	Verifier note.Verifier
	// Options tune the suite.
	Options Options
}

// Run runs the conformance suite against the stores open returns.
func Run(t *testing.T, open func(t *testing.T) ledger.Store) {
	RunHarness(t, Harness{Open: open})
}

// RunHarness runs the conformance suite described by h.
func RunHarness(t *testing.T, h Harness) {
	require.NotNil(t, h.Open, "storetest: Harness.Open is required")
	s := newSuite(t, h)
	s.run(t, "Empty", s.testEmpty)
	s.run(t, "Concurrent", s.testConcurrent)
	s.run(t, "Closed", s.testClosed)
	s.run(t, "CloseWhileReading", s.testCloseWhileReading)
	if h.Reopen != nil {
		s.run(t, "ReopenEmpty", s.testReopenEmpty)
	}
	s.run(t, "Payloads", s.testPayloads)
	w := s.newWorld(t)
	defer w.close()
	if !s.run(t, "AddAndRead", w.testAddAndRead) {
		return // everything below reads what AddAndRead wrote
	}
	s.run(t, "Duplicates", w.testDuplicates)
	s.run(t, "FailingSign", w.testFailingSign)
	s.run(t, "Proofs", w.testProofs)
	s.run(t, "OutOfRange", w.testOutOfRange)
	s.run(t, "BySubject", w.testBySubject)
	s.run(t, "Tiles", w.testTiles)
	s.run(t, "HugeArguments", w.testHugeArguments)
	if h.Reopen != nil {
		s.run(t, "Reopen", w.testReopen)
	}
}

// run runs one subtest of the suite, or skips it with the reason the
// harness gave in Options.Skip.
func (s *suite) run(t *testing.T, name string, f func(t *testing.T)) bool {
	if reason, ok := s.opts.Skip[name]; ok {
		return t.Run(name, func(t *testing.T) { t.Skip(reason) })
	}
	return t.Run(name, f)
}

// suite holds what every subtest shares.
type suite struct {
	h        Harness
	opts     Options
	signFn   ledger.SignFunc
	verifier note.Verifier
	origin   string // empty when the harness signs with its own origin
}

func newSuite(t *testing.T, h Harness) *suite {
	s := &suite{h: h, opts: h.Options}
	if s.opts.Sizes == nil {
		// One leaf, batches ending just before, at and after a 256-wide
		// tile boundary, and a large one.
		s.opts.Sizes = []int{1, 255, 256, 257, 1000}
	}
	_, skipAdd := s.opts.Skip["AddAndRead"]
	require.False(t, skipAdd, "storetest: AddAndRead cannot be skipped")
	total := 0
	for _, n := range s.opts.Sizes {
		require.Positive(t, n, "storetest: Options.Sizes")
		total += n
	}
	require.GreaterOrEqual(t, total, 100, "storetest: Options.Sizes must add up to at least 100 leaves")
	if s.opts.ProofSamples == 0 {
		s.opts.ProofSamples = 500
	}
	if s.opts.ConcurrentBatches == 0 {
		s.opts.ConcurrentBatches = 40
	}
	if s.opts.Seed == 0 {
		s.opts.Seed = 1
	}
	t.Logf("storetest: seed %d", s.opts.Seed)
	sign, v := h.Sign, h.Verifier
	if sign == nil {
		skey, vkey, err := ledger.GenerateKey(Origin)
		require.NoError(t, err)
		signer, err := ledger.NewSigner(skey)
		require.NoError(t, err)
		v, err = note.NewVerifier(vkey)
		require.NoError(t, err)
		sign = func(h ledger.TreeHead) ([]byte, error) {
			return ledger.SignCheckpoint(signer, ledger.Checkpoint{Origin: Origin, Size: h.Size, Root: h.Root}, time.Now())
		}
		s.origin = Origin
	}
	s.signFn = sign
	s.verifier = v
	return s
}

// openCheckpoint checks a signed checkpoint's signature (when the suite has
// a verifier) and returns its size and root.
func (s *suite) openCheckpoint(cp []byte) (ledger.TreeHead, error) {
	var text []byte
	if s.verifier != nil {
		n, err := note.Open(cp, note.VerifierList(s.verifier))
		if err != nil {
			return ledger.TreeHead{}, fmt.Errorf("checkpoint signature: %w", err)
		}
		text = []byte(n.Text)
	} else {
		i := bytes.Index(cp, []byte("\n\n"))
		if i < 0 {
			return ledger.TreeHead{}, fmt.Errorf("checkpoint is not a signed note")
		}
		text = cp[:i+1]
	}
	c, err := ledger.ParseCheckpoint(text)
	if err != nil {
		return ledger.TreeHead{}, err
	}
	if s.origin != "" && c.Origin != s.origin {
		return ledger.TreeHead{}, fmt.Errorf("checkpoint origin %q, want %q", c.Origin, s.origin)
	}
	return ledger.TreeHead{Size: c.Size, Root: c.Root}, nil
}

// newSigner returns a fresh recording wrapper of the suite's SignFunc.
func (s *suite) newSigner() *signer { return &signer{sign: s.signFn} }

// signer wraps the SignFunc: it records every head it is asked to sign and
// can be told to fail.
type signer struct {
	sign ledger.SignFunc

	mu    sync.Mutex // guards calls, signed and fail
	calls []ledger.TreeHead
	// signed maps a head to the last checkpoint signed for it.
	signed map[ledger.TreeHead][]byte
	fail   error
}

func (s *signer) Sign(h ledger.TreeHead) ([]byte, error) {
	s.mu.Lock()
	s.calls = append(s.calls, h)
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	cp, err := s.sign(h)
	if err == nil {
		s.mu.Lock()
		if s.signed == nil {
			s.signed = make(map[ledger.TreeHead][]byte)
		}
		s.signed[h] = cp
		s.mu.Unlock()
	}
	return cp, err
}

// signedFor returns the checkpoint last signed for h, or nil.
func (s *signer) signedFor(h ledger.TreeHead) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signed[h]
}

// take returns the heads signed since the last take.
func (s *signer) take() []ledger.TreeHead {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

func (s *signer) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// subjects is the number of distinct subject tags among generated leaves.
const subjects = 7

// subject returns the i-th subject tag of the suite.
func subject(i int) ledger.SubjectTag {
	return ledger.DeriveSubjectTag("storetest", fmt.Sprintf("subject-%d", i%subjects))
}

// makeLeaves returns n distinct leaves, valid entry encodings, named by tag
// so that leaves of different calls differ. Leaf i has subject i mod 7 and
// a body whose length varies with i.
func makeLeaves(t testing.TB, tag string, first, n int) []ledger.Leaf {
	t.Helper()
	out := make([]ledger.Leaf, n)
	for k := range n {
		i := first + k
		var d ledger.Digest
		h := sha256.New()
		h.Write([]byte(tag))
		binary.Write(h, binary.BigEndian, uint64(i))
		h.Sum(d[:0])
		e := &ledger.Entry{
			Kind:    ledger.KindRecordAnchored,
			Subject: subject(i),
			Writer:  "did:key:z6MkStoretestWriter",
			Time:    time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC),
			Digest:  d,
			Body:    make([]byte, i%97),
		}
		copy(e.Body, d[:])
		data, err := e.MarshalBinary()
		require.NoError(t, err)
		out[k] = ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: e.Subject}
	}
	return out
}
