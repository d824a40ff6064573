package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/healthledger/healthledger/ledger"
)

type entryJSON struct {
	Index             uint64    `json:"index"`
	Kind              uint16    `json:"kind"`
	Subject           string    `json:"subject"`
	Writer            string    `json:"writer"`
	Time              time.Time `json:"time"`
	Digest            string    `json:"digest"`
	PayloadCommitment string    `json:"payload_commitment,omitempty"`
	BodyBytes         int       `json:"body_bytes"`
	Signed            bool      `json:"signed"`
}

func toEntryJSON(index uint64, e *ledger.Entry) entryJSON {
	j := entryJSON{Index: index, Kind: uint16(e.Kind), Subject: e.Subject.String(), Writer: e.Writer, Time: e.Time.UTC(),
		Digest: e.Digest.String(), BodyBytes: len(e.Body), Signed: len(e.Signature) > 0}
	if e.PayloadCommitment != (ledger.Commitment{}) {
		j.PayloadCommitment = hex.EncodeToString(e.PayloadCommitment[:])
	}
	return j
}

func (j entryJSON) text(w io.Writer) {
	fmt.Fprintf(w, "entry %d: kind 0x%04x, subject %s, time %s, writer %s, digest %s\n",
		j.Index, j.Kind, j.Subject, j.Time.Format(time.RFC3339Nano), j.Writer, j.Digest)
}

type cosignatureJSON struct {
	Name string    `json:"name"`
	Time time.Time `json:"time"`
}

type verifyResult struct {
	OK             bool              `json:"ok"`
	Size           uint64            `json:"size"`
	Root           string            `json:"root"`
	CheckpointTime time.Time         `json:"checkpoint_time"`
	Entry          entryJSON         `json:"entry"`
	Cosignatures   []cosignatureJSON `json:"cosignatures"`
}

// verifierFlags are the flags that say which checkpoints to trust.
type verifierFlags struct {
	origin, logKey, policy string
	witnesses              stringList
	threshold              int
	skew                   time.Duration
}

func (f *verifierFlags) register(fs *flag.FlagSet, withQuorum bool) {
	fs.StringVar(&f.origin, "origin", "", "the log's origin (required)")
	fs.StringVar(&f.logKey, "log-key", "", "the log's public verifier key, or a file holding it (required)")
	fs.DurationVar(&f.skew, "max-clock-skew", ledger.DefaultMaxClockSkew, "the log's allowed clock skew")
	fs.Var(&f.witnesses, "witness", "a witness's public cosigner key, or a file holding it (repeatable)")
	if withQuorum {
		fs.IntVar(&f.threshold, "threshold", 0, "witnesses of --witness that must have cosigned (default all)")
		fs.StringVar(&f.policy, "policy", "", "a C2SP tlog-policy file deciding the witness quorum (instead of --witness/--threshold)")
	}
}

// keys reads the log key and witness keys.
func (f *verifierFlags) keys() (string, []string, error) {
	if err := required([2]string{"origin", f.origin}, [2]string{"log-key", f.logKey}); err != nil {
		return "", nil, err
	}
	logKey, err := keyArg(f.logKey)
	if err != nil {
		return "", nil, err
	}
	var ws []string
	for _, w := range f.witnesses {
		k, err := keyArg(w)
		if err != nil {
			return "", nil, err
		}
		ws = append(ws, k)
	}
	return logKey, ws, nil
}

func (f *verifierFlags) verifier() (*ledger.Verifier, []*ledger.CosignatureVerifier, error) {
	logKey, ws, err := f.keys()
	if err != nil {
		return nil, nil, err
	}
	cfg := ledger.VerifierConfig{Origin: f.origin, LogKey: logKey, Witnesses: ws, WitnessThreshold: f.threshold, MaxClockSkew: f.skew}
	if f.policy != "" {
		text, err := os.ReadFile(f.policy)
		if err != nil {
			return nil, nil, &ioError{err}
		}
		if cfg.Policy, err = ledger.ParsePolicy(text); err != nil {
			return nil, nil, usagef("--policy: %v", err)
		}
		for _, w := range cfg.Policy.Witnesses() {
			ws = append(ws, w.Key)
		}
	}
	v, err := ledger.NewVerifier(cfg)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	var cvs []*ledger.CosignatureVerifier
	for _, k := range ws {
		if cv, err := ledger.NewCosignatureVerifier(k); err == nil {
			cvs = append(cvs, cv)
		}
	}
	return v, cvs, nil
}

func cmdVerify(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("verify")
	var vf verifierFlags
	vf.register(fs, true)
	integration := fs.Bool("integration-time", false, "the receipt is the one Append returned: also refuse a back-dated entry")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one receipt file")
	}
	v, cvs, err := vf.verifier()
	if err != nil {
		return err
	}
	text, err := os.ReadFile(pos[0])
	if err != nil {
		return &ioError{err}
	}
	r, err := ledger.ParseReceipt(text)
	if err != nil {
		return err
	}
	var entry *ledger.Entry
	var t time.Time
	if *integration {
		entry, t, err = v.VerifyIntegrationTime(r)
	} else if entry, err = v.VerifyReceipt(r); err == nil {
		t, err = v.CheckpointTime(r.Checkpoint)
	}
	if err != nil {
		return err
	}
	cp, _ := ledger.ParseSignedCheckpoint(r.Checkpoint)
	res := verifyResult{OK: true, Size: cp.Size, Root: cp.Root.String(), CheckpointTime: t.UTC(), Entry: toEntryJSON(r.Index, entry)}
	cs, _ := ledger.VerifyCosignatures(r.Checkpoint, cvs)
	for _, c := range cs {
		res.Cosignatures = append(res.Cosignatures, cosignatureJSON{Name: c.Name, Time: c.Time})
	}
	return e.output(res, func(w io.Writer) {
		fmt.Fprintf(w, "OK: entry %d is in %s at size %d (checkpoint signed %s)\n", r.Index, vf.origin, cp.Size, t.UTC().Format(time.RFC3339))
		res.Entry.text(w)
		for _, c := range res.Cosignatures {
			fmt.Fprintf(w, "cosigned by %s at %s\n", c.Name, c.Time.Format(time.RFC3339))
		}
	})
}
