package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/pebblestore"
	"github.com/healthledger/healthledger/ledger/witness"
	"github.com/stretchr/testify/require"
)

const origin = "cli.healthledger.example/test"

// result is one in-process run of the command.
type result struct {
	code           int
	stdout, stderr string
}

func runCmd(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// fixture is a Pebble ledger written by a ledger.Log, with its keys and a
// receipt file, closed again.
type fixture struct {
	dir, ledgerDir, key, pub, receipt string
	subject                           ledger.SubjectTag
	size                              int
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{dir: t.TempDir(), size: 300}
	f.ledgerDir = filepath.Join(f.dir, "ledger")
	f.key = filepath.Join(f.dir, "log.key")
	f.pub = f.key + ".pub"
	r := runCmd(t, "keygen", "--origin", origin, "--out", f.key)
	require.Equal(t, 0, r.code, r.stderr)
	raw, err := os.ReadFile(f.key)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(strings.TrimSpace(string(raw)))
	require.NoError(t, err)

	ctx := context.Background()
	store, err := pebblestore.Open(ctx, pebblestore.Config{Dir: f.ledgerDir})
	require.NoError(t, err)
	l, err := ledger.Open(ctx, ledger.Config{Store: store, Signer: signer, Origin: origin})
	require.NoError(t, err)
	f.subject = ledger.DeriveSubjectTag("test", "patient-1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var receipt *ledger.Receipt
	for i := range f.size {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: ledger.DeriveSubjectTag("test", fmt.Sprint("patient-", i%10)),
				Writer: "did:key:z6MkCliTest", Time: time.Now(), Digest: sha256.Sum256(fmt.Append(nil, i))}
			r, err := l.Append(ctx, e)
			require.NoError(t, err)
			if i == 1 {
				mu.Lock()
				receipt = r
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	text, err := receipt.MarshalText()
	require.NoError(t, err)
	f.receipt = filepath.Join(f.dir, "receipt.txt")
	require.NoError(t, os.WriteFile(f.receipt, text, 0o644))
	require.NoError(t, l.Close())
	require.NoError(t, store.Close())
	return f
}

// syncBuffer is a bytes.Buffer safe for a command running in a goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// serveFixture runs "serve" in-process on a loopback port until the test
// ends, and returns its URL.
func serveFixture(t *testing.T, args ...string) string {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, append([]string{"serve", "--json", "--addr", "127.0.0.1:0"}, args...), &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		require.Equal(t, 0, <-done, errOut.String())
	})
	var res serveResult
	require.Eventually(t, func() bool { return json.Unmarshal([]byte(out.String()), &res) == nil }, 10*time.Second, 10*time.Millisecond, errOut.String())
	require.True(t, strings.HasPrefix(res.URL, "http://127.0.0.1:"))
	return res.URL
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "w.key")
	r := runCmd(t, "keygen", "--cosigner", "--origin", "witness.example", "--out", key, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var res keygenResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	require.True(t, res.Cosigner)
	st, err := os.Stat(key)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	pub, err := os.ReadFile(key + ".pub")
	require.NoError(t, err)
	require.Equal(t, res.PublicKey, strings.TrimSpace(string(pub)))
	_, err = ledger.NewCosignatureVerifier(res.PublicKey)
	require.NoError(t, err, "a cosigner key")
	priv, err := os.ReadFile(key)
	require.NoError(t, err)
	require.NotContains(t, r.stdout+r.stderr, strings.TrimSpace(string(priv)), "the private key is never printed")

	r = runCmd(t, "keygen", "--cosigner", "--origin", "witness.example", "--out", key)
	require.Equal(t, 3, r.code, "never overwrites a key")
	r = runCmd(t, "keygen", "--out", filepath.Join(dir, "x"))
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--origin is required")
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"verify", "--no-such-flag"}, {"verify", "--origin", origin}, {"check"},
		{"inspect", "--origin", origin, "--log-key", "k+1+2"}, {"monitor", "--origin", origin, "--log-key", "x+y+z"}} {
		r := runCmd(t, args...)
		require.Equal(t, 2, r.code, "%q: %s", args, r.stderr)
	}
	require.Equal(t, 0, runCmd(t, "help").code)
	require.Equal(t, 0, runCmd(t, "verify", "-h").code)
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	r := runCmd(t, "verify", "--origin", origin, "--log-key", f.pub, "--integration-time", f.receipt)
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, "^OK: entry [0-9]+ is in "+origin+" at size", r.stdout)

	r = runCmd(t, "verify", "--json", "--origin", origin, "--log-key", f.pub, f.receipt)
	require.Equal(t, 0, r.code, r.stderr)
	var res verifyResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	require.True(t, res.OK)
	require.Equal(t, "did:key:z6MkCliTest", res.Entry.Writer)

	text, err := os.ReadFile(f.receipt)
	require.NoError(t, err)
	tamper := func(name string, text []byte) string {
		p := filepath.Join(f.dir, name)
		require.NoError(t, os.WriteFile(p, text, 0o644))
		return p
	}
	// The last hash line of the proof, changed in one character.
	lines := strings.Split(string(text), "\n")
	var proofLine int
	for i, l := range lines {
		if len(l) == 44 && strings.HasSuffix(l, "=") {
			proofLine = i
			break
		}
	}
	require.NotZero(t, proofLine, "%s", text)
	bad := append([]string(nil), lines...)
	bad[proofLine] = flipBase64(bad[proofLine])
	for _, p := range []string{
		tamper("bad-proof.txt", []byte(strings.Join(bad, "\n"))),
		tamper("bad-sig.txt", bytes.Replace(text, []byte(origin+"\n"), []byte(origin+"x\n"), 1)),
	} {
		r = runCmd(t, "verify", "--origin", origin, "--log-key", f.pub, p)
		require.Equal(t, 1, r.code, "%s: %s", p, r.stderr)
		require.Contains(t, r.stderr, "verification failed")
	}

	_, otherKey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	r = runCmd(t, "verify", "--origin", origin, "--log-key", otherKey, f.receipt)
	require.Equal(t, 1, r.code, "another log's key")

	_, wkey, err := ledger.GenerateCosignerKey("witness.example")
	require.NoError(t, err)
	r = runCmd(t, "verify", "--origin", origin, "--log-key", f.pub, "--witness", wkey, f.receipt)
	require.Equal(t, 1, r.code, "a receipt the required witness did not cosign")

	r = runCmd(t, "verify", "--origin", origin, "--log-key", f.pub, filepath.Join(f.dir, "missing.txt"))
	require.Equal(t, 3, r.code)
	r = runCmd(t, "verify", "--origin", origin, "--log-key", f.pub, "--threshold", "2", f.receipt)
	require.Equal(t, 2, r.code, "threshold above the witnesses")
}

