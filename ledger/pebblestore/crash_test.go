package pebblestore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

// The crash test runs its writer in a child process, a copy of this test
// binary started with these variables set, and kills it with SIGKILL.
const (
	crashDirEnv   = "HEALTHLEDGER_CRASH_DIR"   // store directory; selects child mode
	crashKeyEnv   = "HEALTHLEDGER_CRASH_KEY"   // checkpoint signer key (a test key)
	crashRoundEnv = "HEALTHLEDGER_CRASH_ROUND" // makes every round's entries distinct
)

// crashWriters is the number of goroutines appending in the child.
const crashWriters = 64

// crashPerWriter bounds the appends of one writer in one round, so that the
// store (and the full Check after every round) stays small enough for the
// test to finish in seconds. Kills land well before most rounds reach it.
const crashPerWriter = 80

// TestCrashChild is the writer of TestCrashRecovery. Outside a crash test
// it skips.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child process of TestCrashRecovery")
	}
	round, err := strconv.Atoi(os.Getenv(crashRoundEnv))
	require.NoError(t, err)
	signer, err := ledger.NewSigner(os.Getenv(crashKeyEnv))
	require.NoError(t, err)
	ctx := context.Background()
	// Index records go to Pebble every 61 leaves, so that kills land
	// before, during and after those writes too.
	indexGenSize = 61
	st, err := Open(ctx, Config{Dir: dir})
	require.NoError(t, err)
	l, err := ledger.Open(ctx, ledger.Config{Store: st, Signer: signer, Origin: origin, Now: func() time.Time { return crashTime(round, 0, 0) }})
	require.NoError(t, err)

	var mu sync.Mutex // serialises writes to stdout, one line per write
	emit := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		os.Stdout.WriteString(line)
	}
	emit("ready\n")
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for k := range crashPerWriter {
				r, err := l.Append(ctx, crashEntry(round, w, k))
				if err != nil {
					emit(fmt.Sprintf("error %v\n", err))
					return
				}
				// One line per acknowledged append, written only after
				// Append returned: the receipt's index, exact leaf, signed
				// checkpoint and inclusion proof.
				emit(fmt.Sprintf("ack %d %s %s %s\n", r.Index,
					base64.StdEncoding.EncodeToString(r.Leaf),
					base64.StdEncoding.EncodeToString(r.Checkpoint),
					formatProof(r.Proof)))
			}
		})
	}
	wg.Wait()
	emit("idle\n")
	select {} // wait for the kill
}

// formatProof writes a proof as comma-separated hashes, "-" if empty.
func formatProof(p []merkle.Hash) string {
	if len(p) == 0 {
		return "-"
	}
	s := make([]string, len(p))
	for i, h := range p {
		s[i] = h.String()
	}
	return strings.Join(s, ",")
}

// parseProof reverses formatProof.
func parseProof(s string) ([]merkle.Hash, error) {
	if s == "-" {
		return nil, nil
	}
	var p []merkle.Hash
	for _, f := range strings.Split(s, ",") {
		h, err := merkle.ParseHash(f)
		if err != nil {
			return nil, err
		}
		p = append(p, h)
	}
	return p, nil
}

// crashTime is the time of writer w's k-th entry in a round, w seconds
// after the round's hour: within the log's clock skew of crashTime(round,
// 0, 0), the child's log clock.
func crashTime(round, w, k int) time.Time {
	return time.Date(2026, 11, 22, round, 0, w, k, time.UTC)
}

// crashEntry returns the k-th entry of writer w in a round; all differ.
func crashEntry(round, w, k int) *ledger.Entry {
	id := fmt.Sprintf("%d/%d/%d", round, w, k)
	return &ledger.Entry{
		Kind:    ledger.KindRecordAccessed,
		Subject: ledger.DeriveSubjectTag("crash", strconv.Itoa(w%9)),
		Writer:  "did:key:z6MkCrashTestWriter",
		Time:    crashTime(round, w, k),
		Digest:  ledger.Digest(merkle.HashLeaf([]byte(id))),
		Body:    bytes.Repeat([]byte{byte(k)}, (round*31+w*7+k)%700),
	}
}

