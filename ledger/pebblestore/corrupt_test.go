package pebblestore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

// The corruption tests open damaged copies of a store in a child process,
// a copy of this test binary started with corruptCasesEnv naming a JSON
// file of corruptRun, so that a panic or an exit inside Pebble (in any of
// its goroutines) is seen as a failed child, not a dead test binary.
const corruptCasesEnv = "HEALTHLEDGER_CORRUPT_CASES"

// corruptRun is what the parent asks the child to probe.
type corruptRun struct {
	SignerKey string
	// Now is the clock of the Log opened over each store: a time after
	// every checkpoint was signed.
	Now   time.Time
	Cases []corruptCase
}

// corruptCase is one damaged copy of a store: Dir, with its checkpoint
// guard at Dir+".checkpoint", and the leaf hash of every entry that was
// acknowledged before the damage, by index.
type corruptCase struct {
	Name  string
	Dir   string
	Acked map[uint64]string
}

// corruptOutcome is what the child found. Each error is "" if the step
// succeeded or did not run; the Corrupt flags say whether it wrapped
// ledger.ErrCorrupt.
type corruptOutcome struct {
	Name                              string
	Open, Read, Check, Compact, Guard string
	OpenCorrupt, ReadCorrupt          bool
	CheckCorrupt, CompactCorrupt      bool
	GuardRollback                     bool
	Size                              uint64
	Missing                           int // acknowledged entries at or above Size
}