// flipBase64 changes the first character of a base64 line.
func flipBase64(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestCheck(t *testing.T) {
	f := newFixture(t)
	r := runCmd(t, "check", "--dir", f.ledgerDir, "--log-key", f.pub)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "OK: ")
	require.Contains(t, r.stdout, "holds 300 entries")
	require.Contains(t, r.stderr, "checking")

	_, otherKey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	r = runCmd(t, "check", "--json", "--dir", f.ledgerDir, "--log-key", otherKey)
	require.Equal(t, 1, r.code, r.stderr)
	var res checkResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	require.False(t, res.OK)
	require.NotEmpty(t, res.Problems)

	r = runCmd(t, "check", "--dir", filepath.Join(f.dir, "nowhere"), "--log-key", f.pub)
	require.Equal(t, 3, r.code)
	_, err = os.Stat(filepath.Join(f.dir, "nowhere"))
	require.ErrorIs(t, err, os.ErrNotExist, "check creates nothing")
}

func TestServeMonitorInspect(t *testing.T) {
	f := newFixture(t)
	subject := ledger.DeriveSubjectTag("test", "patient-3").String()
	r := runCmd(t, "inspect", "--json", "--dir", f.ledgerDir, "--origin", origin, "--log-key", f.pub, "--subject", subject)
	require.Equal(t, 0, r.code, r.stderr)
	var local inspectResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &local))
	require.Equal(t, uint64(300), local.Size)
	require.Len(t, local.Entries, 30)

	_, otherKey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	r = runCmd(t, "serve", "--dir", f.ledgerDir, "--origin", origin, "--log-key", otherKey, "--addr", "127.0.0.1:0")
	require.Equal(t, 1, r.code, "serve refuses a store the key did not sign: %s", r.stderr)

	url := serveFixture(t, "--dir", f.ledgerDir, "--origin", origin, "--log-key", f.pub)
	r = runCmd(t, "inspect", "--json", "--url", url, "--origin", origin, "--log-key", f.pub, "--subject", subject)
	require.Equal(t, 0, r.code, r.stderr)
	var remote inspectResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &remote))
	require.Equal(t, local, remote, "the same entries over HTTP as on disk")

	scrape := get(t, url+"metrics")
	require.Contains(t, scrape, "# TYPE healthledger_tileserver_responses_total counter")
	require.Regexp(t, `healthledger_tileserver_responses_total\{kind="tile",status="200"\} [1-9]`, scrape, "tiles served are counted")
	require.NotContains(t, scrape, `kind="tile",status="404"`)
	get(t, url+"tile/0/x999/000")
	require.Contains(t, get(t, url+"metrics"), `healthledger_tileserver_responses_total{kind="tile",status="404"} 1`)

	r = runCmd(t, "inspect", "--url", url, "--origin", origin, "--log-key", f.pub)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "size 300")

	r = runCmd(t, "monitor", url, "--origin", origin, "--log-key", f.pub)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "checked 300 entries; 0 finding(s)")
	require.Contains(t, r.stderr, "checked 300/300 entries")

	r = runCmd(t, "monitor", "--origin", origin, "--log-key", otherKey, url)
	require.Equal(t, 1, r.code, "a checkpoint not signed by the key: %s", r.stderr)

	r = runCmd(t, "monitor", "--origin", origin, "--log-key", f.pub, "http://127.0.0.1:1/")
	require.Equal(t, 3, r.code, "no server: %s", r.stderr)
}

