package records

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// The rules below are the IHE BALP 1.1.3 profiles' constraints
// (https://profiles.ihe.net/ITI/BALP/, FSH sources input/fsh/PatientRead.fsh,
// PatientCreate.fsh, PatientUpdate.fsh, PatientQuery.fsh, AuthZ.fsh of
// github.com/IHE/ITI.BasicAudit), encoded as checks on the JSON. Each
// check names the profile element it comes from.

type js = map[string]any

func arr(v any) []any { a, _ := v.([]any); return a }
func o(v any) js      { m, _ := v.(js); return m }

func hasCoding(v any, system, code string) bool {
	m := o(v)
	if m["system"] == system && m["code"] == code {
		return true
	}
	for _, c := range arr(m["coding"]) {
		if o(c)["system"] == system && o(c)["code"] == code {
			return true
		}
	}
	return false
}

// slice returns the elements of list whose "type" matches system#code.
func slice(list any, system, code string) []js {
	var out []js
	for _, e := range arr(list) {
		if hasCoding(o(e)["type"], system, code) {
			out = append(out, o(e))
		}
	}
	return out
}

func hasWho(m js) bool {
	w := o(m["who"])
	return w["reference"] != nil || o(w["identifier"])["value"] != nil
}

// checkR4 checks AuditEvent R4 base cardinalities: type 1..1, recorded
// 1..1, agent 1..* each with requestor 1..1, source 1..1 with observer 1..1.
func checkR4(t *testing.T, ae js) {
	require.Equal(t, "AuditEvent", ae["resourceType"])
	require.NotNil(t, ae["type"], "AuditEvent.type 1..1")
	require.NotEmpty(t, ae["recorded"], "AuditEvent.recorded 1..1")
	require.NotEmpty(t, arr(ae["agent"]), "AuditEvent.agent 1..*")
	for _, a := range arr(ae["agent"]) {
		require.Contains(t, o(a), "requestor", "AuditEvent.agent.requestor 1..1")
	}
	require.NotNil(t, o(o(ae["source"])["observer"]), "AuditEvent.source.observer 1..1")
}

// checkPatientEntity: entity[patient] 1..1, type audit-entity-type#1,
// role object-role#1, what 1..1 Reference(Patient).
func checkPatientEntity(t *testing.T, ae js) {
	p := slice(ae["entity"], systemEntityType, "1")
	require.Len(t, p, 1, "entity[patient] 1..1")
	require.True(t, hasCoding(p[0]["role"], systemObjectRole, "1"), "entity[patient].role = object-role#1")
	require.Equal(t, "Patient", o(p[0]["what"])["type"], "entity[patient].what only Reference(Patient)")
	require.NotNil(t, o(o(p[0]["what"])["identifier"])["value"], "entity[patient].what 1..1")
}

// checkClientServer: agent[client] and agent[server] 1..1 each with who
// 1..1, network 1..1, media 0..0; types DCM 110152/110153 as the profile
// assigns them (read: client 110152, server 110153; create, update and
// query: the reverse).
func checkClientServer(t *testing.T, ae js, clientCode, serverCode string) {
	for _, code := range []string{clientCode, serverCode} {
		s := slice(ae["agent"], systemDCM, code)
		require.Len(t, s, 1, "agent slice DCM#%s 1..1", code)
		require.True(t, hasWho(s[0]), "agent.who 1..1")
		require.NotEmpty(t, o(s[0]["network"])["address"], "agent.network 1..1")
		require.NotContains(t, s[0], "media", "agent.media 0..0")
	}
}

// checkUser: agent[user] 0..1 with the given type, who 1..1,
// requestor = true, network 0..0.
func checkUser(t *testing.T, ae js, system, code string) js {
	u := slice(ae["agent"], system, code)
	require.Len(t, u, 1, "agent[user] with type %s", code)
	require.True(t, hasWho(u[0]), "agent[user].who 1..1")
	require.Equal(t, true, u[0]["requestor"], "agent[user].requestor = true")
	require.NotContains(t, u[0], "network", "agent[user].network 0..0")
	return u[0]
}

