// Package witness tests healthledger's witness protocol against
// litewitness (filippo.io/torchwood v0.6.1 cmd/litewitness), a C2SP
// tlog-witness implementation nobody here wrote.
package witness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/witness"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

const (
	origin      = "interop.healthledger.example/log"
	witnessName = "litewitness.interop.example"
)

// TestLitewitnessCosignsOurCheckpoints builds and starts litewitness with
// a fresh key in a fresh ssh-agent, registers our log in its database, and
// shows that a Log configured with it gets its cosignatures into the
// receipts, that our Verifier accepts them, and that it speaks the 409
// and fork paths of the protocol as our client expects.
func TestLitewitnessCosignsOurCheckpoints(t *testing.T) {
	for _, tool := range []string{"ssh-agent", "ssh-add", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("NOT RUN: " + tool + " is not installed; litewitness needs an ssh-agent holding its key")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A short directory: a unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "lw")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })

	bin := buildLitewitness(ctx, t, dir)
	sock, pub := startAgent(ctx, t, dir)
	fingerprint := run(ctx, t, nil, "ssh-keygen", "-l", "-E", "sha256", "-f", filepath.Join(dir, "key.pub"))
	fingerprint = strings.Fields(fingerprint)[1]

	logSKey, logVKey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(logSKey)
	require.NoError(t, err)

	db := filepath.Join(dir, "witness.db")
	url, stderr := startLitewitness(ctx, t, bin, db, sock, fingerprint)
	registerLog(t, db, origin, logVKey)

	// litewitness's verifier key, as it prints it, is the one our own
	// code derives from the Ed25519 key in the agent.
	vkey := regexp.MustCompile(`vkey=(\S+)`).FindStringSubmatch(stderr.String())
	require.NotNil(t, vkey, "litewitness did not print its verifier key")
	require.Equal(t, cosignerVKey(witnessName, pub), vkey[1])
	witnessKey := vkey[1]

	client, err := witness.NewClient(witness.ClientConfig{URL: url})
	require.NoError(t, err)
	// And one of ours beside it: a 2-of-2 quorum of independent code.
	ourKey, ourHandlerURL := startOurWitness(t, logVKey)
	ours, err := witness.NewClient(witness.ClientConfig{URL: ourHandlerURL})
	require.NoError(t, err)

	st := memstore.New()
	l, err := ledger.Open(ctx, ledger.Config{
		Store: st, Signer: signer, Origin: origin,
		Witnesses:      []ledger.LogWitness{{Key: witnessKey, Cosigner: client}, {Key: ourKey, Cosigner: ours}},
		WitnessTimeout: 20 * time.Second,
	})
	require.NoError(t, err)
	defer l.Close()
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: logVKey, Witnesses: []string{witnessKey, ourKey}})
	require.NoError(t, err)
	onlyLitewitness, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: logVKey, Witnesses: []string{witnessKey}})
	require.NoError(t, err)

	// Batches of concurrent appends, each checkpoint cosigned by both.
	for batch := range 4 {
		var wg sync.WaitGroup
		receipts := make([]*ledger.Receipt, 8)
		errs := make([]error, 8)
		for i := range receipts {
			wg.Go(func() { receipts[i], errs[i] = l.Append(ctx, entry(batch*100+i)) })
		}
		wg.Wait()
		for i, rc := range receipts {
			require.NoError(t, errs[i])
			require.Contains(t, string(rc.Checkpoint), "\n— "+witnessName+" ")
			_, err := v.VerifyReceipt(rc)
			require.NoError(t, err)
			cs, err := ledger.VerifyCosignatures(rc.Checkpoint, mustVerifiers(t, witnessKey))
			require.NoError(t, err)
			require.Len(t, cs, 1)
			require.WithinDuration(t, time.Now(), cs[0].Time, time.Minute, "litewitness's timestamp")
		}
		cp, err := l.Checkpoint(ctx)
		require.NoError(t, err)
		require.NoError(t, onlyLitewitness.Advance(cp, consistency(ctx, t, l, onlyLitewitness, cp)))
	}
	head, _ := onlyLitewitness.TrustedCheckpoint()
	require.Equal(t, uint64(32), head.Size)

	// The 409 path against litewitness: a stale old size gets its size
	// back; Client.Cosign retries from there with a proof from the Log.
	next := appendUncosigned(ctx, t, st, signer)
	_, err = client.AddCheckpoint(ctx, 0, nil, next)
	var conflict *ledger.WitnessConflictError
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, uint64(32), conflict.Latest)
	// next was appended to the store behind the Log, so the store proves it.
	lines, err := client.Cosign(ctx, st, 0, next)
	require.NoError(t, err)
	_, err = onlyLitewitness.VerifyCheckpoint(append(bytes.Clone(next), lines...))
	require.NoError(t, err)

	// A fork at litewitness's size (same size, another root, validly
	// signed by the log key) is refused, and our client says why.
	forked, err := ledger.SignCheckpoint(signer, ledger.Checkpoint{Origin: origin, Size: 33, Root: merkle.Hash{0xf0}}, time.Now())
	require.NoError(t, err)
	_, err = client.Cosign(ctx, st, 33, forked)
	require.Error(t, err)
	require.True(t, errors.Is(err, ledger.ErrInvalidProof), "%v", err)
	// A checkpoint not signed by the log's key is refused too (403).
	impostorKey, _, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	impostor, err := ledger.NewSigner(impostorKey)
	require.NoError(t, err)
	bad, err := ledger.SignCheckpoint(impostor, ledger.Checkpoint{Origin: origin, Size: 40, Root: merkle.Hash{1}}, time.Now())
	require.NoError(t, err)
	_, err = client.AddCheckpoint(ctx, 33, nil, bad)
	require.ErrorIs(t, err, ledger.ErrBadSignature)
}