// TestCorruptionChild probes damaged stores for the corruption tests.
// Outside them it skips.
func TestCorruptionChild(t *testing.T) {
	path := os.Getenv(corruptCasesEnv)
	if path == "" {
		t.Skip("the child process of the corruption tests")
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var run corruptRun
	require.NoError(t, json.Unmarshal(data, &run))
	signer, err := ledger.NewSigner(run.SignerKey)
	require.NoError(t, err)
	v, err := note.NewVerifier(signer.VerifierKey())
	require.NoError(t, err)
	for _, c := range run.Cases {
		o := probeCorrupt(t, c, signer, v, run.Now)
		line, err := json.Marshal(o)
		require.NoError(t, err)
		fmt.Printf("OUTCOME %s\n", line)
	}
	fmt.Println("DONE")
}

// probeCorrupt opens one damaged store and reads everything it can: the
// acknowledged entries and a sample of their proofs, Check, a compaction
// of the whole key space (Pebble's background path), and a Log with the
// checkpoint guard.
func probeCorrupt(t *testing.T, c corruptCase, signer *ledger.Signer, v note.Verifier, now time.Time) corruptOutcome {
	ctx := context.Background()
	o := corruptOutcome{Name: c.Name}
	note := func(dst *string, corrupt *bool, err error) {
		*dst = err.Error()
		if corrupt != nil {
			*corrupt = errors.Is(err, ledger.ErrCorrupt)
		}
	}
	st, err := Open(ctx, Config{Dir: c.Dir})
	if err != nil {
		note(&o.Open, &o.OpenCorrupt, err)
		return o
	}
	defer st.Close()
	head := st.Head()
	o.Size = head.Size
	indices := make([]uint64, 0, len(c.Acked))
	for i := range c.Acked {
		indices = append(indices, i)
	}
	slices.Sort(indices)
	for k, i := range indices {
		if i >= head.Size {
			o.Missing++
			continue
		}
		leaf, err := st.Leaf(ctx, i)
		if err != nil {
			note(&o.Read, &o.ReadCorrupt, err)
			break
		}
		if h := merkle.HashLeaf(leaf); h.String() != c.Acked[i] {
			o.Read = fmt.Sprintf("acknowledged entry %d has other bytes", i)
			break
		}
		if k%(len(indices)/32+1) == 0 {
			proof, err := st.InclusionProof(ctx, i, head.Size)
			if err == nil {
				err = merkle.VerifyInclusion(merkle.HashLeaf(leaf), i, head.Size, proof, head.Root)
			}
			if err != nil {
				note(&o.Read, &o.ReadCorrupt, err)
				break
			}
		}
	}
	if o.Read == "" {
		if err := st.Check(ctx, v); err != nil {
			note(&o.Check, &o.CheckCorrupt, err)
		}
	}
	if err := wrap(st.b.db.Compact(ctx, []byte{0}, []byte{0xff}, false)); err != nil {
		note(&o.Compact, &o.CompactCorrupt, err)
	}
	l, err := ledger.Open(ctx, ledger.Config{
		Store: st, Signer: signer, Origin: origin, GuardFile: c.Dir + ".checkpoint",
		Now: func() time.Time { return now },
	})
	if err != nil {
		o.Guard = err.Error()
		o.GuardRollback = errors.Is(err, ledger.ErrRollback)
	} else {
		require.NoError(t, l.Close())
	}
	return o
}

// corruptionCopies makes one copy of the store in src (and of its guard
// file beside it) per damage: a byte flipped in a WAL, a table or the
// current MANIFEST, at positions drawn from rng and logged. perFile is
// the number of positions in each file of a kind.
func corruptionCopies(t *testing.T, src string, rng *rand.Rand, perFile map[string]int, acked map[uint64]string) []corruptCase {
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	manifest := currentManifest(t, ents)
	var cases []corruptCase
	root := t.TempDir()
	for _, e := range ents {
		kind := filepath.Ext(e.Name())
		if e.Name() == manifest {
			kind = "MANIFEST"
		}
		fi, err := e.Info()
		require.NoError(t, err)
		if perFile[kind] == 0 || fi.Size() == 0 {
			continue
		}
		for k := range perFile[kind] {
			// Every other position in a table falls in its first quarter,
			// where the leaves are (keys 'e'): the rest of a table is
			// mostly tiles, which Open reads, so that reads, Check and the
			// compaction meet damage too.
			span := fi.Size()
			if kind == ".sst" && k%2 == 0 {
				span = max(1, span/4)
			}
			at := rng.Int64N(span)
			name := fmt.Sprintf("%s@%d", e.Name(), at)
			dst := filepath.Join(root, fmt.Sprint(len(cases)))
			require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
			if guard, err := os.ReadFile(src + ".checkpoint"); err == nil {
				require.NoError(t, os.WriteFile(dst+".checkpoint", guard, 0o600))
			}
			p := filepath.Join(dst, e.Name())
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			data[at] ^= 0x40
			require.NoError(t, os.WriteFile(p, data, 0o600))
			t.Logf("case %d: flipped a byte of %s (%d bytes) at %d", len(cases), e.Name(), fi.Size(), at)
			cases = append(cases, corruptCase{Name: name, Dir: dst, Acked: acked})
		}
	}
	require.NotEmpty(t, cases)
	return cases
}

// currentManifest returns the name of the MANIFEST that Pebble's marker
// names, the one Open reads.
func currentManifest(t *testing.T, ents []os.DirEntry) string {
	var marker string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "marker.manifest.") && e.Name() > marker {
			marker = e.Name()
		}
	}
	i := strings.Index(marker, "MANIFEST-")
	require.GreaterOrEqual(t, i, 0, "no manifest marker")
	return marker[i:]
}

// corruptTally counts the outcomes of the corruption cases by class.
type corruptTally struct{ refused, detected, intact, behind int }

