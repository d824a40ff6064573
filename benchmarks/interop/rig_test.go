package interop_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/pebblestore"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"
)

// TestMain silences Tessera's klog output and removes the fixtures kept
// for the whole process.
func TestMain(m *testing.M) {
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	code := m.Run()
	kept.mu.Lock()
	for i := len(kept.cleanups) - 1; i >= 0; i-- {
		kept.cleanups[i]()
	}
	kept.mu.Unlock()
	os.Exit(code)
}

// kept collects the cleanups of fixtures that live as long as the process.
var kept struct {
	mu       sync.Mutex
	cleanups []func()
}

// keeper is a testing.TB whose Cleanup and TempDir last until TestMain
// returns, for fixtures shared by every round of a benchmark; everything
// else goes to the TB it wraps (used only while building).
type keeper struct{ testing.TB }

func keep(tb testing.TB) keeper { return keeper{tb} }

func (k keeper) Cleanup(f func()) {
	kept.mu.Lock()
	kept.cleanups = append(kept.cleanups, f)
	kept.mu.Unlock()
}

func (k keeper) TempDir() string {
	dir, err := os.MkdirTemp("", "interop")
	check(k.TB, err)
	k.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

const (
	ourOrigin     = "interop.healthledger.example/ledger"
	tesseraOrigin = "interop.healthledger.example/tessera"
)

// ours is a healthledger log served by ledger/tileserver on 127.0.0.1.
type ours struct {
	log    *ledger.Log
	logKey string
	srv    *httptest.Server
}

// ourEntry returns the i-th entry of the test logs: about 1 KiB encoded.
func ourEntry(i int) *ledger.Entry {
	return &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("interop", fmt.Sprint(i%64)),
		Writer:  "did:key:z6MkInteropWriter",
		Time:    time.Now(),
		Digest:  ledger.Digest{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24), 7},
		Body:    make([]byte, 900),
	}
}

// newOurs opens a healthledger log over a memory store (dir == "") or a
// Pebble store in dir, appends n entries and serves it.
func newOurs(tb testing.TB, dir string, n int) *ours {
	tb.Helper()
	ctx := context.Background()
	skey, vkey, err := ledger.GenerateKey(ourOrigin)
	check(tb, err)
	signer, err := ledger.NewSigner(skey)
	check(tb, err)
	var st ledger.Store = memstore.New()
	if dir != "" {
		ps, err := pebblestore.Open(ctx, pebblestore.Config{Dir: dir, NoSync: true})
		check(tb, err)
		st = ps
	}
	l, err := ledger.Open(ctx, ledger.Config{Store: st, Signer: signer, Origin: ourOrigin, GuardFile: tb.TempDir() + "/guard"})
	check(tb, err)
	tb.Cleanup(func() { l.Close(); st.Close() })
	o := &ours{log: l, logKey: vkey}
	o.append(tb, 0, n)
	h, err := tileserver.New(tileserver.Config{Log: l})
	check(tb, err)
	o.srv = httptest.NewServer(h)
	tb.Cleanup(o.srv.Close)
	return o
}

func (o *ours) append(tb testing.TB, first, n int) {
	tb.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := first + g; i < first+n; i += 64 {
				if _, err := o.log.Append(context.Background(), ourEntry(i)); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	check(tb, firstErr)
}

// theirs is a log written by Tessera's POSIX driver in dir.
type theirs struct {
	dir      string
	vkey     string
	appender *tessera.Appender
	awaiter  *tessera.PublicationAwaiter
	shutdown func(context.Context) error
	srv      *httptest.Server // http.FileServer over dir
}

// tesseraEntry returns the i-th raw leaf of the Tessera log (1 KiB).
func tesseraEntry(i int) []byte {
	d := make([]byte, 1024)
	binary.BigEndian.PutUint64(d, uint64(i))
	copy(d[8:], "tessera interop leaf")
	return d
}

func newTheirs(tb testing.TB, ctx context.Context, n int) *theirs {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, tesseraOrigin)
	check(tb, err)
	signer, err := note.NewSigner(skey)
	check(tb, err)
	dir := tb.TempDir()
	driver, err := posix.New(ctx, posix.Config{Path: dir})
	check(tb, err)
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(256, 10*time.Millisecond).
		WithCheckpointInterval(100 * time.Millisecond)
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, opts)
	check(tb, err)
	th := &theirs{
		dir: dir, vkey: vkey, appender: appender, shutdown: shutdown,
		awaiter: tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 5*time.Millisecond),
	}
	th.append(tb, ctx, 0, n)
	th.srv = httptest.NewServer(http.FileServer(http.Dir(dir)))
	tb.Cleanup(th.srv.Close)
	return th
}

// append adds entries [first, first+n) and waits until a published
// checkpoint covers them all.
func (th *theirs) append(tb testing.TB, ctx context.Context, first, n int) {
	tb.Helper()
	futures := make([]tessera.IndexFuture, n)
	for i := range n {
		futures[i] = th.appender.Add(ctx, tessera.NewEntry(tesseraEntry(first+i)))
	}
	for i, f := range futures {
		idx, _, err := th.awaiter.Await(ctx, f)
		check(tb, err)
		if idx.Index != uint64(first+i) {
			tb.Fatalf("tessera put entry %d at %d", first+i, idx.Index)
		}
	}
}

func check(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
