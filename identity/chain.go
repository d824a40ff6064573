package identity

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// DefaultRecoveryWindow is the recovery window when Rules.RecoveryWindow is zero.
const DefaultRecoveryWindow = 72 * time.Hour

// Rules are the parameters of the operation state machine.
type Rules struct {
	// RecoveryWindow is how long after an operation a higher-priority
	// rotation key may still override it. Zero means DefaultRecoveryWindow.
	RecoveryWindow time.Duration
}

func (r Rules) window() time.Duration {
	if r.RecoveryWindow <= 0 {
		return DefaultRecoveryWindow
	}
	return r.RecoveryWindow
}

// OpStatus is what became of an operation during replay.
type OpStatus uint8

// Operation statuses.
const (
	// StatusAccepted: the operation is part of the DID's current history.
	StatusAccepted OpStatus = 1
	// StatusNullified: accepted once, then overridden by a recovery; it
	// stays in the ledger and in the history but no longer counts.
	StatusNullified OpStatus = 2
	// StatusRejected: the operation broke a rule and never counted.
	StatusRejected OpStatus = 3
)

// String returns "accepted", "nullified" or "rejected".
func (s OpStatus) String() string {
	switch s {
	case StatusAccepted:
		return "accepted"
	case StatusNullified:
		return "nullified"
	case StatusRejected:
		return "rejected"
	default:
		return fmt.Sprintf("OpStatus(%d)", uint8(s))
	}
}

// HistoryEntry is the audit record of one operation of a DID, in ledger order.
type HistoryEntry struct {
	// Index is the ledger index of the operation's entry.
	Index uint64
	// Hash is the operation hash.
	Hash OpHash
	// Type is the operation's type.
	Type OpType
	// Time is the operation's time.
	Time time.Time
	// Status is what became of the operation.
	Status OpStatus
	// Signer is the priority (0 highest) of the rotation key that signed it,
	// or -1 for a rejected operation.
	Signer int
	// NullifiedBy is the hash of the override that nullified it (Status
	// StatusNullified only).
	NullifiedBy OpHash
	// Err is the reason for a rejection (Status StatusRejected only).
	Err error
}

// node is an accepted operation.
type node struct {
	op     *Operation
	hash   OpHash
	index  uint64
	signer int       // priority of key in the rotation keys of prev's state
	key    PublicKey // the rotation key that signed op
	hist   int       // position in Chain.history
}

// Chain is the pure state machine of one DID: it applies operations in
// ledger order, enforcing the rules of SPEC.md ("Validity rules"), and keeps
// the current (non-nullified) history and the audit history. It does no
// I/O. A Chain is not safe for concurrent use.
type Chain struct {
	did     string
	rules   Rules
	ops     []*node         // current history, genesis first
	seen    map[OpHash]bool // every operation ever accepted (incl. nullified)
	byHash  map[OpHash]int  // position in ops of current operations
	history []HistoryEntry
	last    uint64   // highest ledger index applied (even if rejected), if any
	started bool     // whether any index was applied
	sigs    *opCache // optional memo of verified signatures; nil for none
}

// NewChain returns an empty chain for did (a did:hl DID).
func NewChain(did string, rules Rules) *Chain {
	return &Chain{did: did, rules: rules, seen: map[OpHash]bool{}, byHash: map[OpHash]int{}}
}

// DID returns the chain's DID.
func (c *Chain) DID() string { return c.did }

// Apply applies op, found at ledger index, to the chain. Operations must
// be applied in increasing index order (the ledger's integration order); one
// whose index is not above every index applied before is refused with
// ErrIndexOrder. On error the chain's current history is unchanged, the
// operation is recorded in the audit history as rejected, and the error is
// an *OperationError wrapping the reason.
func (c *Chain) Apply(index uint64, op *Operation) error {
	h, err := op.Hash()
	return c.apply(index, op, h, err)
}

// inOrder checks that index comes after every index applied so far, and
// records it as the latest if so.
func (c *Chain) inOrder(index uint64) error {
	if !c.started || index > c.last {
		c.last, c.started = index, true
		return nil
	}
	return fmt.Errorf("%w: index %d after index %d", ErrIndexOrder, index, c.last)
}

