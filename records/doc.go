// Package records is healthledger's domain package for health records: it
// anchors FHIR resource versions and raw documents, records every access
// to an anchored version together with the consent decision that allowed
// it, builds one report per patient, and exports accesses as FHIR
// AuditEvents following IHE BALP.
//
// # Anchoring
//
// [Service.Anchor] computes the canonical form v1 of a FHIR R4/R5 JSON
// resource ([Canonicalize]: FHIR's JSON canonicalization, members sorted,
// no insignificant whitespace, decimals and strings exactly as received,
// meta.versionId, meta.lastUpdated and text excluded; SPEC.md says exactly
// how) and its SHA-256 digest. The ledger entry carries only a salted
// commitment to the anchor statement (patient, resource type, id, version,
// digest): a plain digest of a small resource could be confirmed by
// guessing its few unknown values. The statement and salt are sealed
// beside the tree and returned in an [Anchor], the proof to hand to
// whoever must later check the record; [VerifyAnchored] answers "is this
// exactly the version that was anchored?" with the proof and the log's
// public key alone, and a [*MismatchError] naming what differs.
// [Service.AnchorDocument] anchors PDF, DICOM or any bytes by their digest.
//
// # Access
//
// [Service.RecordAccess] checks an access (read, create, update, share,
// export, print, query) with consent.Registry.Authorize, which decides and
// records the decision, and only if it allows the access appends an access
// entry committing to the action, actor, purpose, the anchored version's
// commitment and index, and the decision's index. A denial is a
// [*RefusedError] and no access entry is written.
//
// # Report
//
// [Service.Report] lists every anchor, access, consent grant and
// revocation, decision and break-glass event about a patient, in time
// order, each with a receipt (consents a custodian recorded on the
// patient's behalf, and decisions made under them, are marked: see
// [Event.OnBehalf]); [Report.Verify] checks each with only public
// keys; the report renders as JSON ([Report.MarshalJSON]), as a FHIR
// Bundle of AuditEvents ([Report.AuditBundle], IHE BALP) and as a
// self-contained HTML page ([Report.WriteHTML]). An entry whose details
// were erased (ledger.Log.Erase) stays in the report as an [EventErased]
// with its leaf's kind, time and writer and the erasure's receipt;
// [Report.Verify] checks that the erasure really covers it (SPEC.md,
// "Erased entries").
//
// # Threat model
//
// As in package consent: the log operator cannot alter or hide an entry
// without detection, and cannot forge an EHR's or patient's signature. The
// EHR can anchor a false record or skip recording an access; it cannot
// later deny what it anchored or recorded. Readers of the log see an
// entry's kind, a keyed subject tag, its time, its writer and a salted
// commitment: not the patient, the record, the actor or the purpose.
// Details of consent entries are sealed by package consent and can be
// checked offline only for inclusion and signature; anchors and accesses
// are bound to their leaf by their commitment, which the salt in the
// report opens.
package records