// ack is one acknowledged append, as the child printed it.
type ack struct {
	index      uint64
	leaf       []byte
	checkpoint ledger.Checkpoint
}

// TestCrashRecovery kills a process that appends from many goroutines at a
// random moment, again and again on the same directory, and checks after
// each kill that nothing acknowledged was lost or changed, that the store
// is intact (Check recomputes the root from all leaves), and that the
// recovered checkpoint is consistent with every checkpoint handed out
// before the crash.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child process")
	}
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	dir := t.TempDir()

	// After this round's kill, damaged copies of the directory are probed
	// too (see crashCorruption).
	corruptRound := min(2, rounds-1)
	acked := map[uint64][]byte{}                // every acknowledged leaf, by index
	order := []uint64{}                         // the keys of acked
	handedOut := map[uint64]ledger.Checkpoint{} // every checkpoint acknowledged, by size
	midAppend := 0
	for round := range rounds {
		delay := time.Duration(rng.Int64N(int64(200 * time.Millisecond)))
		acks, busy := runCrashChild(t, dir, skey, round, delay, v)
		if busy {
			midAppend++
		}
		for _, a := range acks {
			if old, ok := acked[a.index]; ok {
				require.Equal(t, old, a.leaf, "round %d: index %d acknowledged twice with different leaves", round, a.index)
			}
			acked[a.index] = a.leaf
			handedOut[a.checkpoint.Size] = a.checkpoint
		}
		if round == corruptRound {
			t.Run("corruption", func(t *testing.T) { crashCorruption(t, dir, skey, seed, round, acked) })
		}
		// This round's acknowledged entries are read back after every
		// kill, older ones in a sample, and all of them after the last.
		check := map[uint64][]byte{}
		for _, a := range acks {
			check[a.index] = a.leaf
		}
		for range 200 {
			if len(order) > 0 {
				i := order[rng.IntN(len(order))]
				check[i] = acked[i]
			}
		}
		if round == rounds-1 {
			check = acked
		}
		for _, a := range acks {
			order = append(order, a.index)
		}
		head := checkRecovered(t, dir, v, check, handedOut)
		t.Logf("round %d: killed %v after ready (appending: %v), %d acknowledged, recovered size %d",
			round, delay, busy, len(acks), head.Size)
	}
	t.Logf("%d of %d rounds killed while appends were in flight", midAppend, rounds)
}

// runCrashChild runs one child writer round on dir, kills it delay after it
// reported ready, and returns the appends it acknowledged; busy reports that
// its writers had not finished when it was killed.
func runCrashChild(t *testing.T, dir, skey string, round int, delay time.Duration, v note.Verifier) (acks []ack, busy bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashKeyEnv+"="+skey, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	ready := make(chan struct{})
	lines := make(chan []string, 1)
	go func() { lines <- readLines(out, ready) }()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("round %d: child not ready: %s", round, stderr.String())
	}
	time.Sleep(delay)
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no deferred code, no flush
	got := <-lines
	werr := cmd.Wait()
	require.Error(t, werr, "round %d: the child must die by the kill", round)
	require.Contains(t, werr.Error(), "killed", "round %d: child ended otherwise: %s", round, stderr.String())

	busy = true
	verified := map[string]ledger.Checkpoint{}
	for _, line := range got {
		f := strings.Fields(line)
		switch f[0] {
		case "ready":
			continue
		case "idle":
			busy = false
			continue
		case "ack":
		default:
			t.Fatalf("round %d: child reported %q", round, line)
		}
		require.Len(t, f, 5, "round %d: line %q", round, line)
		index, err := strconv.ParseUint(f[1], 10, 64)
		require.NoError(t, err)
		leaf, err := base64.StdEncoding.DecodeString(f[2])
		require.NoError(t, err)
		c, ok := verified[f[3]]
		if !ok {
			cp, err := base64.StdEncoding.DecodeString(f[3])
			require.NoError(t, err)
			c, _, err = ledger.OpenCheckpoint(cp, origin, v)
			require.NoError(t, err, "round %d: an acknowledged checkpoint must verify", round)
			verified[f[3]] = c
		}
		proof, err := parseProof(f[4])
		require.NoError(t, err)
		require.NoError(t, merkle.VerifyInclusion(merkle.HashLeaf(leaf), index, c.Size, proof, c.Root),
			"round %d: the receipt of entry %d verifies", round, index)
		acks = append(acks, ack{index: index, leaf: leaf, checkpoint: c})
	}
	return acks, busy
}

