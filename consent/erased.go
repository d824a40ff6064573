package consent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/healthledger/healthledger/ledger"
)

// Erased entries. ledger.Log.Erase deletes the payloads of a subject's
// entries and keeps their leaves: a patient's grants, revocations and
// access records below the erasure can no longer be opened, but the log
// still proves that they existed, who wrote them and when. The Registry
// treats them as SPEC.md, "Erasure", says: they no longer count on replay,
// and the reports list them as erased instead of failing. Registry.Erase
// erases through the ledger and updates the patient's state before it
// returns.

// Eraser is the part of a ledger that [Registry.Erase] uses, implemented
// by *ledger.Log. Erase MUST do what ledger.Log.Erase does: append the
// ledger.KindErasure entry (or find it already in the log) and delete the
// payloads it covers, returning without error only once they are deleted.
type Eraser interface {
	Erase(ctx context.Context, e *ledger.Entry) (*ledger.Receipt, error)
}

// Erase erases the payloads of the patient's entries that the erasure
// entry e covers, through the ledger (ledger.Log.Erase), and brings the
// patient's consents up to date before it returns: once Erase has
// returned without error, every decision ([Registry.DecideInto],
// [Registry.Authorize]) leaves out the erased grants, exactly as a
// Registry that replays the patient afresh does. A decision made while
// Erase runs may still use the consents as they were. This is how a
// deployment erases a patient's consent and access entries: calling
// ledger.Log.Erase directly leaves a Registry that had loaded the patient
// deciding from the erased grants until its next Sync or Submit for the
// patient (SPEC.md, "Erasure").
//
// e is a ledger.KindErasure entry under the patient's subject tag (see
// [Registry.SubjectTag] and ledger.NewErasureEntry), signed as the
// ledger's writer check requires. Erase refuses, before writing anything,
// any other entry (an error wrapping ErrNotPatientErasure) and a
// RegistryConfig.Log that is not an [Eraser] (ErrInvalidConfig).
//
// If the ledger's erasure fails, Erase returns its error, with the
// erasure's receipt if the erasure entry was appended: the payloads not
// deleted yet still count, and calling Erase again with the same entry
// completes the erasure. If the erasure succeeded but replaying the
// patient failed, Erase returns the receipt and the error and leaves the
// patient unloaded: DecideInto then denies with ErrNotLoaded, and
// Authorize replays the patient from the ledger first.
func (r *Registry) Erase(ctx context.Context, patient string, e *ledger.Entry) (*ledger.Receipt, error) {
	eraser, ok := r.cfg.Log.(Eraser)
	if !ok {
		return nil, fmt.Errorf("%w: RegistryConfig.Log cannot erase (it is not a consent.Eraser)", ErrInvalidConfig)
	}
	if _, err := ledger.ParseErasure(e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotPatientErasure, err)
	}
	tag, err := r.SubjectTag(patient)
	if err != nil {
		return nil, err
	}
	if e.Subject != tag {
		return nil, invalid("subject", ErrNotPatientErasure)
	}
	rcpt, err := eraser.Erase(ctx, e)
	if err != nil {
		return rcpt, err
	}
	return rcpt, r.reloadIfLoaded(ctx, patient)
}

// reloadIfLoaded replays the patient (reloadLocked) if the Registry has
// loaded it; otherwise the first load will replay the ledger as it is.
func (r *Registry) reloadIfLoaded(ctx context.Context, patient string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, loaded := r.patients[patient]; !loaded {
		return nil
	}
	return r.reloadLocked(ctx, patient)
}

// reloadLocked replays the patient from the first entry, as a fresh
// Registry would, and then publishes the result in place of the patient's
// state (decisions meanwhile use the old one). On error the patient is
// left unloaded. r.mu must be held.
func (r *Registry) reloadLocked(ctx context.Context, patient string) error {
	st := &patientState{}
	err := r.scan(ctx, patient, st, math.MaxUint64)
	if err == nil {
		r.patients[patient] = st
		if err = r.rebuildLocked(patient, st); err == nil {
			return nil
		}
	}
	delete(r.patients, patient)
	r.idxMu.Lock()
	delete(r.indexes, patient)
	r.idxMu.Unlock()
	return err
}

// ErrConsentErased reports a decision that can no longer be re-evaluated
// because a consent entry it relied on (a grant or revocation below its
// ConsentState) was erased. It is returned wrapped together with that
// entry's *ledger.ErasedError. The decision's own entry and receipt stay
// verifiable.
var ErrConsentErased = errors.New("consent: a consent entry the decision relied on was erased")

