package records

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Code systems and profiles used by the AuditEvent export.
const (
	systemAuditEventType = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	systemRestful        = "http://hl7.org/fhir/restful-interaction"
	systemDCM            = "http://dicom.nema.org/resources/ontology/DCM"
	systemParticipation  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	systemRoleClass      = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
	systemActReason      = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	systemEntityType     = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	systemObjectRole     = "http://terminology.hl7.org/CodeSystem/object-role"
	systemOutcome        = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"
	systemSourceType     = "http://terminology.hl7.org/CodeSystem/security-source-type"
	systemSecurityRole   = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
	systemAuthZSubtype   = "https://profiles.ihe.net/ITI/BALP/CodeSystem/AuthZsubType"
	systemLifecycle      = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
	systemNetworkType    = "http://hl7.org/fhir/network-type"
	systemResourceTypes  = "http://hl7.org/fhir/resource-types"
	systemHealthledger   = "https://healthledger.invalid/CodeSystem/ledger"

	// extensionOnBehalfOf marks an agent acting on behalf of another (FHIR
	// extensions pack, AuditEvent.agent): a custodian recording a consent
	// for the patient.
	extensionOnBehalfOf = "http://hl7.org/fhir/StructureDefinition/auditevent-OnBehalfOf"

	balp = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/"
	// ProfilePatientRead and the others are the IHE BALP profiles the
	// export claims in meta.profile.
	ProfilePatientRead   = balp + "IHE.BasicAudit.PatientRead"
	ProfilePatientCreate = balp + "IHE.BasicAudit.PatientCreate"
	ProfilePatientUpdate = balp + "IHE.BasicAudit.PatientUpdate"
	ProfilePatientQuery  = balp + "IHE.BasicAudit.PatientQuery"
	ProfileAuthZConsent  = balp + "IHE.BasicAudit.AuthZconsent"
)

// AuditConfig says how the exporting deployment names itself in
// AuditEvents. Zero fields mean their documented defaults.
type AuditConfig struct {
	// Site is AuditEvent.source.site. Default "healthledger".
	Site string
	// ServerAddress is the network address of the EHR's FHIR server
	// (agent[server].network). Default "unknown".
	ServerAddress string
	// Organization is the DID of the deployment's organization, used as
	// agent[userorg] when the actor names none. Default: the writer.
	Organization string
}

type obj = map[string]any

func coding(system, code string) obj { return obj{"system": system, "code": code} }

func concept(system, code string) obj { return obj{"coding": []any{coding(system, code)}} }

func identRef(value string) obj {
	return obj{"identifier": obj{"system": "urn:ietf:rfc:3986", "value": value}}
}

func patientRef(did string) obj {
	r := identRef(did)
	r["type"] = "Patient"
	return r
}

func (c AuditConfig) withDefaults() AuditConfig {
	if c.Site == "" {
		c.Site = "healthledger"
	}
	if c.ServerAddress == "" {
		c.ServerAddress = "unknown"
	}
	return c
}

// AuditBundle renders the report as a FHIR R4 Bundle (type collection) of
// AuditEvents: each access as the IHE BALP pattern of its action
// (PatientRead for read, share, export and print; PatientCreate;
// PatientUpdate; PatientQuery), a break-glass access as PatientRead with
// purposeOfUse and security label BTG, each consent decision as
// AuthZconsent, and anchors, grants and revocations as plain R4
// AuditEvents (BALP has no pattern for them), and an erased entry as a
// plain R4 AuditEvent of its erasure (action D, ISO 21089 destroy) that
// names the erased entry and says nothing of its content. SPEC.md,
// "AuditEvent export", lists every element. Each AuditEvent names its
// ledger index.
func (r *Report) AuditBundle(cfg AuditConfig) ([]byte, error) {
	cfg = cfg.withDefaults()
	entries := make([]any, 0, len(r.Events))
	for i := range r.Events {
		ae := r.Events[i].auditEvent(r.Patient, cfg)
		entries = append(entries, obj{"fullUrl": "urn:healthledger:entry:" + strconv.FormatUint(r.Events[i].Index, 10), "resource": ae})
	}
	b := obj{"resourceType": "Bundle", "type": "collection", "timestamp": r.Generated.Format(time.RFC3339Nano), "entry": entries}
	return json.MarshalIndent(b, "", "  ")
}

