package ledger_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
)

type policyVectors struct {
	Valid []struct {
		Name   string
		Policy string
		Min    int
		Cases  []struct {
			Cosigned []string
			OK       bool
		}
	}
	Invalid []struct {
		Name, Policy, Error, Reason string
	}
}

// cosignaturesOf returns the Cosignature values the named policy
// witnesses would make.
func cosignaturesOf(t *testing.T, p *ledger.Policy, names []string) []ledger.Cosignature {
	var out []ledger.Cosignature
	for _, n := range names {
		found := false
		for _, w := range p.Witnesses() {
			if w.Name == n {
				v, err := ledger.NewCosignatureVerifier(w.Key)
				require.NoError(t, err)
				out = append(out, ledger.Cosignature{Name: v.Name(), KeyHash: v.KeyHash()})
				found = true
			}
		}
		require.True(t, found, "no witness %q", n)
	}
	return out
}

func TestPolicyVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/policies.json")
	require.NoError(t, err)
	var vs policyVectors
	require.NoError(t, json.Unmarshal(data, &vs))
	require.NotEmpty(t, vs.Valid)
	require.NotEmpty(t, vs.Invalid)
	for _, v := range vs.Valid {
		t.Run(v.Name, func(t *testing.T) {
			p, err := ledger.ParsePolicy([]byte(v.Policy))
			require.NoError(t, err)
			require.Equal(t, v.Min, p.MinCosignatures())
			for _, c := range v.Cases {
				require.Equal(t, c.OK, p.Satisfied(cosignaturesOf(t, p, c.Cosigned)), "cosigned by %v", c.Cosigned)
			}
		})
	}
	errs := map[string]error{"malformed": ledger.ErrMalformed, "too_large": ledger.ErrTooLarge}
	for _, v := range vs.Invalid {
		t.Run(v.Name, func(t *testing.T) {
			_, err := ledger.ParsePolicy([]byte(v.Policy))
			require.ErrorIs(t, err, errs[v.Error])
			require.Contains(t, err.Error(), v.Reason)
		})
	}
}

func TestPolicyParsesFields(t *testing.T) {
	_, lvk, err := ledger.GenerateKey("log.example")
	require.NoError(t, err)
	_, wvk, err := ledger.GenerateCosignerKey("w.example")
	require.NoError(t, err)
	p, err := ledger.ParsePolicy([]byte(fmt.Sprintf("log %s https://log.example/\nwitness w %s https://w.example/\nquorum w\n", lvk, wvk)))
	require.NoError(t, err)
	require.Equal(t, []ledger.PolicyLog{{Key: lvk, URL: "https://log.example/"}}, p.Logs())
	require.Equal(t, []ledger.PolicyWitness{{Name: "w", Key: wvk, URL: "https://w.example/"}}, p.Witnesses())
	require.True(t, p.RequiresCosignatures())
	// Getters return copies.
	p.Witnesses()[0].Name = "changed"
	require.Equal(t, "w", p.Witnesses()[0].Name)
}

func TestPolicyRefusesMLDSAKeysAndHugeTexts(t *testing.T) {
	key := make([]byte, 1+1312)
	key[0] = 0x06
	vkey := "mldsa.example+01020304+" + base64.StdEncoding.EncodeToString(key)
	_, err := ledger.ParsePolicy([]byte("witness m " + vkey + "\nquorum m\n"))
	require.ErrorIs(t, err, ledger.ErrMalformed)
	require.Contains(t, err.Error(), "ML-DSA-44")

	_, err = ledger.ParsePolicy([]byte("quorum none\n" + strings.Repeat("#", ledger.MaxPolicySize)))
	require.ErrorIs(t, err, ledger.ErrTooLarge)

	var b strings.Builder
	for i := range ledger.MaxPolicyWitnesses + 1 {
		_, wvk, err := ledger.GenerateCosignerKey(fmt.Sprintf("w%d.example", i))
		require.NoError(t, err)
		fmt.Fprintf(&b, "witness w%d %s\n", i, wvk)
	}
	b.WriteString("quorum w0\n")
	_, err = ledger.ParsePolicy([]byte(b.String()))
	require.ErrorContains(t, err, "more than 256 witnesses")
}

