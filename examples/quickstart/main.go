// Command quickstart shows the healthledger core on the embedded durable
// store: it creates (or reopens) a ledger in a local directory, records two
// health events, prints their receipts, verifies them offline with nothing
// but the log's public key, proves that the log only grew between two
// checkpoints, and shows that a tampered entry fails verification.
//
//	go run ./examples/quickstart            # uses ./quickstart-data
//	go run ./examples/quickstart -dir /tmp/ledger
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/pebblestore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/healthledger/healthledger/privacy"
	"github.com/healthledger/healthledger/privacy/filekeystore"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

const origin = "ledger.example-hospital.org/audit"

func main() {
	dir := flag.String("dir", "quickstart-data", "directory of the ledger (created if missing)")
	flag.Parse()
	if err := run(context.Background(), *dir); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	keys, err := loadOrCreateKeys(dir)
	if err != nil {
		return err
	}
	signer, err := ledger.NewSigner(keys.signer)
	if err != nil {
		return err
	}
	store, err := pebblestore.Open(ctx, pebblestore.Config{Dir: filepath.Join(dir, "db")})
	if err != nil {
		return err
	}
	defer store.Close()
	log, err := ledger.Open(ctx, ledger.Config{Store: store, Signer: signer, Origin: origin})
	if err != nil {
		return err
	}
	defer log.Close()

	fmt.Printf("Ledger %q in %s\nPublic verifier key: %s\n\n", origin, dir, keys.verifier)
	var before []byte
	if cp, err := log.Checkpoint(ctx); err == nil {
		before = cp
		fmt.Printf("Reopened an existing ledger of %d entries.\n\n", checkpointOf(cp).Size)
	}

	// The patient appears only as a keyed pseudonymous tag of the MRN
	// (privacy.Tagger, under a secret the hospital keeps). The lab result is
	// sealed under the patient's own data key (privacy.Vault) and kept
	// beside the tree: the leaf holds only a salted commitment to it, and
	// erasing the patient later deletes it without changing any proof.
	patient, err := keys.tagger.Tag("patient", "MRN-0042-7731")
	if err != nil {
		return err
	}
	observation := []byte(`{"resourceType":"Observation","id":"hba1c-2026-11-22","status":"final",` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},"valueQuantity":{"value":6.1,"unit":"%"}}`)
	sealed, err := keys.vault.Seal(ctx, patient, []byte("quickstart/observation"), observation)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	anchored := &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: patient, Writer: "did:key:z6MkLabSystemCityHospital", Time: now}
	if err := anchored.SetPayload(sealed); err != nil {
		return err
	}
	events := []struct {
		title string
		entry *ledger.Entry
	}{
		{"Lab result anchored (sealed, beside the tree)", anchored},
		{"Record read by a clinician", &ledger.Entry{
			// The read names the version it read by the anchor's commitment.
			Kind: ledger.KindRecordAccessed, Subject: patient, Writer: "did:key:z6MkDrAdaLovelaceCardiology",
			Time: now.Add(2 * time.Minute), Digest: ledger.Digest(anchored.PayloadCommitment),
		}},
	}
	var receipts []*ledger.Receipt
	for _, ev := range events {
		r, err := log.Append(ctx, ev.entry)
		if err != nil {
			return fmt.Errorf("append %s: %w", ev.title, err)
		}
		receipts = append(receipts, r)
		printReceipt(ev.title, r)
	}

	// Offline verification: a third party needs only the origin and the
	// public key, not the store and not the log operator's word.
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: keys.verifier})
	if err != nil {
		return err
	}
	fmt.Println("Verifying the receipts offline with only the public key:")
	for _, r := range receipts {
		e, err := v.VerifyReceipt(r)
		if err != nil {
			return fmt.Errorf("receipt %d: %w", r.Index, err)
		}
		what := "digest " + e.Digest.String()[:16]
		if e.PayloadCommitment != (ledger.Commitment{}) {
			what = "payload commitment " + e.PayloadCommitment.String()[:16]
		}
		fmt.Printf("  entry %d: OK (%s by %s, %s...)\n", r.Index, kindName(e.Kind), e.Writer, what)
	}

	// Consistency: the log may only grow. Trust an earlier checkpoint, then
	// move to the latest one only with a proof that it extends it.
	first := before
	if first == nil {
		first = receipts[0].Checkpoint
	}
	latest, err := log.Checkpoint(ctx)
	if err != nil {
		return err
	}
	a, b := checkpointOf(first), checkpointOf(latest)
	proof, err := log.ConsistencyProof(ctx, a.Size, b.Size)
	if err != nil {
		return err
	}
	if err := v.Advance(first, nil); err != nil {
		return err
	}
	if err := v.Advance(latest, proof); err != nil {
		return fmt.Errorf("consistency: %w", err)
	}
	fmt.Printf("\nConsistency: the tree of size %d is a prefix of the tree of size %d (proof of %d hashes): OK\n", a.Size, b.Size, len(proof))

	// Tampering: change one byte of an entry (say, to back-date it).
	forged := *receipts[0]
	forged.Leaf = append([]byte(nil), forged.Leaf...)
	forged.Leaf[len(forged.Leaf)/2] ^= 0x01
	_, err = v.VerifyReceipt(&forged)
	fmt.Printf("\nTampered entry %d: %v\n", forged.Index, err)
	if !errors.Is(err, ledger.ErrInvalidProof) {
		return errors.New("a tampered entry verified: this must never happen")
	}
	fmt.Println("  -> rejected: the entry no longer matches the signed tree.")
	fmt.Printf("\nRun again to append to the same ledger; delete %s to start over.\n", dir)
	return nil
}

func printReceipt(title string, r *ledger.Receipt) {
	c := checkpointOf(r.Checkpoint)
	fmt.Printf("%s\n  index        %d\n  leaf hash    %v\n  checkpoint   size %d, root %v\n  proof        %d hashes\n",
		title, r.Index, merkle.HashLeaf(r.Leaf), c.Size, c.Root, len(r.Proof))
	if text, err := r.MarshalText(); err == nil {
		fmt.Printf("  receipt      %d bytes, first line %q\n", len(text), strings.SplitN(string(text), "\n", 2)[0])
	}
	fmt.Println()
}

func checkpointOf(signed []byte) ledger.Checkpoint {
	c, err := ledger.ParseSignedCheckpoint(signed) // our own log's note; verified by v elsewhere
	if err != nil {
		panic(err)
	}
	return c
}

func kindName(k ledger.Kind) string {
	switch k {
	case ledger.KindRecordAnchored:
		return "record anchored"
	case ledger.KindRecordAccessed:
		return "record accessed"
	}
	return fmt.Sprintf("kind %#04x", uint16(k))
}

type demoKeys struct {
	signer, verifier string
	tagger           *privacy.Tagger
	vault            *privacy.Vault
}

// loadOrCreateKeys keeps the demo's keys in files next to the database. A
// real deployment keeps the signing key in a Tink keyset under a KMS key
// (see package ledger/tinksigner), and uses the KMS key as the
// key-encryption key; the demo's key-encryption key is a cleartext Tink
// keyset in a file, for development only.
func loadOrCreateKeys(dir string) (*demoKeys, error) {
	skPath, vkPath := filepath.Join(dir, "signer.key"), filepath.Join(dir, "verifier.key")
	kekPath, tagPath := filepath.Join(dir, "kek.dev-only.json"), filepath.Join(dir, "tagger.keyset")
	k := &demoKeys{}
	sk, err1 := os.ReadFile(skPath)
	vk, err2 := os.ReadFile(vkPath)
	if err1 == nil && err2 == nil {
		k.signer, k.verifier = strings.TrimSpace(string(sk)), strings.TrimSpace(string(vk))
	} else {
		skey, vkey, err := ledger.GenerateKey(origin)
		if err != nil {
			return nil, err
		}
		for path, data := range map[string][]byte{skPath: []byte(skey + "\n"), vkPath: []byte(vkey + "\n")} {
			if err := os.WriteFile(path, data, 0o600); err != nil {
				return nil, err
			}
		}
		k.signer, k.verifier = skey, vkey
	}
	kek, err := loadOrCreateKEK(kekPath)
	if err != nil {
		return nil, err
	}
	if f, err := os.Open(tagPath); err == nil {
		defer f.Close()
		if k.tagger, err = privacy.ReadTagger(f, kek, origin); err != nil {
			return nil, err
		}
	} else {
		h, err := privacy.NewTaggerKeyset()
		if err != nil {
			return nil, err
		}
		if k.tagger, err = privacy.NewTagger(h, origin); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := k.tagger.WriteEncrypted(&buf, kek); err != nil {
			return nil, err
		}
		if err := os.WriteFile(tagPath, buf.Bytes(), 0o600); err != nil {
			return nil, err
		}
	}
	keyStore, err := filekeystore.Open(filekeystore.Config{Dir: filepath.Join(dir, "data-keys")})
	if err != nil {
		return nil, err
	}
	k.vault, err = privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: keyStore})
	return k, err
}

// loadOrCreateKEK returns the demo's key-encryption AEAD, from a cleartext
// keyset file (development only; production uses a KMS key).
func loadOrCreateKEK(path string) (tink.AEAD, error) {
	var h *keyset.Handle
	if data, err := os.ReadFile(path); err == nil {
		if h, err = insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(data))); err != nil {
			return nil, err
		}
	} else {
		if h, err = keyset.NewHandle(aead.AES256GCMKeyTemplate()); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			return nil, err
		}
	}
	return aead.New(h)
}