func entry(i int) *ledger.Entry {
	return &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("interop", fmt.Sprint(i%5)),
		Writer:  "did:key:z6MkInteropWriter",
		Time:    time.Now(),
		Digest:  ledger.Digest{byte(i), byte(i >> 8), 0x1e},
	}
}

func mustVerifiers(t *testing.T, vkey string) []*ledger.CosignatureVerifier {
	v, err := ledger.NewCosignatureVerifier(vkey)
	require.NoError(t, err)
	return []*ledger.CosignatureVerifier{v}
}

func consistency(ctx context.Context, t *testing.T, l *ledger.Log, v *ledger.Verifier, cp []byte) []merkle.Hash {
	old, ok := v.TrustedCheckpoint()
	if !ok {
		return nil
	}
	c, err := ledger.ParseSignedCheckpoint(cp)
	require.NoError(t, err)
	p, err := l.ConsistencyProof(ctx, old.Size, c.Size)
	require.NoError(t, err)
	return p
}

// appendUncosigned adds one entry to the store directly (as a second Log
// without witnesses over the same store would) and returns the signed
// checkpoint of size 33, which no witness has seen.
func appendUncosigned(ctx context.Context, t *testing.T, st ledger.Store, s *ledger.Signer) []byte {
	data, err := entry(9999).MarshalBinary()
	require.NoError(t, err)
	res, err := st.Add(ctx, []ledger.Leaf{{Data: data, Hash: merkle.HashLeaf(data), Subject: entry(9999).Subject}}, func(h ledger.TreeHead) ([]byte, error) {
		return ledger.SignCheckpoint(s, ledger.Checkpoint{Origin: origin, Size: h.Size, Root: h.Root}, time.Now())
	})
	require.NoError(t, err)
	require.Equal(t, uint64(33), res.Head.Size)
	return res.Checkpoint
}