func (ev *Event) auditEvent(patient string, cfg AuditConfig) obj {
	ae := obj{
		"resourceType": "AuditEvent",
		"id":           "ledger-" + strconv.FormatUint(ev.Index, 10),
		"recorded":     ev.Time.UTC().Format(time.RFC3339Nano),
		"source": obj{"site": cfg.Site, "observer": identRef(ev.Writer),
			"type": []any{coding(systemSourceType, "4")}},
	}
	ledgerDetail := obj{"type": "ledger-index", "valueString": strconv.FormatUint(ev.Index, 10)}
	patientEntity := obj{"what": patientRef(patient), "type": coding(systemEntityType, "1"), "role": coding(systemObjectRole, "1")}
	switch {
	case ev.Type == EventErased:
		ev.erasedAuditEvent(ae, patientEntity, ledgerDetail)
	case ev.Access != nil:
		ev.accessAuditEvent(ae, cfg, patientEntity, ledgerDetail)
	case ev.Decision != nil:
		ev.decisionAuditEvent(ae, cfg, patientEntity, ledgerDetail)
	default:
		ev.otherAuditEvent(ae, patientEntity, ledgerDetail)
	}
	return ae
}

func (ev *Event) accessAuditEvent(ae obj, cfg AuditConfig, patientEntity, ledgerDetail obj) {
	st := ev.Access
	client := st.Client
	if client == "" {
		client = ev.Writer
	}
	clientAddr := st.ClientAddress
	if clientAddr == "" {
		clientAddr = "unknown"
	}
	user := obj{"who": identRef(st.Actor), "requestor": true,
		"purposeOfUse": []any{concept(systemActReason, st.Purpose)}}
	clientAgent := obj{"who": identRef(client), "requestor": false, "network": obj{"address": clientAddr, "type": "5"}}
	serverAgent := obj{"who": identRef(ev.Writer), "requestor": false, "network": obj{"address": cfg.ServerAddress, "type": "5"}}
	ae["type"] = coding(systemAuditEventType, "rest")
	ae["outcome"] = "0"
	details := []any{ledgerDetail,
		obj{"type": "decision-index", "valueString": strconv.FormatUint(st.DecisionIndex, 10)},
		obj{"type": "action", "valueString": st.Action.String()}}
	data := obj{"type": coding(systemEntityType, "2"), "role": coding(systemObjectRole, "4")}
	if st.Action != ActionQuery {
		data["what"] = obj{"reference": st.ResourceType + "/" + st.ID}
		details = append(details,
			obj{"type": "anchor-index", "valueString": strconv.FormatUint(st.AnchorIndex, 10)},
			obj{"type": "anchor-commitment", "valueString": st.AnchorCommitment.String()})
	}
	switch st.Action {
	case ActionCreate, ActionUpdate:
		profile, code, action := ProfilePatientCreate, "create", "C"
		if st.Action == ActionUpdate {
			profile, code, action = ProfilePatientUpdate, "update", "U"
		}
		ae["meta"] = obj{"profile": []any{profile}}
		ae["subtype"] = []any{coding(systemRestful, code)}
		ae["action"] = action
		clientAgent["type"] = concept(systemDCM, "110153")
		serverAgent["type"] = concept(systemDCM, "110152")
		user["type"] = concept(systemParticipation, "AUT")
	case ActionQuery:
		ae["meta"] = obj{"profile": []any{ProfilePatientQuery}}
		ae["subtype"] = []any{coding(systemRestful, "search-type")}
		ae["action"] = "E"
		clientAgent["type"] = concept(systemDCM, "110153")
		serverAgent["type"] = concept(systemDCM, "110152")
		user["type"] = concept(systemParticipation, "IRCP")
		data = obj{"type": coding(systemEntityType, "2"), "role": coding(systemObjectRole, "24"),
			"query": base64.StdEncoding.EncodeToString([]byte(st.Query))}
	default: // read, share, export, print
		ae["meta"] = obj{"profile": []any{ProfilePatientRead}}
		ae["subtype"] = []any{coding(systemRestful, "vread")}
		ae["action"] = "R"
		clientAgent["type"] = concept(systemDCM, "110152")
		serverAgent["type"] = concept(systemDCM, "110153")
		user["type"] = concept(systemParticipation, "IRCP")
		if st.Action != ActionRead {
			ae["subtype"] = []any{coding(systemRestful, "vread"), coding(systemLifecycle, lifecycleCode(st.Action))}
		}
	}
	if st.BreakGlass {
		markBreakGlass(ae, user)
	}
	patientEntity["detail"] = details
	ae["agent"] = []any{clientAgent, serverAgent, user}
	ae["entity"] = []any{data, patientEntity}
}