// A monitor run against a server that serves a tampered tile prints the
// finding and exits 1.
func TestMonitorFindings(t *testing.T) {
	f := newFixture(t)
	url := serveFixture(t, "--dir", f.ledgerDir, "--origin", origin, "--log-key", f.pub)
	proxy := newTamperingProxy(t, url, "/tile/0/000")
	r := runCmd(t, "monitor", "--json", "--origin", origin, "--log-key", f.pub, proxy)
	require.Equal(t, 1, r.code, r.stderr)
	var res monitorResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	require.Len(t, res.Findings, 1)
	require.Equal(t, "tile-mismatch", string(res.Findings[0].Kind))
}

// monitor --follow --metrics-addr serves its counters while it follows.
func TestMonitorServesMetrics(t *testing.T) {
	f := newFixture(t)
	url := serveFixture(t, "--dir", f.ledgerDir, "--origin", origin, "--log-key", f.pub)
	proxy := newTamperingProxy(t, url, "/tile/0/000")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"monitor", "--follow", "--interval", "50ms", "--metrics-addr", "127.0.0.1:0",
			"--origin", origin, "--log-key", f.pub, proxy}, &out, &errOut)
	}()
	var metricsURL string
	require.Eventually(t, func() bool {
		m := regexp.MustCompile(`metrics on (http://127\.0\.0\.1:[0-9]+/metrics)`).FindStringSubmatch(errOut.String())
		if m != nil {
			metricsURL = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond, errOut.String())
	require.Eventually(t, func() bool {
		return strings.Contains(get(t, metricsURL), `healthledger_monitor_findings_total{kind="tile-mismatch"} 1`)
	}, 10*time.Second, 20*time.Millisecond, "the tampered tile is counted")
	scrape := get(t, metricsURL)
	require.Contains(t, scrape, `healthledger_monitor_entries_total 300`)
	require.Regexp(t, `healthledger_monitor_steps_total\{result="ok"\} [1-9]`, scrape)
	cancel()
	require.Equal(t, 1, <-done, "a finding fails the run: %s", errOut.String())

	r := runCmd(t, "monitor", "--metrics-addr", "127.0.0.1:0", "--origin", origin, "--log-key", f.pub, url)
	require.Equal(t, 2, r.code, "--metrics-addr without --follow is a usage error")
}

func TestServeWitness(t *testing.T) {
	f := newFixture(t)
	wkey := filepath.Join(f.dir, "witness.key")
	r := runCmd(t, "keygen", "--cosigner", "--origin", "witness.example", "--out", wkey)
	require.Equal(t, 0, r.code, r.stderr)
	url := serveFixture(t, "--dir", f.ledgerDir, "--origin", origin, "--log-key", f.pub, "--witness-key", wkey)

	c, err := witness.NewClient(witness.ClientConfig{URL: url})
	require.NoError(t, err)
	resp, err := http.Get(url + "checkpoint")
	require.NoError(t, err)
	var signed bytes.Buffer
	signed.ReadFrom(resp.Body)
	resp.Body.Close()
	line, err := c.AddCheckpoint(context.Background(), 0, nil, signed.Bytes())
	require.NoError(t, err)
	pub, err := os.ReadFile(wkey + ".pub")
	require.NoError(t, err)
	wv, err := ledger.NewCosignatureVerifier(strings.TrimSpace(string(pub)))
	require.NoError(t, err)
	cs, err := ledger.VerifyCosignatures(append(signed.Bytes(), line...), []*ledger.CosignatureVerifier{wv})
	require.NoError(t, err)
	require.Len(t, cs, 1, "the served witness cosigned the served checkpoint")
	state, err := os.ReadFile(wkey + ".state")
	require.NoError(t, err)
	require.Contains(t, string(state), origin, "the witness persisted what it cosigned")
	require.Contains(t, get(t, url+"metrics"), `healthledger_witness_requests_total{status="200"} 1`)
	_, err = c.AddCheckpoint(context.Background(), 0, nil, signed.Bytes())
	require.Error(t, err, "an old size the witness moved past")
	require.Contains(t, get(t, url+"metrics"), `healthledger_witness_requests_total{status="409"} 1`)
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(t, err)
	return b.String()
}