// ErasedEntry is what remains of an entry about a patient whose payload an
// erasure deleted: the fields of its leaf and the erasure that deleted it.
// What the entry said (which consent, which access, for whom) is gone; the
// Registry checked only what the leaf allows: the writer's signature (as
// of Time) and, for a grant or revocation, that the writer may write it
// (the patient, or a custodian the configuration accepts).
type ErasedEntry struct {
	// Kind is the erased entry's kind.
	Kind ledger.Kind
	// Writer is the DID that wrote and signed the erased entry.
	Writer string
	// Time is the erased entry's time.
	Time time.Time
	// ErasedBy is the index of the erasure entry (ledger.KindErasure).
	ErasedBy uint64
	// Erasure is the erasure entry's receipt: its leaf holds the
	// ledger.Erasure (bound and ground), and ledger.Erasure.Covers checks
	// it against the erased entry's leaf.
	Erasure *ledger.Receipt
}

// erasedLeaf returns the receipt of the erased entry of ee and what
// remains of it, if it is one the caller lists: of a kind want accepts,
// under the patient's tag, and passing the checks its leaf allows.
// Otherwise the ErasedEntry is nil: such entries are left out, as readable
// entries that fail their checks are (anyone can append under a tag).
func (r *Registry) erasedLeaf(ctx context.Context, patient string, ee *ledger.ErasedError, want func(ledger.Kind) bool) (*ledger.Receipt, *ErasedEntry, error) {
	rcpt, err := r.cfg.Log.Receipt(ctx, ee.Index)
	if err != nil {
		return nil, nil, err
	}
	e, err := ledger.UnmarshalEntry(rcpt.Leaf)
	if err != nil || !want(e.Kind) || r.checkErasedLeaf(ctx, patient, e) != nil {
		r.debug("consent: skipping erased entry", "index", ee.Index)
		return nil, nil, nil
	}
	x := &ErasedEntry{Kind: e.Kind, Writer: e.Writer, Time: e.Time, ErasedBy: ee.ErasedBy, Erasure: ee.Erasure}
	if x.Erasure == nil {
		if x.Erasure, err = r.cfg.Log.Receipt(ctx, ee.ErasedBy); err != nil {
			return nil, nil, err
		}
	}
	return rcpt, x, nil
}

// checkErasedLeaf applies to an erased entry the checks of its kind that
// need no payload: the patient's tag, the writer's right to write the kind
// and the writer's signature.
func (r *Registry) checkErasedLeaf(ctx context.Context, patient string, e *ledger.Entry) error {
	tag, err := r.SubjectTag(patient)
	if err != nil {
		return err
	}
	switch {
	case e.Subject != tag || len(e.Signature) == 0:
		return ErrNotSignedByPatient
	case (e.Kind == KindConsentGranted || e.Kind == KindConsentRevoked) && e.Writer != patient:
		return ErrNotSignedByPatient
	case isCustodialKind(e.Kind) && (!r.cfg.Custodial.Accept || !r.cfg.Custodial.trusts(e.Writer)):
		return ErrUntrustedCustodian
	}
	msg, err := e.SignedMessage()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return r.cfg.Checker.CheckSignature(ctx, e.Writer, msg, e.Signature, e.Time)
}

// asErased returns the *ledger.ErasedError that err wraps, or nil. The
// target variable is declared after the nil check, so that a loop over
// entries allocates only for errors.
func asErased(err error) *ledger.ErasedError {
	if err == nil {
		return nil
	}
	var ee *ledger.ErasedError
	if !errors.As(err, &ee) {
		return nil
	}
	return ee
}

// skipErased records, on a replay that tracks them, an erased entry the
// replay skipped.
func (st *patientState) skipErased(err error) {
	var ee *ledger.ErasedError
	if st.trackErased && errors.As(err, &ee) {
		st.erased = append(st.erased, ee)
	}
}