func checkRest(t *testing.T, ae js, action string, subtypes ...string) {
	require.True(t, hasCoding(ae["type"], systemAuditEventType, "rest"), "type = audit-event-type#rest")
	require.Equal(t, action, ae["action"], "action")
	require.Equal(t, "0", ae["outcome"], "outcome = #0 Success")
	found := false
	for _, st := range arr(ae["subtype"]) {
		for _, want := range subtypes {
			if hasCoding(st, systemRestful, want) {
				found = true
			}
		}
	}
	require.True(t, found, "subtype slice from %v 1..1", subtypes)
}

// checkData: entity[data] 1..1 with type audit-entity-type#2, role from
// RestObjectRoles (object-role 4, 3 or 20) and what 1..1.
func checkData(t *testing.T, ae js) {
	d := slice(ae["entity"], systemEntityType, "2")
	require.Len(t, d, 1, "entity[data] 1..1")
	require.True(t, hasCoding(d[0]["role"], systemObjectRole, "4") || hasCoding(d[0]["role"], systemObjectRole, "3") ||
		hasCoding(d[0]["role"], systemObjectRole, "20"), "entity[data].role from RestObjectRoles")
	require.NotNil(t, d[0]["what"], "entity[data].what 1..1")
}

func checkPatientRead(t *testing.T, ae js) {
	checkRest(t, ae, "R", "read", "vread")
	checkClientServer(t, ae, "110152", "110153")
	checkUser(t, ae, systemParticipation, "IRCP")
	checkData(t, ae)
	checkPatientEntity(t, ae)
	require.GreaterOrEqual(t, len(arr(ae["entity"])), 2, "PatientRead entity 2..")
}

func checkPatientCreate(t *testing.T, ae js, action, subtype string) {
	checkRest(t, ae, action, subtype)
	checkClientServer(t, ae, "110153", "110152")
	// agent[user].type from DataSources: AUT, INF or CST.
	ok := len(slice(ae["agent"], systemParticipation, "AUT"))+len(slice(ae["agent"], systemParticipation, "INF"))+
		len(slice(ae["agent"], systemParticipation, "CST")) == 1
	require.True(t, ok, "agent[user].type from DataSources")
	checkData(t, ae)
	checkPatientEntity(t, ae)
}

func checkPatientQuery(t *testing.T, ae js) {
	checkRest(t, ae, "E", "search", "search-type", "search-system")
	checkClientServer(t, ae, "110153", "110152")
	checkUser(t, ae, systemParticipation, "IRCP")
	q := slice(ae["entity"], systemEntityType, "2")
	require.Len(t, q, 1, "entity[query] 1..1")
	require.True(t, hasCoding(q[0]["role"], systemObjectRole, "24"), "entity[query].role = object-role#24")
	require.NotContains(t, q[0], "what", "entity[query].what 0..0")
	require.NotContains(t, q[0], "detail", "entity[query].detail 0..0")
	_, err := base64.StdEncoding.DecodeString(q[0]["query"].(string))
	require.NoError(t, err, "entity[query].query 1..1 base64Binary")
	checkPatientEntity(t, ae)
}

func checkAuthZConsent(t *testing.T, ae js, allowed bool) {
	require.True(t, hasCoding(ae["type"], systemDCM, "110113"), "type = DCM#110113")
	require.True(t, hasCoding(arr(ae["subtype"])[0], systemAuthZSubtype, "AuthZ-Consent"), "subtype from AuthZsubTypeVS")
	require.Equal(t, "E", ae["action"], "action = #E")
	if allowed {
		require.Equal(t, "0", ae["outcome"], "outcome success when Permit")
	} else {
		require.Equal(t, "8", ae["outcome"], "outcome failure when Deny")
		require.NotEmpty(t, ae["outcomeDesc"], "outcomeDesc explains a deny")
	}
	require.GreaterOrEqual(t, len(arr(ae["agent"])), 2, "agent 2..*")
	client := slice(ae["agent"], systemDCM, "110150")
	require.Len(t, client, 1, "agent[client] 1..1")
	require.NotEmpty(t, o(client[0]["network"])["address"], "agent[client].network 1..1")
	require.NotContains(t, client[0], "purposeOfUse", "agent[client].purposeOfUse 0..0")
	checkUser(t, ae, systemParticipation, "IRCP")
	org := slice(ae["agent"], systemRoleClass, "PROV")
	require.Len(t, org, 1, "agent[userorg] 1..1")
	require.Equal(t, false, org[0]["requestor"], "agent[userorg].requestor = false")
	auth := slice(ae["agent"], systemSecurityRole, "authserver")
	require.Len(t, auth, 1, "agent[authorizer] 1..1")
	require.Equal(t, o(auth[0]["who"]), o(o(ae["source"])["observer"]), "val-audit-source: the authorizer is source.observer")
	checkPatientEntity(t, ae)
	consents := slice(ae["entity"], systemResourceTypes, "Consent")
	require.NotEmpty(t, consents, "entity[consent] 1..*")
	for _, c := range consents {
		require.NotNil(t, c["what"], "entity[consent].what 1..1")
	}
	// entity slicing is closed: patient, consent, token only.
	require.Len(t, arr(ae["entity"]), 1+len(consents), "entity slicing closed")
}

