// Command ehr plays a day at a clinic on a healthledger ledger: the
// patient's own consent covers the care team; at the front desk the
// patient signs a paper form for their pharmacy, which the EHR records on
// the patient's behalf (a custodial consent); a lab result is anchored, a
// clinician reads it under the patient's consent and the pharmacist under
// the paper form, a research request is denied, an ER doctor breaks the
// glass (and, first, a misfiled letter's details are erased at the
// patient's request), and the patient's report is printed and then verified by a
// separate verifier that holds nothing but public keys: the log's and the
// writers'. It also checks the scanned paper form against the ledger.
//
//	go run ./examples/ehr                 # prints the day and the report
//	go run ./examples/ehr -html report.html -json report.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/privacy"
	"github.com/healthledger/healthledger/records"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

const origin = "ledger.clinic.example/ehr"

// labResult is an HbA1c Observation as the lab system stored it.
const labResult = `{
  "resourceType": "Observation",
  "id": "hba1c-3",
  "meta": {"versionId": "1", "lastUpdated": "2026-03-11T08:15:00Z"},
  "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
  "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c/Hemoglobin.total in Blood"}]},
  "subject": {"reference": "Patient/example"},
  "effectiveDateTime": "2026-03-11",
  "valueQuantity": {"value": 6.10, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}
}`

const careTeam = "did:hl:team-diabetes"

// The patient's community pharmacy, and the front-desk staff member who
// witnessed the paper form.
const (
	pharmacy  = "did:hl:org-pharmacy-main-street"
	frontDesk = "did:hl:staff-frontdesk-7"
)

// paperForm stands for the scan of the consent form the patient signed on
// paper at the front desk.
const paperForm = "%PDF-1.7 (scan) I allow my pharmacy on Main Street to read my records for my treatment. Signed on paper."

var (
	clinician  = consent.Actor{DID: "did:hl:dr-alice", Teams: []string{careTeam}, Roles: []string{"PRCP"}}
	pharmacist = consent.Actor{DID: "did:hl:pharmacist-bob", Organization: pharmacy}
	researcher = consent.Actor{DID: "did:hl:researcher", Organization: "did:hl:org-university"}
	erDoctor   = consent.Actor{DID: "did:hl:er-doctor", Roles: []string{"ER-PHYSICIAN"}}
)

func main() {
	htmlPath := flag.String("html", "", "write the patient's report as an HTML page to this file")
	jsonPath := flag.String("json", "", "write the patient's report as JSON to this file")
	flag.Parse()
	var htmlOut, jsonOut io.Writer
	for _, p := range []struct {
		path string
		w    *io.Writer
	}{{*htmlPath, &htmlOut}, {*jsonPath, &jsonOut}} {
		if p.path == "" {
			continue
		}
		f, err := os.Create(p.path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ehr example:", err)
			os.Exit(1)
		}
		defer f.Close()
		*p.w = f
	}
	if err := run(context.Background(), os.Stdout, htmlOut, jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "ehr example:", err)
		os.Exit(1)
	}
}

// clinic is the EHR's side: the ledger, identities and services.
type clinic struct {
	log      *ledger.Log
	vkey     string
	patient  *identity.Holder
	ehr      *identity.Holder
	pubkeys  map[string]identity.PublicKey
	registry *consent.Registry
	records  *records.Service
}

