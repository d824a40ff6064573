package monitor_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/monitor"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

const origin = "monitor.healthledger.example/test"

// t0 is the time the fake logs start at.
var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// fakeLog is a log built by hand: leaves, the tiles of their tree and a
// checkpoint signed at a chosen time, so that tests can sign what an
// honest Log never would. It implements tileserver.Log; tamper, if set,
// alters what it serves.
type fakeLog struct {
	signer *ledger.Signer

	mu     sync.Mutex
	leaves [][]byte
	tree   *merkle.Appender
	tiles  map[merkle.TileID]*merkle.Tile
	signed []byte
	// tamper alters a served tile (level >= 0) or bundle (level -1).
	tamper func(level int, index uint64, data []byte) []byte
}

func newFakeLog(t *testing.T, signer *ledger.Signer) *fakeLog {
	tree, err := merkle.NewAppender(0, nil)
	require.NoError(t, err)
	return &fakeLog{signer: signer, tree: tree, tiles: map[merkle.TileID]*merkle.Tile{}}
}

// add appends leaves without signing.
func (f *fakeLog) add(leaves ...[]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hs := make([]merkle.Hash, len(leaves))
	for i, l := range leaves {
		hs[i] = merkle.HashLeaf(l)
	}
	f.leaves = append(f.leaves, leaves...)
	for _, t := range f.tree.Append(hs) {
		f.tiles[t.ID()] = t
	}
}

// sign signs the current tree at time at.
func (f *fakeLog) sign(t *testing.T, at time.Time) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	signed, err := ledger.SignCheckpoint(f.signer, ledger.Checkpoint{Origin: origin, Size: f.tree.Size(), Root: f.tree.Root()}, at)
	require.NoError(t, err)
	f.signed = signed
	return signed
}

func (f *fakeLog) setTamper(fn func(level int, index uint64, data []byte) []byte) {
	f.mu.Lock()
	f.tamper = fn
	f.mu.Unlock()
}

func (f *fakeLog) Checkpoint(ctx context.Context) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.signed == nil {
		return nil, ledger.ErrEmptyLog
	}
	return f.signed, nil
}

func (f *fakeLog) Tile(ctx context.Context, level uint8, index uint64, width int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tiles[merkle.TileID{Level: level, Index: index}]
	if t == nil || t.Width() < width {
		return nil, ledger.ErrNotFound
	}
	p, err := t.Prefix(width)
	if err != nil {
		return nil, err
	}
	data := p.C2SP()
	if f.tamper != nil {
		data = f.tamper(int(level), index, append([]byte(nil), data...))
	}
	return data, nil
}

func (f *fakeLog) EntryBundle(ctx context.Context, index uint64, width int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lo := index * merkle.TileWidth
	if lo+uint64(width) > uint64(len(f.leaves)) {
		return nil, ledger.ErrNotFound
	}
	data, err := ledger.EncodeEntryBundle(f.leaves[lo : lo+uint64(width)])
	if err != nil {
		return nil, err
	}
	if f.tamper != nil {
		data = f.tamper(-1, index, data)
	}
	return data, nil
}

// serve serves l's read path on a loopback listener.
func serve(t *testing.T, l tileserver.Log) *httptest.Server {
	h, err := tileserver.New(tileserver.Config{Log: l})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// switchable serves whichever log is current, to show forks.
type switchable struct {
	mu  sync.Mutex
	cur tileserver.Log
}

func (s *switchable) log() tileserver.Log  { s.mu.Lock(); defer s.mu.Unlock(); return s.cur }
func (s *switchable) set(l tileserver.Log) { s.mu.Lock(); s.cur = l; s.mu.Unlock() }
func (s *switchable) Checkpoint(ctx context.Context) ([]byte, error) {
	return s.log().Checkpoint(ctx)
}
func (s *switchable) Tile(ctx context.Context, level uint8, index uint64, width int) ([]byte, error) {
	return s.log().Tile(ctx, level, index, width)
}
func (s *switchable) EntryBundle(ctx context.Context, index uint64, width int) ([]byte, error) {
	return s.log().EntryBundle(ctx, index, width)
}

func newSigner(t *testing.T) (*ledger.Signer, string) {
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	s, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	return s, vkey
}

// entry returns the leaf of a record entry numbered i, dated at.
func entry(t *testing.T, i int, at time.Time) []byte {
	var subject ledger.SubjectTag
	binary.BigEndian.PutUint64(subject[:], uint64(i%7))
	e := &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: subject, Writer: "did:key:z6MkMonitorTest",
		Time: at, Digest: sha256.Sum256(fmt.Appendf(nil, "record %d", i))}
	leaf, err := e.MarshalBinary()
	require.NoError(t, err)
	return leaf
}

// entries returns n leaves numbered from first, dated at.
func entries(t *testing.T, first, n int, at time.Time) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = entry(t, first+i, at)
	}
	return out
}

func newMonitor(t *testing.T, url, logKey string, mod func(*monitor.Config)) *monitor.Monitor {
	cfg := monitor.Config{URL: url, Origin: origin, LogKey: logKey}
	if mod != nil {
		mod(&cfg)
	}
	m, err := monitor.New(cfg)
	require.NoError(t, err)
	return m
}

func kinds(fs []monitor.Finding) []monitor.Kind {
	var out []monitor.Kind
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

// ctx returns a context for one test step.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

var _ http.Handler = (*tileserver.Handler)(nil)
