package monitor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/monitor"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// A real Log, cosigned by a witness, with an erasure among its entries:
// the monitor follows it across tile boundaries and finds nothing.
func TestCleanLogHasNoFindings(t *testing.T) {
	signer, logKey := newSigner(t)
	wskey, wvkey, err := ledger.GenerateCosignerKey("witness.monitor.example")
	require.NoError(t, err)
	cs, err := ledger.NewCosigner(wskey)
	require.NoError(t, err)
	w, err := ledger.NewWitness(ledger.WitnessConfig{Cosigner: cs, Logs: []ledger.WitnessedLog{{Origin: origin, LogKey: logKey}}})
	require.NoError(t, err)
	l, err := ledger.Open(context.Background(), ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin,
		Witnesses: []ledger.LogWitness{{Key: wvkey, Cosigner: ledger.NewLocalCosigner(w)}}})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	srv := serve(t, l)

	var progress []uint64
	m := newMonitor(t, srv.URL, logKey, func(c *monitor.Config) {
		c.Witnesses = []string{wvkey}
		c.EveryCheckpoint = true
		c.Progress = func(checked, size uint64) { progress = append(progress, checked) }
	})
	appendN := func(first, n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := l.Append(ctx(t), mustEntry(t, first+i))
				require.NoError(t, err)
			}()
		}
		wg.Wait()
	}
	appendN(0, 300)
	fs, err := m.Step(ctx(t))
	require.NoError(t, err)
	require.Empty(t, fs)
	require.Equal(t, uint64(300), m.Status().Size)
	require.Equal(t, []uint64{256, 300}, progress)

	e := mustEntry(t, 1000)
	x, err := ledger.NewErasureEntry(e.Subject, 300, "GDPR Art. 17(1)(a)", "did:key:z6MkMonitorTest", time.Now())
	require.NoError(t, err)
	_, err = l.Erase(ctx(t), x)
	require.NoError(t, err)
	appendN(2000, 260)
	fs, err = m.Step(ctx(t))
	require.NoError(t, err)
	require.Empty(t, fs)
	st := m.Status()
	require.Equal(t, uint64(561), st.Size)
	require.Equal(t, map[string]uint64{"witness.monitor.example": 561}, st.Witnessed)

	fs, err = m.Step(ctx(t)) // nothing new
	require.NoError(t, err)
	require.Empty(t, fs)
}

func mustEntry(t *testing.T, i int) *ledger.Entry {
	e, err := ledger.UnmarshalEntry(entry(t, i, time.Now()))
	require.NoError(t, err)
	return e
}

