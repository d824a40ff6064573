package consent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/healthledger/healthledger/ledger"
)

// Log is the part of a ledger a [Registry] uses. *ledger.Log implements
// it. Implementations MUST be safe for concurrent use, and Append MUST
// return only once the entry is durable and in the tree. A Log that is
// also an [Eraser] (*ledger.Log is) lets [Registry.Erase] erase.
type Log interface {
	// Append appends an entry and returns its receipt.
	Append(ctx context.Context, e *ledger.Entry) (*ledger.Receipt, error)
	// Entry returns the entry at index.
	Entry(ctx context.Context, index uint64) (*ledger.Entry, error)
	// Receipt returns a receipt for the entry at index against the latest checkpoint.
	Receipt(ctx context.Context, index uint64) (*ledger.Receipt, error)
	// BySubject returns up to limit indices of entries with the subject tag,
	// in increasing order, from start (inclusive).
	BySubject(ctx context.Context, s ledger.SubjectTag, start uint64, limit int) ([]uint64, error)
}

// SignatureChecker checks that signature is a signature over message by a
// key that the DID held at time at. *identity.Resolver implements it. It
// MUST fail for a key rotated away or revoked before at, and MUST be safe
// for concurrent use.
type SignatureChecker interface {
	CheckSignature(ctx context.Context, did string, message, signature []byte, at time.Time) error
}

// EntrySigner signs a ledger entry as its writer, setting Writer and
// Signature. *identity.Holder implements it.
type EntrySigner interface {
	SignEntry(e *ledger.Entry) error
}

// Sealer encrypts entry bodies under a per-subject key (envelope
// encryption), so that the log holds no consent or access details in
// clear. The associated data binds a sealed body to its entry (kind and
// time); Open MUST fail on a body that was not sealed for the
// subject and the associated data. *privacy.Vault implements it, and its
// EraseSubject makes every body of a subject unreadable.
type Sealer interface {
	Seal(ctx context.Context, subject ledger.SubjectTag, associatedData, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, subject ledger.SubjectTag, associatedData, sealed []byte) ([]byte, error)
}

// Tagger derives keyed pseudonymous subject tags: a patient's tag is
// Tag(TagNamespace, patientDID), computable only by the deployment that
// holds the key, so a reader of the log cannot find a patient's entries
// from their DID, nor link them across deployments. *privacy.Tagger
// implements it.
type Tagger interface {
	Tag(namespace, identifier string) (ledger.SubjectTag, error)
}

// TagNamespace is the namespace of patients' consent and access tags.
const TagNamespace = "consent"

// DefaultSubjectTag is the unkeyed tag of a patient's consent entries,
// used only with RegistryConfig.InsecurePublicTags:
// ledger.DeriveSubjectTag("consent", patientDID). Anyone who knows a DID
// can compute it and find every consent and access entry of the patient. It is deliberately not
// the tag package identity files the DID's own operations under
// (namespace "did"): a resolver reads every entry under that tag, and a
// patient's grants and access records there would slow down, and past the
// resolver's operation limit break, the resolution of their DID.
func DefaultSubjectTag(patient string) ledger.SubjectTag {
	return ledger.DeriveSubjectTag("consent", patient)
}

// DefaultMaxClockSkew is the default RegistryConfig.MaxClockSkew.
const DefaultMaxClockSkew = 5 * time.Minute