func run(ctx context.Context, out, htmlOut, jsonOut io.Writer) error {
	c, err := openClinic(ctx)
	if err != nil {
		return err
	}
	defer c.log.Close()

	// 07:50 A referral letter anchored last week was about another
	// patient; at the patient's request the EHR erases its details. The
	// ledger keeps the proof that an entry existed, when and who erased it.
	erased, err := c.eraseMisfiledLetter(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "erased: the details of entry #%d, at the patient's request (erasure #%d)\n", erased.index, erased.by)

	// 07:55 The patient signs a consent at home: the diabetes care team,
	// for treatment only.
	grant, err := c.registry.GrantEntry(ctx, &consent.Consent{
		Patient: c.patient.DID(), Status: consent.StatusActive, Decision: consent.Deny,
		Grantors: []string{c.patient.DID()}, Grantees: []string{careTeam},
		Provisions: []consent.Provision{{Purposes: []consent.Purpose{consent.PurposeTreat}}},
	}, time.Now().UTC())
	if err != nil {
		return err
	}
	if err := c.patient.SignEntry(grant); err != nil {
		return err
	}
	if _, err := c.registry.Submit(ctx, grant); err != nil {
		return err
	}
	fmt.Fprintln(out, "consent: treatment by the diabetes care team")

	// 08:05 At the front desk the patient signs a paper form for their
	// pharmacy; the EHR records it on the patient's behalf.
	custodial, err := c.frontDeskConsent(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "front desk: paper consent for the pharmacy, recorded on the patient's behalf at index %d\n", custodial.Receipt.Index)

	// 08:15 The lab's result is anchored: the log gets a salted commitment.
	anchor, err := c.records.Anchor(ctx, c.patient.DID(), []byte(labResult))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "anchored %s/%s version %s at index %d\n", anchor.Statement.ResourceType, anchor.Statement.ID,
		anchor.Statement.Version, anchor.Index())

	// 09:30 The clinician reads it; 11:00 a researcher asks; 17:00 the
	// pharmacist; 23:40 the ER.
	requests := []struct {
		who     string
		actor   consent.Actor
		purpose consent.Purpose
	}{
		{"clinician", clinician, consent.PurposeTreat},
		{"researcher", researcher, consent.PurposeResearch},
		{"pharmacist", pharmacist, consent.PurposeTreat},
		{"ER doctor", erDoctor, consent.PurposeBreakTheGlass},
	}
	for _, r := range requests {
		acc, err := c.records.RecordAccess(ctx, &records.AccessRequest{Anchor: anchor, Action: records.ActionRead,
			Actor: r.actor, Purpose: r.purpose, Client: "clinic-ehr-web"})
		var refused *records.RefusedError
		switch {
		case err == nil && acc.Decision.BreakGlass:
			fmt.Fprintf(out, "%-10s %-6s read -> PERMIT (break-glass, patient notified) access #%d, decision #%d\n", r.who, r.purpose, acc.Receipt.Index, acc.Statement.DecisionIndex)
		case err == nil && acc.Decision.Custodial():
			fmt.Fprintf(out, "%-10s %-6s read -> PERMIT (consent recorded on the patient's behalf) access #%d, decision #%d\n", r.who, r.purpose, acc.Receipt.Index, acc.Statement.DecisionIndex)
		case err == nil:
			fmt.Fprintf(out, "%-10s %-6s read -> PERMIT access #%d, decision #%d\n", r.who, r.purpose, acc.Receipt.Index, acc.Statement.DecisionIndex)
		case asRefused(err, &refused):
			fmt.Fprintf(out, "%-10s %-6s read -> DENY, decision #%d, nothing read\n", r.who, r.purpose, refused.DecisionIndex)
		default:
			return err
		}
	}

	// Evening: the patient's report, printed by the EHR...
	rep, err := c.records.Report(ctx, c.patient.DID())
	if err != nil {
		return err
	}
	reportJSON, err := rep.MarshalJSON()
	if err != nil {
		return err
	}
	if jsonOut != nil {
		if _, err := jsonOut.Write(reportJSON); err != nil {
			return err
		}
	}
	// ...and checked by a verifier that never saw the ledger: it gets the
	// report, the lab result and the proof from the patient, and public
	// keys from the clinic's published configuration.
	anchorJSON, err := anchor.MarshalJSON()
	if err != nil {
		return err
	}
	custodialJSON, err := custodial.MarshalJSON()
	if err != nil {
		return err
	}
	keys := map[string]string{}
	for did, k := range c.pubkeys {
		keys[did] = k.Multibase()
	}
	return verifyOffline(out, htmlOut, origin, c.vkey, keys, reportJSON, []byte(labResult), anchorJSON,
		&capturedForm{form: []byte(paperForm), proof: custodialJSON})
}