// apply is Apply with the operation hash (or the error computing it) given.
func (c *Chain) apply(index uint64, op *Operation, h OpHash, err error) error {
	if err == nil {
		err = c.inOrder(index)
	}
	if err == nil {
		var plan applyPlan
		plan, err = c.check(op, h)
		if err == nil {
			c.commit(index, op, h, plan)
			return nil
		}
	}
	c.history = append(c.history, HistoryEntry{Index: index, Hash: h, Type: op.Type, Time: op.Time, Status: StatusRejected, Signer: -1, Err: err})
	return &OperationError{Index: int64(index), Hash: h, Err: err}
}

// Check reports whether op would be accepted as the next operation, without
// changing the chain. It returns the signing rotation key on success.
func (c *Chain) Check(op *Operation) (PublicKey, error) {
	h, err := op.Hash()
	if err != nil {
		return PublicKey{}, &OperationError{Index: -1, Err: err}
	}
	plan, err := c.check(op, h)
	if err != nil {
		return PublicKey{}, &OperationError{Index: -1, Hash: h, Err: err}
	}
	return plan.signerKey, nil
}

// applyPlan is the outcome of a successful check.
type applyPlan struct {
	signer    int
	signerKey PublicKey
	forkAt    int // position in ops of prev; ops after it get nullified
}

// check validates op against the chain (see SPEC.md, "Validity rules").
func (c *Chain) check(op *Operation, h OpHash) (applyPlan, error) {
	if c.seen[h] {
		return applyPlan{}, ErrReplayed
	}
	if op.Type == OpCreate {
		if len(c.ops) > 0 {
			return applyPlan{}, ErrDuplicateGenesis
		}
		if didFromHash(h) != c.did {
			return applyPlan{}, ErrDIDMismatch
		}
		i, err := c.signerOf(op, h, op.State.RotationKeys)
		if err != nil {
			return applyPlan{}, err
		}
		return applyPlan{signer: i, signerKey: op.State.RotationKeys[i], forkAt: -1}, nil
	}
	if len(c.ops) == 0 {
		return applyPlan{}, fmt.Errorf("%w: no genesis before this operation", ErrBrokenPrev)
	}
	pos, ok := c.byHash[op.Prev]
	if !ok {
		return applyPlan{}, fmt.Errorf("%w: prev is not a current operation of this DID", ErrBrokenPrev)
	}
	head := c.ops[len(c.ops)-1]
	if op.Time.Before(head.op.Time) {
		return applyPlan{}, ErrTimeOrder
	}
	prev := c.ops[pos]
	if prev.op.Type == OpDeactivate {
		return applyPlan{}, ErrDeactivated
	}
	keys := prev.op.State.RotationKeys
	signer, err := c.signerOf(op, h, keys)
	if err != nil {
		return applyPlan{}, err
	}
	if err := checkTransition(prev.op, op); err != nil {
		return applyPlan{}, err
	}
	if pos < len(c.ops)-1 {
		if err := c.checkOverride(op, signer, keys, c.ops[pos+1:]); err != nil {
			return applyPlan{}, err
		}
	}
	return applyPlan{signer: signer, signerKey: keys[signer], forkAt: pos}, nil
}

// checkOverride enforces rule 9 of SPEC.md for op, signed with priority
// signer among keys (the rotation keys of the state op is applied to),
// which would nullify the operations nullified. The signer must outrank the
// signer of every one of them, each measured in keys, and op must be inside
// the recovery window of the first. Checking the first only would let a
// key take over from a higher-priority key that answered it: with keys
// k0, k1, k2, an override by k1 must not nullify k2's update and k0's
// rotation that followed it.
func (c *Chain) checkOverride(op *Operation, signer int, keys []PublicKey, nullified []*node) error {
	for _, n := range nullified {
		if q := priorityIn(keys, n.key); signer >= q {
			return &PriorityError{Signer: signer, Blocking: n.hash, BlockingSigner: q}
		}
	}
	if !op.Time.Before(nullified[0].op.Time.Add(c.rules.window())) {
		return ErrRecoveryWindowClosed
	}
	return nil
}

// priorityIn returns the index of k in keys, or len(keys) if k is not
// there: a key that the overridden branch itself introduced ranks below
// every key of the state being overridden, since its authority comes from
// an operation of that branch whose signer is checked too.
func priorityIn(keys []PublicKey, k PublicKey) int {
	if i := slices.IndexFunc(keys, k.Equal); i >= 0 {
		return i
	}
	return len(keys)
}