// RegistryConfig configures a [Registry]. The zero value of every optional
// field means its documented default.
type RegistryConfig struct {
	// Log is the ledger. Required.
	Log Log
	// Checker verifies patient and recorder signatures. Required.
	Checker SignatureChecker
	// Evaluator configures decisions (no-consent default, break-glass roles).
	// An auditor must use the deployment's configuration to re-evaluate.
	Evaluator Config
	// Recorder signs access entries as the deciding service. Required by
	// Authorize.
	Recorder EntrySigner
	// Sealer seals consent and access bodies (a *privacy.Vault). Required
	// unless InsecureClearBodies is set.
	Sealer Sealer
	// InsecureClearBodies stores bodies in clear: anyone reading the log
	// then learns the consents and the accesses (who, what, why) of every
	// tag. Only for tests and demos; it is an error together with Sealer.
	InsecureClearBodies bool
	// Tagger derives patients' subject tags (a *privacy.Tagger). Required
	// unless InsecurePublicTags is set.
	Tagger Tagger
	// InsecurePublicTags tags entries with DefaultSubjectTag, which anyone
	// who knows a patient's DID can compute. Only for tests and demos; it
	// is an error together with Tagger.
	InsecurePublicTags bool
	// MaxClockSkew bounds how far from Now a submitted grant or revocation
	// may be dated. Default DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// Custodial says whether consents recorded by a custodian on a
	// patient's behalf count, and whose (SPEC.md, "Custodial consent").
	// The zero value refuses them: only patient-signed consents count.
	// Like Evaluator, it is part of what an auditor must use to replay.
	Custodial CustodialPolicy
	// Now is the clock of Submit. Default time.Now.
	Now func() time.Time
	// Logger receives debug logs (indices and reasons, never contents).
	// Nil is silent.
	Logger *slog.Logger
}

// Registry keeps patients' consents on a ledger: it verifies and appends
// grants and revocations, compiles each patient's consents by replaying
// the ledger, decides without I/O ([Registry.DecideInto]), records access
// decisions ([Registry.Authorize]), re-evaluates recorded decisions and
// lists a patient's accesses. It is safe for concurrent use. A Registry
// sees its own submissions and erasures ([Registry.Erase]) at once, and
// other writers' after [Registry.Sync]. Updating one patient recompiles
// only that patient.
type Registry struct {
	cfg RegistryConfig

	base *Evaluator // configuration only; decides against indexes below

	mu       sync.Mutex               // serializes scans and submissions
	patients map[string]*patientState // guarded by mu

	// idxMu guards indexes, the compiled consents of every loaded patient
	// (nil entries never; a loaded patient without consents has an empty
	// index). Writers hold mu too, so indexes change in step with patients.
	idxMu   sync.RWMutex
	indexes map[string]*patientIndex
}

// patientState is a patient's replayed consent state. Grants and
// revocations apply in ledger index order (the log's integration order);
// entry times only bound when a revoked consent may be granted again.
type patientState struct {
	grants []grant // active grants, in ledger order
	next   uint64  // next ledger index to scan
	state  uint64  // one past the last applied grant or revocation
	// revokedAt holds, for each consent revoked so far, the latest time
	// claimed by an applied revocation of it: a grant of that consent
	// must be dated after it.
	revokedAt map[ID]time.Time
	// patientRevoked holds the consents the patient revoked with their
	// own signature: no custodian may grant them again (rule C4).
	patientRevoked map[ID]bool
	// first is one past the index of the first applied entry (0: none),
	// for telling whether an erasure deleted applied entries.
	first uint64
	// trackErased makes a replay collect the erased entries it skips in
	// erased (Reevaluate's replay).
	trackErased bool
	erased      []*ledger.ErasedError
	// erasurePending is set when an erasure entry covered applied entries
	// whose payloads were still there (Log.Erase appends the erasure
	// before it deletes): the next scan looks again.
	erasurePending bool
}

type grant struct {
	id      ID
	consent Consent
	// cust is the custodial grant that recorded the consent, nil when the
	// patient signed it (or signed it again after a custodian recorded it).
	cust *CustodialGrant
}