// TestVerifierWithPolicy: a Verifier configured with a policy accepts a
// checkpoint exactly when the cosignatures on it meet the quorum.
func TestVerifierWithPolicy(t *testing.T) {
	r := newCosignRig(t, 3)
	text := fmt.Sprintf("log %s\nwitness a %s\nwitness b %s\nwitness c %s\ngroup g 2 a b c\nquorum g\n", r.logKey, r.keys[0], r.keys[1], r.keys[2])
	p, err := ledger.ParsePolicy([]byte(text))
	require.NoError(t, err)
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: r.logKey, Policy: p})
	require.NoError(t, err)

	r.down[1].Store(true)
	r.down[2].Store(true)
	st := memstore.New()
	l := r.open(t, st, ledger.Config{WitnessThreshold: 1, WitnessTimeout: time.Second})
	rc := appendRange(t, l, 0, 1)
	_, err = v.VerifyReceipt(rc)
	var qe *ledger.QuorumError
	require.ErrorAs(t, err, &qe, "one cosignature, two required")
	require.Equal(t, 1, qe.Valid)
	require.Equal(t, 2, qe.Required)

	r.down[2].Store(false)
	require.NoError(t, l.Close())
	l = r.open(t, st, ledger.Config{WitnessThreshold: 2, WitnessTimeout: time.Second})
	rc = appendRange(t, l, 1, 1)
	_, err = v.VerifyReceipt(rc)
	require.NoError(t, err)

	// Configuration errors.
	_, lvk2, err := ledger.GenerateKey(testOrigin)
	require.NoError(t, err)
	for name, cfg := range map[string]ledger.VerifierConfig{
		"policy and witnesses":      {Policy: p, Witnesses: r.keys[:1]},
		"policy and threshold":      {Policy: p, WitnessThreshold: 1},
		"log key not in policy":     {Policy: p, LogKey: lvk2},
		"log key as policy witness": {Policy: mustPolicy(t, "witness w "+r.logKey+"\nquorum w\n")},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Origin = testOrigin
			if cfg.LogKey == "" {
				cfg.LogKey = r.logKey
			}
			_, err := ledger.NewVerifier(cfg)
			require.ErrorIs(t, err, ledger.ErrMalformed)
		})
	}
}

func mustPolicy(t *testing.T, text string) *ledger.Policy {
	p, err := ledger.ParsePolicy([]byte(text))
	require.NoError(t, err)
	return p
}

// FuzzParsePolicy: no panic; for an accepted policy, all witnesses
// cosigning always meets the quorum, none cosigning meets it exactly when
// it needs no cosignature, and the minimum is at most the witness count.
func FuzzParsePolicy(f *testing.F) {
	data, err := os.ReadFile("testdata/policies.json")
	require.NoError(f, err)
	var vs policyVectors
	require.NoError(f, json.Unmarshal(data, &vs))
	for _, v := range vs.Valid {
		f.Add([]byte(v.Policy))
	}
	for _, v := range vs.Invalid {
		f.Add([]byte(v.Policy))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		p, err := ledger.ParsePolicy(text)
		if err != nil {
			return
		}
		var all []ledger.Cosignature
		for _, w := range p.Witnesses() {
			v, err := ledger.NewCosignatureVerifier(w.Key)
			require.NoError(t, err)
			all = append(all, ledger.Cosignature{Name: v.Name(), KeyHash: v.KeyHash()})
		}
		require.True(t, p.Satisfied(all))
		require.Equal(t, p.MinCosignatures() == 0, p.Satisfied(nil))
		require.LessOrEqual(t, p.MinCosignatures(), len(all))
	})
}