// checkBreakGlass: BALP has no break-glass profile; FHIR marks it with
// purposeOfUse BTG and the BTG security label (v3-ActReason).
func checkBreakGlass(t *testing.T, ae js) {
	u := checkUser(t, ae, systemParticipation, "IRCP")
	found := false
	for _, p := range arr(u["purposeOfUse"]) {
		found = found || hasCoding(p, systemActReason, "BTG")
	}
	require.True(t, found, "agent[user].purposeOfUse includes BTG")
	require.True(t, hasCoding(arr(o(ae["meta"])["security"])[0], systemActReason, "BTG"), "meta.security BTG")
}

func TestAuditBundleBALP(t *testing.T) {
	r := newRig(t)
	rep := r.day(t)
	b, err := rep.AuditBundle(AuditConfig{Site: "clinic.example", ServerAddress: "https://fhir.clinic.example"})
	require.NoError(t, err)
	var bundle js
	require.NoError(t, json.Unmarshal(b, &bundle))
	require.Equal(t, "Bundle", bundle["resourceType"])
	require.Equal(t, "collection", bundle["type"])
	entries := arr(bundle["entry"])
	require.Len(t, entries, len(rep.Events))
	seen := map[string]int{}
	for i, e := range entries {
		ae := o(o(e)["resource"])
		ev := rep.Events[i]
		t.Run(string(ev.Type), func(t *testing.T) {
			checkR4(t, ae)
			profiles := arr(o(ae["meta"])["profile"])
			switch {
			case ev.Access != nil && ev.Access.Action == ActionRead:
				require.Equal(t, []any{ProfilePatientRead}, profiles)
				checkPatientRead(t, ae)
				seen["read"]++
				if ev.Access.BreakGlass {
					checkBreakGlass(t, ae)
					seen["break-glass"]++
				}
			case ev.Access != nil && ev.Access.Action == ActionUpdate:
				require.Equal(t, []any{ProfilePatientUpdate}, profiles)
				checkPatientCreate(t, ae, "U", "update")
				seen["update"]++
			case ev.Access != nil && ev.Access.Action == ActionQuery:
				require.Equal(t, []any{ProfilePatientQuery}, profiles)
				checkPatientQuery(t, ae)
				seen["query"]++
			case ev.Decision != nil:
				require.Equal(t, []any{ProfileAuthZConsent}, profiles)
				checkAuthZConsent(t, ae, ev.Decision.Decision.Allowed)
				if ev.Decision.Decision.BreakGlass {
					checkBreakGlass(t, ae)
				}
				seen["decision"]++
			default:
				checkPatientEntity(t, ae)
				seen["other"]++
			}
		})
	}
	require.Equal(t, map[string]int{"read": 2, "break-glass": 1, "update": 1, "query": 1, "decision": 5, "other": 4}, seen)
}

func TestAuditEventCreate(t *testing.T) {
	ev := Event{Index: 9, Type: EventAccess, Writer: "did:hl:ehr", Access: &AccessStatement{Action: ActionCreate,
		Patient: "did:hl:p", Actor: "did:hl:dr", Purpose: "TREAT", ResourceType: "Observation", ID: "x", DecisionIndex: 8}}
	ae := ev.auditEvent("did:hl:p", AuditConfig{}.withDefaults())
	b, err := json.Marshal(ae)
	require.NoError(t, err)
	var back js
	require.NoError(t, json.Unmarshal(b, &back))
	checkR4(t, back)
	require.Equal(t, []any{ProfilePatientCreate}, arr(o(back["meta"])["profile"]))
	checkPatientCreate(t, back, "C", "create")
}