// NewRegistry returns a Registry with no patient loaded.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	switch {
	case cfg.Log == nil || cfg.Checker == nil:
		return nil, fmt.Errorf("%w: RegistryConfig needs Log and Checker", ErrInvalidConfig)
	case (cfg.Sealer == nil) == !cfg.InsecureClearBodies:
		return nil, fmt.Errorf("%w: RegistryConfig needs a Sealer (or, for tests only, InsecureClearBodies), not both", ErrInvalidConfig)
	case (cfg.Tagger == nil) == !cfg.InsecurePublicTags:
		return nil, fmt.Errorf("%w: RegistryConfig needs a Tagger (or, for tests only, InsecurePublicTags), not both", ErrInvalidConfig)
	}
	if err := cfg.Custodial.validate(); err != nil {
		return nil, err
	}
	cfg.Custodial.Custodians = append([]string(nil), cfg.Custodial.Custodians...)
	if cfg.MaxClockSkew <= 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base, err := New(cfg.Evaluator, nil)
	if err != nil {
		return nil, err
	}
	return &Registry{cfg: cfg, base: base, patients: map[string]*patientState{}, indexes: map[string]*patientIndex{}}, nil
}

// DecideInto decides r from the consents of r.Patient the registry has
// loaded, without I/O and, with a reused Decision, without allocating. A
// patient that was never loaded (by Sync, Submit, Active or Authorize) is
// an error wrapping ErrNotLoaded and a denial, never a no-consent default.
func (r *Registry) DecideInto(req *Request, d *Decision) error {
	r.idxMu.RLock()
	idx, ok := r.indexes[req.Patient]
	r.idxMu.RUnlock()
	if !ok {
		d.reset()
		if err := req.validate(); err != nil {
			return err
		}
		return ErrNotLoaded
	}
	return r.base.decide(idx, req, d)
}

// index returns the patient's published index, loading the patient from
// the ledger the first time.
func (r *Registry) index(ctx context.Context, patient string) (*patientIndex, error) {
	r.idxMu.RLock()
	idx, ok := r.indexes[patient]
	r.idxMu.RUnlock()
	if ok {
		return idx, nil
	}
	r.mu.Lock()
	_, err := r.loadLocked(ctx, patient)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	r.idxMu.RLock()
	idx = r.indexes[patient]
	r.idxMu.RUnlock()
	return idx, nil
}

// Decide is DecideInto with a new Decision.
func (r *Registry) Decide(req *Request) (*Decision, error) {
	d := &Decision{}
	err := r.DecideInto(req, d)
	return d, err
}

// SubjectTag returns the subject tag of a patient's entries.
func (r *Registry) SubjectTag(patient string) (ledger.SubjectTag, error) {
	if r.cfg.Tagger == nil {
		return DefaultSubjectTag(patient), nil
	}
	tag, err := r.cfg.Tagger.Tag(TagNamespace, patient)
	if err != nil {
		return tag, fmt.Errorf("consent: subject tag: %w", err)
	}
	return tag, nil
}

// skipReasons are the errors a replay names when it skips an entry: their
// texts are fixed, unlike the errors that wrap them, which may quote a
// writer's DID or what a key resolver said about it.
var skipReasons = []error{
	ErrCustodialNotAccepted, ErrUntrustedCustodian, ErrNotSignedByCustodian,
	ErrPatientPrecedence, ErrNotOwnConsent, ErrNotSignedByPatient,
	ErrOutOfOrder, ErrUnknownConsent, ErrNotFresh, ErrMalformed,
	ErrInvalidConsent, ErrInvalidRequest, ErrUnknownCode, ErrInvalidPeriod,
	ErrContradictoryProvision, ErrCyclicProvision, ErrTooDeep, ErrUnsupportedElement,
}