// readLines reads complete lines until EOF, closing ready at the first
// "ready" line. A last line cut by the kill (no newline) is dropped: it was
// never fully acknowledged.
func readLines(r io.Reader, ready chan struct{}) []string {
	br := bufio.NewReaderSize(r, 1<<16)
	var lines []string
	signalled := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if !signalled {
				close(ready)
			}
			return lines
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "ready" && !signalled {
			close(ready)
			signalled = true
		}
		lines = append(lines, line)
	}
}

// checkRecovered reopens the store after a kill and checks it: Check walks
// every leaf, index and tile and recomputes the root; the acknowledged
// leaves in acked are read back; the recovered checkpoint must be
// consistent with every checkpoint handed out before. Together with Check,
// that consistency also pins every acknowledged leaf not read back here:
// its receipt proved it is in a handed-out checkpoint's tree, and the
// recovered tree extends that tree. It returns the recovered head.
func checkRecovered(t *testing.T, dir string, v note.Verifier, acked map[uint64][]byte, handedOut map[uint64]ledger.Checkpoint) ledger.Checkpoint {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, Config{Dir: dir})
	require.NoError(t, err, "a killed store reopens")
	defer st.Close()
	require.NoError(t, st.Check(ctx, v), "the recovered store is intact and its root is the root of its leaves")

	var head ledger.Checkpoint
	if cp, err := st.Checkpoint(ctx); len(acked) == 0 && err != nil {
		require.ErrorIs(t, err, ledger.ErrEmptyLog)
	} else {
		require.NoError(t, err)
		head, _, err = ledger.OpenCheckpoint(cp, origin, v)
		require.NoError(t, err)
	}
	for index, leaf := range acked {
		got, err := st.Leaf(ctx, index)
		require.NoError(t, err, "acknowledged entry %d is present", index)
		require.Equal(t, leaf, got, "acknowledged entry %d has its bytes", index)
	}
	for _, c := range handedOut {
		require.LessOrEqual(t, c.Size, head.Size, "the log went back behind a handed-out checkpoint")
		proof, err := st.ConsistencyProof(ctx, c.Size, head.Size)
		require.NoError(t, err)
		require.NoError(t, merkle.VerifyConsistency(c.Size, head.Size, proof, c.Root, head.Root),
			"the recovered checkpoint is consistent with the one of size %d handed out before", c.Size)
	}
	return head
}

// crashCorruption damages copies of a store just killed mid-append (and of
// its checkpoint guard): one byte flipped in its WAL, a table or its
// MANIFEST, at positions drawn from the test's seed and logged. Each copy
// must fail with ErrCorrupt (Open, a read, Check, a compaction), or hold
// every acknowledged entry at its index with a valid proof, or be behind
// and refused by ledger.Open's checkpoint guard (ErrRollback); the process
// probing them must never panic or die.
func crashCorruption(t *testing.T, dir, skey string, seed uint64, round int, acked map[uint64][]byte) {
	hashes := make(map[uint64]string, len(acked))
	for i, leaf := range acked {
		hashes[i] = merkle.HashLeaf(leaf).String()
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	cases := corruptionCopies(t, dir, rng, map[string]int{".sst": 2, ".log": 2, "MANIFEST": 2}, hashes)
	// The Log's clock is after every checkpoint the rounds so far signed.
	probeCorruptCopies(t, skey, crashTime(round+1, 0, 0), cases)
}