// lifecycleCode is the ISO 21089 lifecycle event of a disclosure.
func lifecycleCode(a Action) string {
	switch a {
	case ActionShare:
		return "disclose"
	case ActionExport:
		return "transmit"
	}
	return "report" // print
}

// markBreakGlass adds BTG as purpose of use and as a security label (FHIR
// security labels: BTG, "break the glass").
func markBreakGlass(ae obj, user obj) {
	pou := user["purposeOfUse"].([]any)
	hasBTG := false
	for _, p := range pou {
		if p.(obj)["coding"].([]any)[0].(obj)["code"] == "BTG" {
			hasBTG = true
		}
	}
	if !hasBTG {
		user["purposeOfUse"] = append(pou, concept(systemActReason, "BTG"))
	}
	meta, _ := ae["meta"].(obj)
	if meta == nil {
		meta = obj{}
		ae["meta"] = meta
	}
	meta["security"] = []any{coding(systemActReason, "BTG")}
}

func (ev *Event) decisionAuditEvent(ae obj, cfg AuditConfig, patientEntity, ledgerDetail obj) {
	rec := ev.Decision
	req := &rec.Request
	org := req.Actor.Organization
	if org == "" {
		org = cfg.Organization
	}
	if org == "" {
		org = ev.Writer
	}
	ae["meta"] = obj{"profile": []any{ProfileAuthZConsent}}
	ae["type"] = coding(systemDCM, "110113")
	ae["subtype"] = []any{coding(systemAuthZSubtype, "AuthZ-Consent")}
	ae["action"] = "E"
	ae["outcome"] = "0"
	if !rec.Decision.Allowed {
		ae["outcome"] = "8"
		ae["outcomeDesc"] = "Consent denied access (" + rec.Decision.Reason.String() + ")"
	}
	ae["purposeOfEvent"] = []any{concept(systemActReason, req.Purpose.String())}
	user := obj{"type": concept(systemParticipation, "IRCP"), "who": identRef(req.Actor.DID), "requestor": true,
		"purposeOfUse": []any{concept(systemActReason, req.Purpose.String())}}
	if len(req.Actor.Roles) > 0 {
		var roles []any
		for _, r := range req.Actor.Roles {
			roles = append(roles, obj{"text": r})
		}
		user["role"] = roles
	}
	ae["agent"] = []any{
		obj{"type": concept(systemDCM, "110150"), "who": identRef(ev.Writer), "requestor": false,
			"network": obj{"address": cfg.ServerAddress, "type": "5"}},
		user,
		obj{"type": concept(systemRoleClass, "PROV"), "who": identRef(org), "requestor": false},
		obj{"type": concept(systemSecurityRole, "authserver"), "who": identRef(ev.Writer), "requestor": false},
	}
	patientEntity["detail"] = []any{ledgerDetail}
	entities := []any{patientEntity}
	for _, b := range rec.Decision.Basis {
		ent := obj{"type": coding(systemResourceTypes, "Consent"), "what": identRef("urn:healthledger:consent:" + b.Consent.String())}
		if b.Custodial {
			// The consent was recorded by a custodian on the patient's behalf.
			ent["detail"] = []any{obj{"type": "custodial", "valueString": "recorded-on-behalf-of-patient"}}
		}
		entities = append(entities, ent)
	}
	if len(rec.Decision.Basis) == 0 {
		entities = append(entities, obj{"type": coding(systemResourceTypes, "Consent"), "what": identRef("urn:healthledger:policy:" + rec.Decision.Reason.String())})
	}
	// AuthZconsent closes entity slicing to patient, consent and token: the
	// requested resource stays in the report, not in the AuditEvent.
	ae["entity"] = entities
	if rec.Decision.BreakGlass {
		markBreakGlass(ae, user)
	}
}