// Each way of altering the read path or signing a bad checkpoint yields
// its own finding, naming the tile or entry.
func TestFindings(t *testing.T) {
	flip := func(level int, index uint64, at int) func(int, uint64, []byte) []byte {
		return func(l int, i uint64, data []byte) []byte {
			if l == level && i == index {
				data[at] ^= 1
			}
			return data
		}
	}
	tests := []struct {
		name   string
		build  func(t *testing.T, f *fakeLog)
		tamper func(int, uint64, []byte) []byte
		mod    func(*monitor.Config)
		want   []monitor.Kind
		check  func(t *testing.T, fs []monitor.Finding)
	}{{
		name:  "clean",
		build: func(t *testing.T, f *fakeLog) { f.add(entries(t, 0, 300, t0)...); f.sign(t, t0) },
	}, {
		name:   "tampered level-0 tile",
		build:  func(t *testing.T, f *fakeLog) { f.add(entries(t, 0, 300, t0)...); f.sign(t, t0) },
		tamper: flip(0, 1, 40),
		want:   []monitor.Kind{monitor.TileMismatch},
		check: func(t *testing.T, fs []monitor.Finding) {
			require.Equal(t, merkle.TileID{Level: 0, Index: 1}, *fs[0].Tile)
			require.Equal(t, 44, fs[0].Width)
			require.NotEqual(t, fs[0].Served, fs[0].Expected)
		},
	}, {
		name:   "tampered level-1 tile",
		build:  func(t *testing.T, f *fakeLog) { f.add(entries(t, 0, 300, t0)...); f.sign(t, t0) },
		tamper: flip(1, 0, 3),
		want:   []monitor.Kind{monitor.TileMismatch},
		check: func(t *testing.T, fs []monitor.Finding) {
			require.Equal(t, merkle.TileID{Level: 1, Index: 0}, *fs[0].Tile)
		},
	}, {
		name:   "tampered bundle",
		build:  func(t *testing.T, f *fakeLog) { f.add(entries(t, 0, 300, t0)...); f.sign(t, t0) },
		tamper: flip(-1, 1, 2+10), // a byte of entry 256
		want:   []monitor.Kind{monitor.BundleMismatch},
		check: func(t *testing.T, fs []monitor.Finding) {
			require.Equal(t, uint64(256), fs[0].Index)
			want := merkle.HashLeaf(entry(t, 256, t0))
			require.Equal(t, want[:], fs[0].Expected)
		},
	}, {
		name: "root of nothing served",
		build: func(t *testing.T, f *fakeLog) {
			f.add(entries(t, 0, 3, t0)...)
			signed, err := ledger.SignCheckpoint(f.signer, ledger.Checkpoint{Origin: origin, Size: 3, Root: merkle.HashLeaf([]byte("x"))}, t0)
			require.NoError(t, err)
			f.signed = signed
		},
		want: []monitor.Kind{monitor.RootMismatch},
	}, {
		name: "future-dated entry",
		build: func(t *testing.T, f *fakeLog) {
			f.add(entry(t, 0, t0), entry(t, 1, t0.Add(ledger.DefaultMaxClockSkew+2*time.Second)))
			f.sign(t, t0)
		},
		want:  []monitor.Kind{monitor.FutureDated},
		check: func(t *testing.T, fs []monitor.Finding) { require.Equal(t, uint64(1), fs[0].Index) },
	}, {
		name:  "future-dated within the skew",
		build: func(t *testing.T, f *fakeLog) { f.add(entry(t, 0, t0.Add(4*time.Minute))); f.sign(t, t0) },
	}, {
		name:  "back-dated entry, every checkpoint seen",
		build: func(t *testing.T, f *fakeLog) { f.add(entry(t, 0, t0), entry(t, 1, t0.Add(-time.Hour))); f.sign(t, t0) },
		mod:   func(c *monitor.Config) { c.EveryCheckpoint = true },
		want:  []monitor.Kind{monitor.BackDated},
		check: func(t *testing.T, fs []monitor.Finding) { require.Equal(t, uint64(1), fs[0].Index) },
	}, {
		name:  "back-dated on first sight, not every checkpoint seen",
		build: func(t *testing.T, f *fakeLog) { f.add(entry(t, 0, t0), entry(t, 1, t0.Add(-time.Hour))); f.sign(t, t0) },
	}, {
		name: "malformed erasure",
		build: func(t *testing.T, f *fakeLog) {
			x := &ledger.Entry{Kind: ledger.KindErasure, Writer: "did:key:z6MkMonitorTest", Time: t0, Body: []byte("HLX\x01short")}
			leaf, err := x.MarshalBinary()
			require.NoError(t, err)
			f.add(entry(t, 0, t0), leaf)
			f.sign(t, t0)
		},
		want: []monitor.Kind{monitor.MalformedErasure},
	}, {
		name: "not an entry",
		build: func(t *testing.T, f *fakeLog) {
			f.add([]byte("not an entry"))
			f.sign(t, t0)
		},
		want: []monitor.Kind{monitor.MalformedEntry},
	}, {
		name:  "not witnessed",
		build: func(t *testing.T, f *fakeLog) { f.add(entry(t, 0, t0)); f.sign(t, t0) },
		mod: func(c *monitor.Config) {
			_, wvkey, err := ledger.GenerateCosignerKey("witness.monitor.example")
			require.NoError(t, err)
			c.Witnesses = []string{wvkey}
		},
		want: []monitor.Kind{monitor.NotWitnessed},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer, logKey := newSigner(t)
			f := newFakeLog(t, signer)
			tt.build(t, f)
			f.setTamper(tt.tamper)
			srv := serve(t, f)
			var counted []monitor.Kind
			m := newMonitor(t, srv.URL, logKey, func(c *monitor.Config) {
				c.Metrics = countKinds(func(k monitor.Kind) { counted = append(counted, k) })
				if tt.mod != nil {
					tt.mod(c)
				}
			})
			fs, err := m.Step(ctx(t))
			require.NoError(t, err)
			require.Equal(t, tt.want, kinds(fs), "%v", fs)
			require.Equal(t, tt.want, counted, "every finding is counted")
			for _, f := range fs {
				require.NotEmpty(t, f.Checkpoint)
				require.NotEmpty(t, f.String())
			}
			if tt.check != nil {
				tt.check(t, fs)
			}
		})
	}
}

type countKinds func(monitor.Kind)

func (c countKinds) Finding(k monitor.Kind) { c(k) }

