// Package consent decides access to a patient's health data from the
// patient's consents, and keeps consents and decisions on a healthledger
// ledger so that patients and auditors can check who accessed what, when,
// and under which consent.
//
// # Model
//
// A [Consent] follows FHIR R5 Consent: a patient (a DID), a status, a
// period, grantors and grantees, a policy basis, a base decision (Permit or
// Deny) and nested [Provision] values. Each provision is an exception to
// its parent: where it matches, the decision is reversed. A provision
// matches on actor (DID, team, role, organization), action, purpose of use
// (HL7 v3 ActReason, with specializations: TREAT covers ETREAT and BTG),
// data class (FHIR resource type), security labels (confidentiality
// U/L/M/N/R/V; sensitivities such as HIV, PSY, ETH and SUD under 42 CFR
// Part 2, SDV, STD), codes, period, data period and specific resources.
// Package consent/fhir imports FHIR R4 and R5 Consent JSON.
//
// # Decisions
//
// An [Evaluator] compiles consents into a per-patient index and decides a
// [Request] (patient, actor, action, purpose, resource, time) with no I/O
// and, through [Evaluator.DecideInto], no allocation. The rules:
//
//   - Only active consents whose period covers the request time and whose
//     grantees (if any) include the actor apply.
//   - Inside a consent, the deepest matching provisions decide; among
//     matching siblings a Deny wins.
//   - Across consents, any Deny wins over any Permit.
//   - No applicable consent yields NoConsent, which the deployment default
//     ([OptIn]: deny, [OptOut]: allow) turns into an answer.
//   - Fail closed: a request without a purpose, with an unknown code or
//     missing a required field is an error and a denial; a provision that
//     cannot be evaluated (it constrains the data period and the resource
//     has no date, or names resources and the request names none) makes
//     its consent deny.
//   - Break-glass: an actor holding one of Config.BreakGlassRoles who asks
//     for purpose ETREAT or BTG is allowed even against a denial, with the
//     audit and notify-patient obligations; BTG by anyone else is denied.
//   - Obligations: a permit lists the labels that a deny provision of the
//     consent would exclude (redact resources carrying them).
//   - Custodial consents (recorded by an EHR on the patient's behalf, see
//     below) decide only when none of the patient's own consents applies;
//     the basis of such a decision marks them.
//
// A [Decision] names the consents (by [ID]) and the provision paths it
// relied on.
//
// The index files each consent's top-level provisions by actor, code,
// data class, purpose of use, action or (under a denial) label, and
// consents with grantees by grantee, so a decision evaluates only the
// consents and provisions that can matter to the request; the others
// answer their base decision. Its cost grows with those and with the
// number of consents the decision cites, not with all of the patient's
// consents. Provisions filed under none of these (only labels under a
// permit, periods, data periods, resources), and consents with a period
// but no grantees, are visited by every request.
//
// # Ledger
//
// A [Registry] keeps consents on a ledger (see SPEC.md for the entries):
// grants and revocations are entries written and signed by the patient's
// DID key, checked through a [SignatureChecker] (package identity's
// Resolver implements it); [Registry.DecideInto] decides from the
// replayed consents without I/O; [Registry.Authorize] decides and records each
// decision as an access entry with a receipt; [Registry.Reevaluate]
// rebuilds the consents as they were when a decision was made and decides
// again; [Registry.AccessReport] lists a patient's accesses with a receipt
// for each.
//
// # Custodial consent
//
// A patient who signs a paper form at the front desk, or consents by voice,
// has no key in hand: an EHR's DID (the custodian) records the consent on
// their behalf with [Registry.CustodialGrantEntry], committing with a salt
// to how it was captured (paper, verbal, telephone, electronic-proxy), who
// witnessed it and the SHA-256 of the captured form; [VerifyCapturedForm]
// answers "is this the form that was captured?" from a [CustodialProof]
// and the log's key alone. RegistryConfig.Custodial says whether custodial
// consents count (by default they do not) and which custodians are
// trusted. The patient's own signature takes precedence, on Submit and on
// replay alike: the patient revokes custodial consents, and no custodian
// may grant them again; a custodian cannot revoke or re-grant a consent
// the patient signed, and revokes only its own; and custodial consents
// decide only requests to which none of the patient's own consents
// applies. Decisions made under a custodial consent mark it in their
// [Basis]. SPEC.md, "Custodial consent", numbers the rules.
//
// # Threat model
//
// The ledger operator and the recording service cannot forge a consent
// (grants must verify under a key the patient's DID held at the entry's
// time; custodial grants, only if the deployment accepts them, under a
// key of a custodian it trusts, which can then record a consent the
// patient did not give: it is signed, attributable and flagged as
// custodial in the patient's report, and cannot override the patient's
// own consents) nor hide or rewrite a recorded decision (entries are in a Merkle
// log with signed checkpoints). A recording service can still decide
// wrongly or not record at all; re-evaluation detects the first, and only
// decisions that went through Authorize appear in the access report. A
// holder of a patient key that was later revoked can date a grant before
// the key's revocation; how far back depends on the ledger (see Ordering
// below).
//
// # Privacy
//
// A Registry seals every consent and access body with its [Sealer] (a
// *privacy.Vault: a data key per patient, wrapped by a KMS key, the body
// bound to its entry's kind and time) and files a patient's entries under
// a keyed tag from its [Tagger] (a *privacy.Tagger), which only the
// deployment can compute from a DID. Readers of the log see kinds, keyed
// tags, times and the writer of each entry: an access entry names the
// recording service, never the patient, the actor, the resource or the
// purpose. A grant or revocation names its writer, the patient's DID, so
// that anyone can check the patient's signature; a deployment that must
// keep patients' DIDs off the log gives each patient a DID for that
// deployment alone. Erasing a patient's key ([Registry.EraseKey], which
// calls privacy.Vault.EraseSubject and updates the patient's state) makes
// all their bodies unreadable: their consents then no longer count
// (decisions fall back to the no-consent default) and their access
// records no longer open. Storing bodies in clear or tagging with the
// public DID takes the visibly named RegistryConfig.InsecureClearBodies
// and InsecurePublicTags, for tests and demos.
//
// # Ordering
//
// A patient's grants and revocations take effect in ledger index order,
// the order in which the log integrated them, whatever times their
// writers claim: a revocation integrated after a grant revokes it even if
// its writer's clock was behind. An entry's time is used only to check
// that the patient's key was valid then, and to refuse a grant of a
// consent dated at or before an applied revocation of that same consent
// ([ErrOutOfOrder]), so that a grant cannot undo a revocation it claims to
// predate. [Registry.Submit] also refuses entries dated more than
// RegistryConfig.MaxClockSkew from its clock, but entries other writers
// append directly to the log are only checked on replay. What a
// deployment can rely on:
//
//   - With a ledger that refuses, at append, entries whose time is more
//     than its skew (default 5 minutes) from the log's own clock, every
//     entry's time is its integration time to within that skew: a key
//     revoked at T signs nothing integrated after T plus the skew, and
//     time order agrees with index order to within twice the skew.
//   - Without that check, only index order holds: an entry appended
//     directly to the log may claim any time at which the key was valid,
//     so the holder of a since-revoked key can still get a back-dated grant
//     (of a consent not revoked after that date) accepted on replay.
//
// Errors never contain values from consents or requests (codes, DIDs,
// resource ids): only element paths and sentinel descriptions.
package consent