type erasure struct{ index, by uint64 }

// eraseMisfiledLetter anchors a letter under the patient and erases the
// details of every entry of the patient up to it (the letter alone here),
// as the EHR does on a request under GDPR Art. 17.
func (c *clinic) eraseMisfiledLetter(ctx context.Context) (erasure, error) {
	letter, err := c.records.AnchorDocument(ctx, c.patient.DID(), "application/pdf", "referral-17", "1", []byte("%PDF-1.7 referral letter"))
	if err != nil {
		return erasure{}, err
	}
	tag, err := c.registry.SubjectTag(c.patient.DID())
	if err != nil {
		return erasure{}, err
	}
	ex, err := ledger.NewErasureEntry(tag, letter.Index()+1, "GDPR Art. 17(1)(a), patient request", c.ehr.DID(), time.Now().UTC())
	if err != nil {
		return erasure{}, err
	}
	if err := c.ehr.SignEntry(ex); err != nil {
		return erasure{}, err
	}
	// The registry has the log erase and brings the patient's consents up
	// to date before it returns: an erased grant permits nothing after it.
	rc, err := c.registry.Erase(ctx, c.patient.DID(), ex)
	if err != nil {
		return erasure{}, err
	}
	return erasure{index: letter.Index(), by: rc.Index}, nil
}

// frontDeskConsent records, as the EHR, the paper form the patient signed
// at the front desk: the pharmacy may read their records for treatment.
// The EHR keeps the scan; the ledger gets a salted commitment to its
// digest, and the returned proof opens it.
func (c *clinic) frontDeskConsent(ctx context.Context) (*consent.CustodialProof, error) {
	now := time.Now().UTC()
	e, proof, err := c.registry.CustodialGrantEntry(ctx, &consent.Consent{
		Patient: c.patient.DID(), Status: consent.StatusActive, Decision: consent.Deny,
		Grantors: []string{c.patient.DID()}, Grantees: []string{pharmacy},
		Provisions: []consent.Provision{{Purposes: []consent.Purpose{consent.PurposeTreat}}},
	}, c.ehr.DID(), consent.Capture{Method: consent.CapturePaper, Witness: frontDesk, CapturedAt: now.Add(-time.Minute),
		MediaType: "application/pdf", Form: []byte(paperForm)}, now)
	if err != nil {
		return nil, err
	}
	if err := c.ehr.SignEntry(e); err != nil {
		return nil, err
	}
	if proof.Receipt, err = c.registry.Submit(ctx, e); err != nil {
		return nil, err
	}
	return proof, nil
}

// capturedForm is a form captured at the front desk and the custodian's
// proof of it (JSON), as the verifier receives them.
type capturedForm struct {
	form, proof []byte
}

func asRefused(err error, target **records.RefusedError) bool { return errors.As(err, target) }