// otherAuditEvent renders anchors, grants and revocations: plain R4
// AuditEvents with ISO 21089 lifecycle subtypes.
func (ev *Event) otherAuditEvent(ae obj, patientEntity, ledgerDetail obj) {
	ae["type"] = coding(systemDCM, "110100")
	ae["outcome"] = "0"
	ae["agent"] = []any{obj{"who": identRef(ev.Writer), "requestor": true, "type": concept(systemParticipation, "AUT")}}
	if ev.Type == EventCustodialGrant || ev.Type == EventCustodialRevoke {
		ev.custodialAgents(ae, patientEntity)
	}
	entities := []any{patientEntity}
	switch {
	case ev.Anchor != nil:
		ae["subtype"] = []any{coding(systemLifecycle, "attest"), coding(systemHealthledger, "anchor")}
		ae["action"] = "C"
		entities = append(entities, obj{"type": coding(systemEntityType, "2"), "role": coding(systemObjectRole, "4"),
			"what": obj{"reference": anchorRef(ev.Anchor)}, "detail": []any{ledgerDetail}})
	default:
		code, action := string(ev.Type), "C"
		if ev.Type == EventConsentRevoke || ev.Type == EventCustodialRevoke {
			action = "D"
		}
		ae["subtype"] = []any{coding(systemHealthledger, code)}
		ae["action"] = action
		details := []any{ledgerDetail}
		if c := ev.Custodial; c != nil {
			details = append(details,
				obj{"type": "capture-method", "valueString": c.Method.String()},
				obj{"type": "captured-at", "valueString": c.CapturedAt.UTC().Format(time.RFC3339Nano)},
				obj{"type": "form-media-type", "valueString": c.MediaType})
		}
		entities = append(entities, obj{"type": coding(systemResourceTypes, "Consent"),
			"what": identRef("urn:healthledger:consent:" + ev.Consent), "detail": details})
	}
	ae["entity"] = entities
}

func anchorRef(a *AnchorStatement) string {
	if a.Format == FormatRaw {
		return fmt.Sprintf("Binary/%s/_history/%s", a.ID, a.Version)
	}
	return fmt.Sprintf("%s/%s/_history/%s", a.ResourceType, a.ID, a.Version)
}

// custodialAgents renders a custodial grant's or revocation's agents: the
// custodian (the writer) as custodian (v3 ParticipationType CST) acting on
// behalf of the patient (extension auditevent-OnBehalfOf), and the staff
// member who witnessed the capture (WIT), if named.
func (ev *Event) custodialAgents(ae obj, patientEntity obj) {
	custodian := obj{"who": identRef(ev.Writer), "requestor": true, "type": concept(systemParticipation, "CST"),
		"extension": []any{obj{"url": extensionOnBehalfOf, "valueReference": patientEntity["what"]}}}
	agents := []any{custodian}
	if ev.Custodial != nil && ev.Custodial.Witness != "" {
		agents = append(agents, obj{"who": identRef(ev.Custodial.Witness), "requestor": false, "type": concept(systemParticipation, "WIT")})
	}
	ae["agent"] = agents
}

// erasedAuditEvent renders an erased entry as the AuditEvent of its
// erasure: when it happened, who recorded it, on which ground, and which
// ledger entry's details it deleted (index, kind, time and writer, from
// the leaf). It claims no BALP profile: PatientDelete is a RESTful delete
// of a FHIR resource by a client, and an erasure deletes no resource and
// involves no client; it names no resource either (the erased statement
// named it, and it is gone). See SPEC.md, "AuditEvent export".
func (ev *Event) erasedAuditEvent(ae obj, patientEntity, ledgerDetail obj) {
	ae["type"] = coding(systemDCM, "110100")
	ae["subtype"] = []any{coding(systemLifecycle, "destroy"), coding(systemHealthledger, "erasure")}
	ae["action"] = "D"
	ae["outcome"] = "0"
	details := []any{ledgerDetail,
		obj{"type": "erased-kind", "valueString": KindName(ev.ErasedKind)},
		obj{"type": "erased-entry-time", "valueString": ev.Time.UTC().Format(time.RFC3339Nano)},
		obj{"type": "erased-entry-writer", "valueString": ev.Writer}}
	if x, ex := ev.erasure(); x != nil {
		ae["recorded"] = ex.Time.UTC().Format(time.RFC3339Nano)
		ae["source"].(obj)["observer"] = identRef(ex.Writer)
		ae["agent"] = []any{obj{"who": identRef(ex.Writer), "requestor": true, "type": concept(systemParticipation, "AUT")}}
		details = append(details,
			obj{"type": "erased-by", "valueString": strconv.FormatUint(ev.Erasure.Index, 10)},
			obj{"type": "erasure-ground", "valueString": x.Ground})
	} else {
		// Without the erasure's leaf only the erased entry's writer is known.
		ae["agent"] = []any{obj{"who": identRef(ev.Writer), "requestor": false, "type": concept(systemParticipation, "AUT")}}
	}
	entry := obj{"type": coding(systemEntityType, "2"), "what": identRef("urn:healthledger:entry:" + strconv.FormatUint(ev.Index, 10)),
		"detail": details}
	ae["entity"] = []any{patientEntity, entry}
}