// erasedApplied reports whether the erasure entry e at index deleted the
// payload of an entry st has applied: the state is then stale, and the
// caller replays the patient from the start, so that a Registry that
// loaded the patient before the erasure ends in the state a fresh replay
// gives. An erasure deletes every payload of the tag below its bound, so
// it is enough to look at the first applied entry. If it is still there
// (Log.Erase had appended the erasure and not yet deleted, or failed or
// stopped in between; or an erasure entry written to the store other than
// through Log.Erase, which ledger.Log.Append refuses), the erasure stays
// pending and the next scan looks again (settleErasure).
func (r *Registry) erasedApplied(ctx context.Context, st *patientState, e *ledger.Entry, index uint64) (bool, error) {
	if st.first == 0 {
		return false, nil
	}
	x, err := ledger.ParseErasure(e)
	if err != nil || st.first-1 >= min(x.Before, index) {
		return false, nil
	}
	stale, err := r.firstErased(ctx, st)
	st.erasurePending = err == nil && !stale
	return stale, err
}

// firstErased reports whether the payload of st's first applied entry
// is erased.
func (r *Registry) firstErased(ctx context.Context, st *patientState) (bool, error) {
	_, err := r.cfg.Log.Entry(ctx, st.first-1)
	switch {
	case errors.Is(err, ledger.ErrErased):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

// settleErasure looks again, before a scan, at an erasure seen while its
// payloads were still there: if they are gone now, st is reset to replay
// the patient from the start. An erasure entry that erased nothing keeps
// costing one read per scan of the patient.
func (r *Registry) settleErasure(ctx context.Context, st *patientState) error {
	if !st.erasurePending || st.first == 0 {
		return nil
	}
	stale, err := r.firstErased(ctx, st)
	if err != nil || !stale {
		return err
	}
	*st = patientState{trackErased: st.trackErased}
	return nil
}

// consentErased returns, for a replay that tracked erased entries, an
// error wrapping ErrConsentErased and the *ledger.ErasedError of the first
// grant or revocation it skipped that an erasure after index (the
// decision's) deleted, or nil if it skipped none. An entry erased before
// the decision was already gone when it was made.
func (r *Registry) consentErased(ctx context.Context, patient string, st *patientState, index uint64) error {
	for _, ee := range st.erased {
		if ee.ErasedBy < index {
			continue
		}
		rcpt, err := r.cfg.Log.Receipt(ctx, ee.Index)
		if err != nil {
			return err
		}
		e, err := ledger.UnmarshalEntry(rcpt.Leaf)
		if err == nil && isConsentKind(e.Kind) && r.checkErasedLeaf(ctx, patient, e) == nil {
			return fmt.Errorf("%w: %w", ErrConsentErased, ee)
		}
	}
	return nil
}

// KeyEraser is a [Sealer] that can destroy a subject's data key
// (crypto-shredding), making every body sealed for the subject unreadable
// for good. *privacy.Vault implements it (privacy.Vault.EraseSubject).
type KeyEraser interface {
	EraseSubject(ctx context.Context, subject ledger.SubjectTag) error
}

// EraseKey destroys the patient's data key through the Registry's Sealer
// (a [KeyEraser], such as *privacy.Vault) and brings the patient's
// consents up to date before it returns: once EraseKey has returned
// without error, no consent of the patient counts in any decision
// ([Registry.DecideInto] falls back to the no-consent default, deny),
// exactly as a Registry that replays the patient afresh decides. A
// decision made while EraseKey runs may still use the consents as they
// were. Destroying the key through the Vault directly leaves a Registry
// that had loaded the patient deciding from the consents it had already
// opened, even after Sync (which reads only new entries), until it is
// rebuilt. Nothing is written to the log; record the reason for the
// erasure with [Registry.Erase] if the deployment must.
//
// EraseKey refuses a Registry whose Sealer cannot erase, including one
// with RegistryConfig.InsecureClearBodies (ErrInvalidConfig). If the key
// erasure fails, EraseKey returns its error and changes nothing in the
// Registry. If the erasure succeeded and replaying the patient failed,
// the patient is left unloaded: DecideInto then denies with ErrNotLoaded,
// and Authorize replays the patient first.
func (r *Registry) EraseKey(ctx context.Context, patient string) error {
	eraser, ok := r.cfg.Sealer.(KeyEraser)
	if !ok {
		return fmt.Errorf("%w: RegistryConfig.Sealer cannot erase keys (it is not a consent.KeyEraser)", ErrInvalidConfig)
	}
	tag, err := r.SubjectTag(patient)
	if err != nil {
		return err
	}
	if err := eraser.EraseSubject(ctx, tag); err != nil {
		return err
	}
	return r.reloadIfLoaded(ctx, patient)
}