// cosignerVKey is the tlog-cosignature v1 vkey of an Ed25519 key.
func cosignerVKey(name string, pub []byte) string {
	h := sha256.Sum256(append(append([]byte(name+"\n"), 0x04), pub...))
	return fmt.Sprintf("%s+%08x+%s", name, binary.BigEndian.Uint32(h[:4]), base64.StdEncoding.EncodeToString(append([]byte{0x04}, pub...)))
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// buildLitewitness builds the litewitness of this module's go.mod (a
// tool dependency pinned at torchwood v0.6.1).
func buildLitewitness(ctx context.Context, t *testing.T, dir string) string {
	bin := filepath.Join(dir, "litewitness")
	run(ctx, t, nil, goTool(), "build", "-o", bin, "filippo.io/torchwood/cmd/litewitness")
	return bin
}

// startAgent starts a dedicated ssh-agent holding a fresh Ed25519 key and
// returns its socket and the public key. The agent is killed by PID at
// the end of the test.
func startAgent(ctx context.Context, t *testing.T, dir string) (string, []byte) {
	key := filepath.Join(dir, "key")
	run(ctx, t, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "litewitness-interop", "-f", key)
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	require.NoError(t, agent.Start())
	t.Cleanup(func() { stop(agent) })
	waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil })
	run(ctx, t, []string{"SSH_AUTH_SOCK=" + sock}, "ssh-add", key)

	pubLine, err := os.ReadFile(key + ".pub")
	require.NoError(t, err)
	blob, err := base64.StdEncoding.DecodeString(strings.Fields(string(pubLine))[1])
	require.NoError(t, err)
	return sock, blob[len(blob)-32:] // ssh-ed25519 wire format ends with the 32-byte key
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLitewitness starts litewitness on 127.0.0.1 on a free port and
// returns its URL and its stderr. It is stopped by PID at the end.
func startLitewitness(ctx context.Context, t *testing.T, bin, db, sock, fingerprint string) (string, *syncBuffer) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	stderr := &syncBuffer{}
	cmd := exec.Command(bin, "-db", db, "-name", witnessName, "-key", fingerprint, "-ssh-agent", sock, "-listen", addr)
	cmd.Stderr, cmd.Stdout = stderr, stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		stop(cmd)
		if t.Failed() {
			t.Logf("litewitness output:\n%s", stderr.String())
		}
	})
	waitFor(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil && strings.Contains(stderr.String(), "vkey=")
	})
	return "http://" + addr, stderr
}

// registerLog adds our log to litewitness's database as its witnessctl
// add-log and add-key commands do (witnessctl itself needs
// sigsum.org/sigsum-go, which the module proxy does not serve here): a log
// row at size 0 with the empty tree's root, and the log's verifier key.
// litewitness has created the tables; it reads them on every request.
func registerLog(t *testing.T, db, origin, vkey string) {
	conn, err := sqlite.OpenConn(db, 0)
	require.NoError(t, err)
	defer conn.Close()
	empty := merkle.EmptyRoot()
	require.NoError(t, sqlitex.Execute(conn, "INSERT INTO log (origin, tree_size, tree_hash) VALUES (?, 0, ?)",
		&sqlitex.ExecOptions{Args: []any{origin, base64.StdEncoding.EncodeToString(empty[:])}}))
	require.NoError(t, sqlitex.Execute(conn, "INSERT INTO key (origin, key) VALUES (?, ?)",
		&sqlitex.ExecOptions{Args: []any{origin, vkey}}))
}

// startOurWitness serves a ledger.Witness of our log over HTTP.
func startOurWitness(t *testing.T, logVKey string) (string, string) {
	skey, vkey, err := ledger.GenerateCosignerKey("ours.interop.example")
	require.NoError(t, err)
	cs, err := ledger.NewCosigner(skey)
	require.NoError(t, err)
	w, err := ledger.NewWitness(ledger.WitnessConfig{Cosigner: cs, Logs: []ledger.WitnessedLog{{Origin: origin, LogKey: logVKey}}})
	require.NoError(t, err)
	h, err := witness.NewHandler(witness.HandlerConfig{Witness: w})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return vkey, srv.URL
}

// stop ends a process this test started: SIGTERM, then SIGKILL.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for a helper process")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs a command and returns its standard output.
func run(ctx context.Context, t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}