// skipReason returns the text of the first of skipReasons that err wraps,
// or a generic one: never err's own text.
func skipReason(err error) string {
	for _, r := range skipReasons {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	return "refused"
}

func (r *Registry) debug(msg string, args ...any) {
	if r.cfg.Logger != nil {
		r.cfg.Logger.Debug(msg, args...)
	}
}

// GrantEntry returns the unsigned ledger entry granting c at time at. The
// patient signs it (for example with identity.Holder.SignEntry) before
// [Registry.Submit].
func (r *Registry) GrantEntry(ctx context.Context, c *Consent, at time.Time) (*ledger.Entry, error) {
	body, err := c.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return r.entry(ctx, KindConsentGranted, c.Patient, c.Patient, at, body)
}

// RevocationEntry returns the unsigned ledger entry revoking the patient's
// consent id at time at, for the patient to sign.
func (r *Registry) RevocationEntry(ctx context.Context, patient string, id ID, at time.Time) (*ledger.Entry, error) {
	body, err := (&Revocation{Patient: patient, Consent: id}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	return r.entry(ctx, KindConsentRevoked, patient, patient, at, body)
}

func (r *Registry) entry(ctx context.Context, kind ledger.Kind, patient, writer string, at time.Time, body []byte) (*ledger.Entry, error) {
	tag, err := r.SubjectTag(patient)
	if err != nil {
		return nil, err
	}
	if r.cfg.Sealer != nil {
		if body, err = r.cfg.Sealer.Seal(ctx, tag, bodyAssociatedData(kind, at), body); err != nil {
			return nil, fmt.Errorf("consent: sealing: %w", err)
		}
	}
	// The body is the entry's payload, kept beside the tree: the leaf holds
	// only a salted commitment to it, and erasure can delete it.
	e := &ledger.Entry{Kind: kind, Subject: tag, Writer: writer, Time: at, Digest: bodyDigest(body)}
	if err := e.SetPayload(body); err != nil {
		return nil, err
	}
	return e, nil
}

// open returns the opened body of e: its payload (or, for an entry written
// before payloads were kept beside the tree, its body), unsealed.
func (r *Registry) open(ctx context.Context, e *ledger.Entry) ([]byte, error) {
	body := e.Body
	if e.PayloadCommitment != (ledger.Commitment{}) {
		if e.Payload == nil {
			return nil, invalid("payload", ErrMalformed)
		}
		body = e.Payload.Data
	}
	if bodyDigest(body) != e.Digest {
		return nil, invalid("digest", ErrMalformed)
	}
	if r.cfg.Sealer == nil {
		return body, nil
	}
	b, err := r.cfg.Sealer.Open(ctx, e.Subject, bodyAssociatedData(e.Kind, e.Time), body)
	if err != nil {
		return nil, fmt.Errorf("consent: opening body: %w", err)
	}
	return b, nil
}

// Submit verifies a signed grant or revocation entry and appends it. It
// refuses (before appending, so nothing is written) an entry that is not
// signed by its patient with a key the patient held at the entry's time,
// that is dated more than MaxClockSkew from now, that grants a consent the
// patient revoked at or after the grant's time, or that revokes a consent
// the patient does not have. Custodial entries (KindCustodialGranted,
// KindCustodialRevoked) are checked by the rules of SPEC.md, "Custodial
// consent", and refused with a *CustodialError. Accepted entries take
// effect in ledger order, not in time order.
func (r *Registry) Submit(ctx context.Context, e *ledger.Entry) (*ledger.Receipt, error) {
	if !isConsentKind(e.Kind) {
		return nil, invalid("kind", ErrInvalidConsent)
	}
	if !freshWithin(e.Time, r.cfg.Now(), r.cfg.MaxClockSkew) {
		return nil, ErrNotFresh
	}
	patient, err := r.entryPatient(ctx, e)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.loadLocked(ctx, patient)
	if err != nil {
		return nil, err
	}
	// Catch up with what other writers (another Registry, another
	// frontend) appended since the last scan, so that the entry is checked
	// against the patient's current state, not a cached one: otherwise a
	// custodian's grant could be accepted here after the patient revoked
	// it elsewhere, and be ignored by every replay.
	if err := r.scan(ctx, patient, st, math.MaxUint64); err != nil {
		return nil, err
	}
	if _, err := r.check(ctx, patient, st, e); err != nil {
		return nil, err
	}
	rcpt, err := r.cfg.Log.Append(ctx, e)
	if err != nil {
		return nil, err
	}
	if err := r.scan(ctx, patient, st, math.MaxUint64); err != nil {
		return rcpt, err
	}
	return rcpt, r.rebuildLocked(patient, st)
}

// Sync replays the patient's entries appended since the last scan (by any
// writer) and updates the evaluator.
func (r *Registry) Sync(ctx context.Context, patient string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.loadLocked(ctx, patient)
	if err != nil {
		return err
	}
	if err := r.scan(ctx, patient, st, math.MaxUint64); err != nil {
		return err
	}
	return r.rebuildLocked(patient, st)
}

// loadLocked returns the patient's state, replaying the ledger the first
// time. r.mu must be held.
func (r *Registry) loadLocked(ctx context.Context, patient string) (*patientState, error) {
	if st := r.patients[patient]; st != nil {
		return st, nil
	}
	st := &patientState{}
	if err := r.scan(ctx, patient, st, math.MaxUint64); err != nil {
		return nil, err
	}
	r.patients[patient] = st
	return st, r.rebuildLocked(patient, st)
}

func (r *Registry) rebuildLocked(patient string, st *patientState) error {
	idx, err := st.compile()
	if err != nil {
		return err
	}
	r.idxMu.Lock()
	r.indexes[patient] = idx
	r.idxMu.Unlock()
	return nil
}

// scan applies the patient's grant and revocation entries with index
// in [st.next, before); the caller owns st. Entries that fail a check are
// skipped: anyone may append under a subject tag, and only valid ones count.
// Erased entries are skipped too, and an erasure of entries st applied
// restarts the replay from the first entry.
func (r *Registry) scan(ctx context.Context, patient string, st *patientState, before uint64) error {
	const page = 256
	tag, err := r.SubjectTag(patient)
	if err != nil {
		return err
	}
	if err := r.settleErasure(ctx, st); err != nil {
		return err
	}
pages:
	for {
		idx, err := r.cfg.Log.BySubject(ctx, tag, st.next, page)
		if err != nil {
			return err
		}
		for _, i := range idx {
			if i >= before {
				return nil
			}
			e, err := r.cfg.Log.Entry(ctx, i)
			if errors.Is(err, ledger.ErrErased) {
				// An erased grant or revocation no longer counts (SPEC.md, "Erasure").
				st.next = i + 1
				st.skipErased(err)
				continue
			}
			if err != nil {
				return err
			}
			st.next = i + 1
			if e.Kind == ledger.KindErasure {
				stale, err := r.erasedApplied(ctx, st, e, i)
				if err != nil {
					return err
				}
				if stale {
					*st = patientState{trackErased: st.trackErased}
					continue pages
				}
			}
			if !isConsentKind(e.Kind) {
				continue
			}
			g, err := r.check(ctx, patient, st, e)
			if err != nil {
				r.debug("consent: skipping entry", "index", i, "reason", skipReason(err))
				continue
			}
			st.apply(e, g, i)
		}
		if len(idx) < page {
			return nil
		}
	}
}

// check verifies a grant or revocation against the patient's state. For a
// grant it returns the decoded grant; for a revocation, the grant revoked.
func (r *Registry) check(ctx context.Context, patient string, st *patientState, e *ledger.Entry) (grant, error) {
	tag, err := r.SubjectTag(patient)
	if err != nil {
		return grant{}, err
	}
	if isCustodialKind(e.Kind) {
		return r.checkCustodial(ctx, patient, tag, st, e)
	}
	if e.Writer != patient || e.Subject != tag || len(e.Signature) == 0 {
		return grant{}, ErrNotSignedByPatient
	}
	msg, err := e.SignedMessage()
	if err != nil {
		return grant{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := r.cfg.Checker.CheckSignature(ctx, patient, msg, e.Signature, e.Time); err != nil {
		return grant{}, fmt.Errorf("%w: %w", ErrNotSignedByPatient, err)
	}
	body, err := r.open(ctx, e)
	if err != nil {
		return grant{}, err
	}
	if e.Kind == KindConsentGranted {
		c, err := UnmarshalConsent(body)
		if err != nil {
			return grant{}, err
		}
		if c.Patient != patient {
			return grant{}, ErrNotSignedByPatient
		}
		id := idOf(body)
		if at, ok := st.revokedAt[id]; ok && !e.Time.After(at) {
			return grant{}, ErrOutOfOrder
		}
		return grant{id: id, consent: *c}, nil
	}
	rv, err := UnmarshalRevocation(body)
	if err != nil {
		return grant{}, err
	}
	if rv.Patient != patient || st.find(rv.Consent) < 0 {
		return grant{}, ErrUnknownConsent
	}
	return grant{id: rv.Consent}, nil
}

func (st *patientState) find(id ID) int {
	for i := range st.grants {
		if st.grants[i].id == id {
			return i
		}
	}
	return -1
}

// apply applies a checked entry. A patient's revocation also bars
// custodians from granting the consent again (C4); a patient's grant of a
// consent a custodian recorded makes it patient-signed (C8).
func (st *patientState) apply(e *ledger.Entry, g grant, index uint64) {
	revocation := e.Kind == KindConsentRevoked || e.Kind == KindCustodialRevoked
	switch i := st.find(g.id); {
	case revocation && i >= 0:
		st.grants = append(st.grants[:i], st.grants[i+1:]...)
		if at, ok := st.revokedAt[g.id]; !ok || e.Time.After(at) {
			if st.revokedAt == nil {
				st.revokedAt = map[ID]time.Time{}
			}
			st.revokedAt[g.id] = e.Time
		}
	case !revocation && i < 0:
		st.grants = append(st.grants, g)
	case e.Kind == KindConsentGranted:
		st.grants[i].cust = nil
	}
	if e.Kind == KindConsentRevoked {
		if st.patientRevoked == nil {
			st.patientRevoked = map[ID]bool{}
		}
		st.patientRevoked[g.id] = true
	}
	if st.first == 0 {
		st.first = index + 1
	}
	st.state = index + 1
}

// Replay rebuilds, from the ledger alone, the evaluator of one patient as
// it was with the patient's grant and revocation entries below index
// before. It is what an auditor uses; it does not touch the Registry's
// state. Erased entries are skipped: they no longer count (SPEC.md,
// "Erasure").
func (r *Registry) Replay(ctx context.Context, patient string, before uint64) (*Evaluator, error) {
	return r.replay(ctx, patient, &patientState{}, before)
}

// replay is Replay into st.
func (r *Registry) replay(ctx context.Context, patient string, st *patientState, before uint64) (*Evaluator, error) {
	if err := r.scan(ctx, patient, st, before); err != nil {
		return nil, err
	}
	idx, err := st.compile()
	if err != nil {
		return nil, err
	}
	ev, err := New(r.cfg.Evaluator, nil)
	if err != nil {
		return nil, err
	}
	ev.patients[patient] = idx
	return ev, nil
}

// compile compiles the patient's active grants: the patient-signed ones
// into the index, the custodial ones into its custodial tier (C9).
func (st *patientState) compile() (*patientIndex, error) {
	var own, cust []Consent
	for i := range st.grants {
		if st.grants[i].cust != nil {
			cust = append(cust, st.grants[i].consent)
		} else {
			own = append(own, st.grants[i].consent)
		}
	}
	idx, err := compilePatient(own)
	if err != nil {
		return nil, err
	}
	if len(cust) > 0 {
		if idx.custodial, err = compilePatient(cust); err != nil {
			return nil, err
		}
	}
	idx.state = st.state
	return idx, nil
}