// probeCorruptCopies runs the child on cases and checks each outcome:
// Open, a read, Check or the compaction fails with ErrCorrupt, or the
// store is intact (every acknowledged entry at its index, Check clean);
// or the store is behind what was acknowledged (Pebble took the damage
// for a torn tail and dropped what followed it), and then ledger.Open
// with the checkpoint guard refuses it (ErrRollback). The child must not
// panic or die.
func probeCorruptCopies(t *testing.T, signerKey string, now time.Time, cases []corruptCase) corruptTally {
	t.Helper()
	data, err := json.Marshal(corruptRun{SignerKey: signerKey, Now: now, Cases: cases})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "cases.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCorruptionChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), corruptCasesEnv+"="+path, crashDirEnv+"=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "the process probing damaged stores died:\n%s\n%s", out, stderr.String())
	var outcomes []corruptOutcome
	done := false
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		line := sc.Text()
		done = done || line == "DONE"
		if rest, ok := strings.CutPrefix(line, "OUTCOME "); ok {
			var o corruptOutcome
			require.NoError(t, json.Unmarshal([]byte(rest), &o))
			outcomes = append(outcomes, o)
		}
	}
	require.True(t, done, "the child did not finish:\n%s", out)
	require.Len(t, outcomes, len(cases))
	var tally corruptTally
	for _, o := range outcomes {
		t.Logf("%s: %+v", o.Name, o)
		for _, step := range []struct {
			err     string
			corrupt bool
		}{{o.Open, o.OpenCorrupt}, {o.Read, o.ReadCorrupt}, {o.Check, o.CheckCorrupt}, {o.Compact, o.CompactCorrupt}} {
			require.True(t, step.err == "" || step.corrupt, "%s: an error that is not ErrCorrupt: %s", o.Name, step.err)
		}
		switch {
		case o.Open != "":
			tally.refused++
		case o.Read != "" || o.Check != "" || o.Compact != "":
			tally.detected++
		case o.Missing > 0:
			// Only the checkpoint guard can tell: the store is consistent,
			// just shorter.
			require.True(t, o.GuardRollback, "%s: the store lost %d acknowledged entries and the guard did not refuse it: %s", o.Name, o.Missing, o.Guard)
			tally.behind++
		case o.Guard != "":
			// Everything acknowledged is there, but a batch committed after
			// the last acknowledgement (its guard swap done) is not.
			require.True(t, o.GuardRollback, "%s: ledger.Open failed: %s", o.Name, o.Guard)
			tally.behind++
		default:
			tally.intact++
		}
	}
	t.Logf("%d damaged copies: %d refused at Open, %d detected by a read, Check or compaction, %d intact, %d behind and refused by the checkpoint guard",
		len(cases), tally.refused, tally.detected, tally.intact, tally.behind)
	return tally
}

// A flipped byte in a table, the WAL or the MANIFEST of a real store is
// reported as ErrCorrupt by Open, a read, Check or a compaction, or leaves
// the store intact, or leaves it consistent but behind, which the
// checkpoint guard refuses; it never panics or ends the process (Pebble's
// default corruption handling calls Fatalf, and the store's old logger
// panicked there, in whichever goroutine met it).
func TestCorruptionNeverKills(t *testing.T) {
	if os.Getenv(corruptCasesEnv) != "" || os.Getenv(crashDirEnv) != "" {
		t.Skip("in a child process")
	}
	ctx := context.Background()
	seed := uint64(1)
	t.Logf("seed %d", seed)
	f := newFixture(t)
	skey, _, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	sign := func(h ledger.TreeHead) ([]byte, error) {
		return ledger.SignCheckpoint(signer, ledger.Checkpoint{Origin: origin, Size: h.Size, Root: h.Root}, time.Now())
	}
	// Three sessions, so that the directory holds a table (the WAL of a
	// session is flushed when the next one opens), a WAL and a MANIFEST.
	acked := map[uint64]string{}
	var last []byte
	n := 0
	for range 3 {
		st, err := Open(ctx, Config{Dir: f.dir})
		require.NoError(t, err)
		for range 10 {
			leaves := make([]ledger.Leaf, 100)
			for k := range leaves {
				data, err := entry(n).MarshalBinary()
				require.NoError(t, err)
				leaves[k] = ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: entry(n).Subject}
				acked[uint64(n)] = leaves[k].Hash.String()
				n++
			}
			res, err := st.Add(ctx, leaves, sign)
			require.NoError(t, err)
			last = res.Checkpoint
		}
		require.NoError(t, st.Close())
	}
	g, err := ledger.OpenFileGuard(f.dir + ".checkpoint")
	require.NoError(t, err)
	require.NoError(t, g.Swap(ctx, nil, last))
	require.NoError(t, g.Close())

	rng := rand.New(rand.NewPCG(seed, 0))
	cases := corruptionCopies(t, f.dir, rng, map[string]int{".sst": 3, ".log": 3, "MANIFEST": 2}, acked)
	tally := probeCorruptCopies(t, skey, time.Now(), cases)
	require.Positive(t, tally.refused+tally.detected, "no damage was detected: the test damages nothing")
}
