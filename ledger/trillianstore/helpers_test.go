package trillianstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/google/trillian"
	"github.com/google/trillian/extension"
	"github.com/google/trillian/monitoring"
	"github.com/google/trillian/quota"
	"github.com/google/trillian/storage/memory"
	"github.com/google/trillian/testonly/integration"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"k8s.io/klog/v2"
)

const testOrigin = "ledger.example-hospital.org/trillianstore-test"

func TestMain(m *testing.M) {
	// The in-process sequencer runs every SequencerInterval; the default
	// (500ms) would make every Add wait half a second.
	integration.SequencerInterval = 5 * time.Millisecond
	// Trillian logs through klog to stderr; keep test output readable.
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// memEnv starts an in-process Trillian log server and sequencer on
// Trillian's memory storage, listening on 127.0.0.1.
func memEnv(t testing.TB) *integration.LogEnv {
	t.Helper()
	ts := memory.NewTreeStorage()
	reg := extension.Registry{
		AdminStorage: memory.NewAdminStorage(ts),
		LogStorage:   &lockedStorage{LogStorage: memory.NewLogStorage(ts, monitoring.InertMetricFactory{})},
		QuotaManager: quota.Noop(),
	}
	env, err := integration.NewLogEnvWithRegistry(context.Background(), 1, reg)
	require.NoError(t, err)
	t.Cleanup(env.Close)
	return env
}

// newTree creates and initializes a tree of the given mode.
func newTree(t testing.TB, cc grpc.ClientConnInterface, mode Mode) int64 {
	t.Helper()
	id, err := CreateTree(context.Background(), cc, mode)
	require.NoError(t, err)
	t.Cleanup(func() {
		// A deleted tree is no longer sequenced: keep the signer idle.
		_, _ = trillian.NewTrillianAdminClient(cc).DeleteTree(context.Background(), &trillian.DeleteTreeRequest{TreeId: id})
	})
	return id
}

// testSigner returns a note signer and verifier for testOrigin.
func testSigner(t testing.TB) (*ledger.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(testOrigin)
	require.NoError(t, err)
	s, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	return s, v
}

// openStore opens a Store on tree over cc and closes it at cleanup.
func openStore(t testing.TB, cc grpc.ClientConnInterface, tree int64, mode Mode, sign ledger.SignFunc) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{Conn: cc, TreeID: tree, Mode: mode, Sign: sign})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// vector is one entry of ledger/testdata/entries.json.
type vector struct {
	Name     string `json:"name"`
	Subject  string `json:"subject"`
	Encoding string `json:"encoding"`
	LeafHash string `json:"leaf_hash"`
}

// loadVectors loads the shared entry vectors as leaves and checks that
// their leaf hashes are the ones the file states.
func loadVectors(t testing.TB) []ledger.Leaf {
	t.Helper()
	raw, err := os.ReadFile("../testdata/entries.json")
	require.NoError(t, err)
	var file struct {
		Valid []vector `json:"valid"`
	}
	require.NoError(t, json.Unmarshal(raw, &file))
	require.NotEmpty(t, file.Valid, "no entry vectors loaded")
	leaves := make([]ledger.Leaf, len(file.Valid))
	for i, v := range file.Valid {
		data, err := hex.DecodeString(v.Encoding)
		require.NoError(t, err, v.Name)
		subj, err := hex.DecodeString(v.Subject)
		require.NoError(t, err, v.Name)
		leaves[i] = ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data)}
		copy(leaves[i].Subject[:], subj)
		require.Equal(t, v.LeafHash, hex.EncodeToString(leaves[i].Hash[:]), v.Name)
	}
	return leaves
}

// makeLeaves returns n distinct encoded entries, about size bytes each, for
// subjects chosen round-robin among subjects tags derived from seed.
func makeLeaves(t testing.TB, seed string, n, subjects, size int) []ledger.Leaf {
	t.Helper()
	leaves := make([]ledger.Leaf, n)
	for i := range n {
		e := &ledger.Entry{
			Kind:    ledger.KindRecordAnchored,
			Subject: ledger.DeriveSubjectTag("test", fmt.Sprintf("%s/%d", seed, i%max(subjects, 1))),
			Writer:  "did:hl:trillianstore.test",
			Time:    time.Unix(1_800_000_000, int64(i)).UTC(),
			Body:    make([]byte, max(size-200, 0)),
		}
		copy(e.Digest[:], fmt.Sprintf("%s/%d", seed, i))
		data, err := e.MarshalBinary()
		require.NoError(t, err)
		leaves[i] = ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: e.Subject}
	}
	return leaves
}

// verifyResult checks an AddResult against the leaves and the signer.
func verifyResult(t testing.TB, leaves []ledger.Leaf, res ledger.AddResult, v note.Verifier) {
	t.Helper()
	require.Len(t, res.Indices, len(leaves))
	require.Len(t, res.Existed, len(leaves))
	require.Len(t, res.Proofs, len(leaves))
	cp, _, err := ledger.OpenCheckpoint(res.Checkpoint, testOrigin, v)
	require.NoError(t, err)
	require.Equal(t, res.Head.Size, cp.Size)
	require.Equal(t, res.Head.Root, cp.Root)
	for i, l := range leaves {
		require.NoError(t, merkle.VerifyInclusion(l.Hash, res.Indices[i], res.Head.Size, res.Proofs[i], res.Head.Root), "leaf %d", i)
	}
}

// treeTypeOf returns the Trillian tree type of a mode.
func treeTypeOf(m Mode) trillian.TreeType {
	if m == ModePreordered {
		return trillian.TreeType_PREORDERED_LOG
	}
	return trillian.TreeType_LOG
}