// verifyOffline is the separate verifier: it holds only the log's origin
// and verifier key and the writers' public keys (multibase). With a
// captured form, it also checks the form against the custodian's proof.
func verifyOffline(out, htmlOut io.Writer, origin, logKey string, writerKeys map[string]string, reportJSON, resource, anchorJSON []byte, captured *capturedForm) error {
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: logKey})
	if err != nil {
		return err
	}
	keys := records.KeyRing{}
	for did, mb := range writerKeys {
		k, err := identity.ParseMultibase(mb)
		if err != nil {
			return err
		}
		keys[did] = []identity.PublicKey{k}
	}
	var a records.Anchor
	if err := a.UnmarshalJSON(anchorJSON); err != nil {
		return err
	}
	if err := records.VerifyAnchored(resource, &a, v); err != nil {
		return fmt.Errorf("lab result: %w", err)
	}
	if err := a.VerifyWriter(context.Background(), keys); err != nil {
		return fmt.Errorf("lab result writer: %w", err)
	}
	fmt.Fprintln(out, "verifier: the lab result is exactly the anchored version")
	if captured != nil {
		var p consent.CustodialProof
		if err := p.UnmarshalJSON(captured.proof); err != nil {
			return err
		}
		if err := consent.VerifyCapturedForm(captured.form, &p, v); err != nil {
			return fmt.Errorf("paper form: %w", err)
		}
		if err := p.VerifyCustodian(context.Background(), keys); err != nil {
			return fmt.Errorf("paper form custodian: %w", err)
		}
		fmt.Fprintln(out, "verifier: the paper form is exactly the one captured at the front desk")
	}

	rep, err := records.ParseReport(reportJSON)
	if err != nil {
		return err
	}
	results := rep.Verify(context.Background(), v, keys)
	fmt.Fprintf(out, "report: %d events\n", len(rep.Events))
	failed := 0
	for i, ev := range rep.Events {
		status := "verified"
		switch {
		case results[i].Err != nil:
			status, failed = "FAILED: "+results[i].Err.Error(), failed+1
		case ev.Type == records.EventErased:
			status = "verified (details erased)"
		case !results[i].ContentBound:
			status = "verified (details sealed)"
		}
		if ev.OnBehalf() {
			status += " (on the patient's behalf)"
		}
		fmt.Fprintf(out, "  #%-3d %-23s %s\n", ev.Index, ev.Type, status)
	}
	if htmlOut != nil {
		if err := rep.WriteHTML(htmlOut, results); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d report events failed verification", failed)
	}
	fmt.Fprintln(out, "verifier: every event's proof verified with public keys only")
	return nil
}

func openClinic(ctx context.Context) (*clinic, error) {
	resolver, err := identity.NewResolver(identity.Config{})
	if err != nil {
		return nil, err
	}
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		return nil, err
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	log, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin, WriterVerifier: resolver})
	if err != nil {
		return nil, err
	}
	resolver.SetLedger(log)
	c := &clinic{log: log, vkey: vkey, pubkeys: map[string]identity.PublicKey{}}
	if c.patient, err = c.newDID(ctx); err != nil {
		return nil, err
	}
	if c.ehr, err = c.newDID(ctx); err != nil {
		return nil, err
	}
	vault, tagger, err := newPrivacy()
	if err != nil {
		return nil, err
	}
	c.registry, err = consent.NewRegistry(consent.RegistryConfig{
		Log: log, Checker: resolver, Recorder: c.ehr, Sealer: vault, Tagger: tagger,
		Evaluator: consent.Config{NoConsent: consent.OptIn, BreakGlassRoles: []string{"ER-PHYSICIAN"}},
		// The clinic's own EHR may record consents captured at its front desk.
		Custodial: consent.CustodialPolicy{Accept: true, Custodians: []string{c.ehr.DID()}},
	})
	if err != nil {
		return nil, err
	}
	c.records, err = records.New(records.Config{Log: log, Registry: c.registry, Signer: c.ehr, Sealer: vault})
	return c, err
}

// newDID creates a did:hl identity on the ledger and returns its holder
// (its rotation key, which a real holder keeps offline, is dropped here).
func (c *clinic) newDID(ctx context.Context) (*identity.Holder, error) {
	id, err := identity.Create(ctx, c.log, identity.KeyTypeEd25519, time.Now().UTC().Add(-time.Second))
	if err != nil {
		return nil, err
	}
	c.pubkeys[id.Holder.DID()] = id.Holder.Public()
	return id.Holder, nil
}

// newPrivacy returns the deployment's sealer and keyed tagger (a local
// key-encryption key here; a KMS key in production).
func newPrivacy() (*privacy.Vault, *privacy.Tagger, error) {
	kh, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, nil, err
	}
	kek, err := aead.New(kh)
	if err != nil {
		return nil, nil, err
	}
	vault, err := privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: privacy.NewMemoryKeyStore()})
	if err != nil {
		return nil, nil, err
	}
	th, err := privacy.NewTaggerKeyset()
	if err != nil {
		return nil, nil, err
	}
	tagger, err := privacy.NewTagger(th, origin)
	return vault, tagger, err
}