// A back-dated entry in a later checkpoint is found against the
// checkpoint before it, and so is a checkpoint whose time went back.
func TestBackDatedAcrossCheckpoints(t *testing.T) {
	signer, logKey := newSigner(t)
	f := newFakeLog(t, signer)
	f.add(entry(t, 0, t0))
	first := f.sign(t, t0)
	m := newMonitor(t, serve(t, f).URL, logKey, nil)
	fs, err := m.Step(ctx(t))
	require.NoError(t, err)
	require.Empty(t, fs)

	f.add(entry(t, 1, t0.Add(-10*time.Minute)), entry(t, 2, t0.Add(10*time.Second)))
	f.sign(t, t0.Add(20*time.Second))
	fs, err = m.Step(ctx(t))
	require.NoError(t, err)
	require.Equal(t, []monitor.Kind{monitor.BackDated}, kinds(fs))
	require.Equal(t, uint64(1), fs[0].Index)
	require.Equal(t, first, fs[0].Other, "the evidence holds the checkpoint it was integrated after")

	f.add(entry(t, 3, t0))
	f.sign(t, t0.Add(-time.Second))
	fs, err = m.Step(ctx(t))
	require.NoError(t, err)
	require.Equal(t, []monitor.Kind{monitor.TimeWentBack}, kinds(fs))
}

// A log that shows a second history, of the same size or larger, is a
// fork: the finding carries both signed checkpoints, and Step fails with
// the Verifier's *ledger.InconsistencyError.
func TestFork(t *testing.T) {
	for _, size := range []int{2, 3} {
		signer, logKey := newSigner(t)
		a, b := newFakeLog(t, signer), newFakeLog(t, signer)
		a.add(entry(t, 0, t0), entry(t, 1, t0))
		signedA := a.sign(t, t0)
		b.add(entries(t, 10, size, t0)...)
		signedB := b.sign(t, t0)
		sw := &switchable{cur: a}
		m := newMonitor(t, serve(t, sw).URL, logKey, nil)
		fs, err := m.Step(ctx(t))
		require.NoError(t, err)
		require.Empty(t, fs)

		sw.set(b)
		fs, err = m.Step(ctx(t))
		var ie *ledger.InconsistencyError
		require.ErrorAs(t, err, &ie)
		require.Equal(t, []monitor.Kind{monitor.Fork}, kinds(fs))
		require.Equal(t, signedB, fs[0].Checkpoint)
		require.Equal(t, signedA, fs[0].Other)
		require.Equal(t, uint64(size), fs[0].Size)
	}
}

// When the served tiles cannot prove a new checkpoint consistent, the
// monitor says so, checks it from the entry bundles, names the bad tile,
// and moves on along its own consistency proof.
func TestTamperedTileOnUpdate(t *testing.T) {
	signer, logKey := newSigner(t)
	f := newFakeLog(t, signer)
	f.add(entries(t, 0, 100, t0)...)
	f.sign(t, t0)
	m := newMonitor(t, serve(t, f).URL, logKey, nil)
	fs, err := m.Step(ctx(t))
	require.NoError(t, err)
	require.Empty(t, fs)

	f.add(entries(t, 100, 200, t0)...)
	f.sign(t, t0.Add(time.Second))
	f.setTamper(func(level int, index uint64, data []byte) []byte {
		if level == 0 && index == 0 {
			data[99*32] ^= 1 // the last leaf hash of the old tree
		}
		return data
	})
	fs, err = m.Step(ctx(t))
	require.NoError(t, err)
	require.Equal(t, []monitor.Kind{monitor.ReadPathInvalid, monitor.TileMismatch}, kinds(fs), "%v", fs)
	require.Equal(t, uint64(300), m.Status().Size)

	// The tampered tile is not on the path of the next proof: a monitor
	// that moved to size 300 meets it no more.
	f.add(entry(t, 300, t0))
	f.sign(t, t0.Add(2*time.Second))
	fs, err = m.Step(ctx(t))
	require.NoError(t, err)
	require.Empty(t, fs)
	require.Equal(t, uint64(301), m.Status().Size)
}

// A server that goes away is an error, not a finding, and the next step
// starts again from the same place.
func TestIOErrorIsNotAFinding(t *testing.T) {
	signer, logKey := newSigner(t)
	f := newFakeLog(t, signer)
	f.add(entries(t, 0, 10, t0)...)
	f.sign(t, t0)
	srv := serve(t, f)
	m := newMonitor(t, srv.URL, logKey, nil)
	srv.Close()
	fs, err := m.Step(ctx(t))
	require.Error(t, err)
	require.False(t, errors.Is(err, ledger.ErrInvalidProof))
	require.Empty(t, fs)
	require.Zero(t, m.Status().Size)
}