// signerOf returns the priority of the key in keys that signed op (hash
// h), from the memo if it has it.
func (c *Chain) signerOf(op *Operation, h OpHash, keys []PublicKey) (int, error) {
	if i, ok := c.sigs.signer(h); ok && i < len(keys) {
		return i, nil
	}
	i, err := op.signerIndex(keys)
	if err == nil {
		c.sigs.putSigner(h, i)
	}
	return i, err
}

// checkTransition enforces that an update keeps the rotation keys and a
// rotation changes them.
func checkTransition(prev, op *Operation) error {
	same := slices.EqualFunc(prev.State.RotationKeys, op.State.RotationKeys, PublicKey.Equal)
	switch {
	case op.Type == OpUpdate && !same:
		return fmt.Errorf("%w: update must keep the rotation keys; use rotate", ErrInvalidTransition)
	case op.Type == OpRotate && same:
		return fmt.Errorf("%w: rotate must change the rotation keys", ErrInvalidTransition)
	}
	return nil
}

// commit applies a checked operation.
func (c *Chain) commit(index uint64, op *Operation, h OpHash, plan applyPlan) {
	for _, n := range c.ops[plan.forkAt+1:] {
		if plan.forkAt < 0 {
			break
		}
		c.history[n.hist].Status = StatusNullified
		c.history[n.hist].NullifiedBy = h
		delete(c.byHash, n.hash)
	}
	if plan.forkAt >= 0 {
		c.ops = c.ops[:plan.forkAt+1]
	}
	c.seen[h] = true
	c.byHash[h] = len(c.ops)
	c.ops = append(c.ops, &node{op: op, hash: h, index: index, signer: plan.signer, key: plan.signerKey, hist: len(c.history)})
	c.history = append(c.history, HistoryEntry{Index: index, Hash: h, Type: op.Type, Time: op.Time, Status: StatusAccepted, Signer: plan.signer})
}

// History returns the audit history: every operation applied, in order,
// with its status.
func (c *Chain) History() []HistoryEntry { return slices.Clone(c.history) }

// Len returns the number of operations in the current history.
func (c *Chain) Len() int { return len(c.ops) }

// Version is the state of a DID after one operation of its current history.
type Version struct {
	// Operation is the operation that set this state.
	Operation *Operation
	// Hash is the operation's hash.
	Hash OpHash
	// Index is the ledger index of the operation's entry.
	Index uint64
	// Created is the time of the genesis operation.
	Created time.Time
	// Deactivated reports whether Operation is a deactivation.
	Deactivated bool
}

// Head returns the latest version, or ErrNotFound for an empty chain.
func (c *Chain) Head() (Version, error) {
	if len(c.ops) == 0 {
		return Version{}, ErrNotFound
	}
	return c.version(len(c.ops) - 1), nil
}

// At returns the version in effect at time t: the last operation of the
// current history whose time is at or before t. An operation takes effect
// at exactly its time. It fails with ErrNotFound if t is before genesis.
func (c *Chain) At(t time.Time) (Version, error) {
	// Times never decrease along the current history.
	i := sort.Search(len(c.ops), func(i int) bool { return c.ops[i].op.Time.After(t) })
	if i == 0 {
		return Version{}, fmt.Errorf("%w: no operation at or before the requested time", ErrNotFound)
	}
	return c.version(i - 1), nil
}

func (c *Chain) version(i int) Version {
	n := c.ops[i]
	return Version{Operation: n.op, Hash: n.hash, Index: n.index, Created: c.ops[0].op.Time, Deactivated: n.op.Type == OpDeactivate}
}

// LocatedOperation is an operation with the ledger index of its entry.
type LocatedOperation struct {
	// Index is the ledger index of the operation's entry.
	Index uint64
	// Operation is the decoded operation.
	Operation *Operation
}

// Replay applies ops in order to a new chain and returns it. Operations
// that break a rule are recorded as rejected and skipped: a DID's state
// cannot be blocked by someone appending invalid operations to its subject.
// ops must be in increasing index order; one that is not is rejected with
// ErrIndexOrder (see [Chain.Apply]).
func Replay(did string, ops []LocatedOperation, rules Rules) *Chain {
	c := NewChain(did, rules)
	for _, lo := range ops {
		_ = c.Apply(lo.Index, lo.Operation)
	}
	return c
}
