package identity

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestChainRules(t *testing.T) {
	f := newFixture(t)
	newDevice := mustKey(t, KeyTypeEd25519)
	upd := f.next(OpUpdate, f.genesis, f.k[2], time.Hour, f.state(newDevice))
	otherRot := f.state(f.device)
	otherRot.RotationKeys = []PublicKey{f.k[0].Public(), newDevice.Public()}
	stranger := mustKey(t, KeyTypeEd25519)
	rotated := f.next(OpRotate, f.genesis, f.k[0], time.Hour, otherRot)
	deact := f.next(OpDeactivate, f.genesis, f.k[2], time.Hour, State{})
	other := newFixture(t)

	tests := []struct {
		name string
		pre  []*Operation // applied first, must succeed
		op   *Operation
		err  error
	}{
		{"genesis", nil, f.genesis, nil},
		{"genesis of another DID", nil, other.genesis, ErrDIDMismatch},
		{"genesis signed by a non-rotation key", nil, func() *Operation {
			op := &Operation{Type: OpCreate, Time: f.t0, State: f.state(f.device)}
			require.NoError(t, op.Sign(f.device))
			return op
		}(), ErrDIDMismatch}, // the DID names the signed genesis, so a different signature is another DID
		{"update before genesis", nil, upd, ErrBrokenPrev},
		{"second genesis", []*Operation{f.genesis}, func() *Operation {
			op, _, err := NewGenesis(f.state(f.device), f.t0, f.k[0])
			require.NoError(t, err)
			return op
		}(), ErrDuplicateGenesis},
		{"replayed genesis", []*Operation{f.genesis}, f.genesis, ErrReplayed},
		{"update", []*Operation{f.genesis}, upd, nil},
		{"replayed update", []*Operation{f.genesis, upd}, upd, ErrReplayed},
		{"update by stranger", []*Operation{f.genesis}, f.next(OpUpdate, f.genesis, stranger, time.Hour, f.state(newDevice)), ErrBadSignature},
		{"update by device key", []*Operation{f.genesis}, f.next(OpUpdate, f.genesis, f.device, time.Hour, f.state(newDevice)), ErrBadSignature},
		{"broken prev", []*Operation{f.genesis}, f.next(OpUpdate, other.genesis, f.k[0], time.Hour, f.state(newDevice)), ErrBrokenPrev},
		{"update changing rotation keys", []*Operation{f.genesis}, f.next(OpUpdate, f.genesis, f.k[0], time.Hour, otherRot), ErrInvalidTransition},
		{"rotate keeping rotation keys", []*Operation{f.genesis}, f.next(OpRotate, f.genesis, f.k[0], time.Hour, f.state(newDevice)), ErrInvalidTransition},
		{"rotate", []*Operation{f.genesis}, f.next(OpRotate, f.genesis, f.k[0], time.Hour, otherRot), nil},
		{"update by a rotated-away key", []*Operation{f.genesis, rotated}, f.next(OpUpdate, rotated, f.k[1], 2*time.Hour, otherRot), ErrBadSignature},
		{"update by the new rotation key", []*Operation{f.genesis, rotated}, f.next(OpUpdate, rotated, newDevice, 2*time.Hour, otherRot), nil},
		{"time goes backwards", []*Operation{f.genesis}, f.next(OpUpdate, f.genesis, f.k[0], -time.Second, f.state(newDevice)), ErrTimeOrder},
		{"same time is fine", []*Operation{f.genesis}, f.next(OpUpdate, f.genesis, f.k[0], 0, f.state(newDevice)), nil},
		{"deactivate", []*Operation{f.genesis}, deact, nil},
		{"update after deactivate", []*Operation{f.genesis, deact}, f.next(OpUpdate, deact, f.k[0], 2*time.Hour, f.state(newDevice)), ErrDeactivated},
		{"deactivate after deactivate", []*Operation{f.genesis, deact}, f.next(OpDeactivate, deact, f.k[0], 2*time.Hour, State{}), ErrDeactivated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := f.chain(Rules{}, tc.pre...)
			before, _ := c.Head()
			beforeLen := c.Len()
			err := c.Apply(99, tc.op)
			if tc.err == nil {
				require.NoError(t, err)
				head, err := c.Head()
				require.NoError(t, err)
				require.Equal(t, tc.op, head.Operation)
				return
			}
			require.ErrorIs(t, err, tc.err)
			var oe *OperationError
			require.True(t, errors.As(err, &oe))
			require.Equal(t, int64(99), oe.Index)
			after, _ := c.Head()
			require.Equal(t, before, after, "a refused operation changes nothing")
			require.Equal(t, beforeLen, c.Len())
			h := c.History()
			require.Equal(t, StatusRejected, h[len(h)-1].Status)
		})
	}
}

// recovery returns genesis and an update by k[1] at +1h: the operation a
// thief with k[1] would make.
func recoverySetup(t *testing.T) (*fixture, *Operation, *PrivateKey) {
	f := newFixture(t)
	thief := mustKey(t, KeyTypeEd25519)
	stolen := f.next(OpUpdate, f.genesis, f.k[1], time.Hour, f.state(thief))
	return f, stolen, thief
}

func TestRecoveryRules(t *testing.T) {
	const window = DefaultRecoveryWindow
	f, stolen, _ := recoverySetup(t)
	good := f.state(f.device)
	tests := []struct {
		name   string
		rules  Rules
		signer int
		at     time.Duration // time of the override, after t0 (stolen is at +1h)
		err    error
	}{
		{"higher priority within window", Rules{}, 0, 2 * time.Hour, nil},
		{"one nanosecond before window end", Rules{}, 0, time.Hour + window - time.Nanosecond, nil},
		{"exactly at window end", Rules{}, 0, time.Hour + window, ErrRecoveryWindowClosed},
		{"after window", Rules{}, 0, time.Hour + window + time.Minute, ErrRecoveryWindowClosed},
		{"key overriding itself", Rules{}, 1, 2 * time.Hour, ErrInsufficientPriority},
		{"lower priority key", Rules{}, 2, 2 * time.Hour, ErrInsufficientPriority},
		{"configured window open", Rules{RecoveryWindow: 30 * time.Minute}, 0, time.Hour + 29*time.Minute, nil},
		{"configured window closed", Rules{RecoveryWindow: 30 * time.Minute}, 0, time.Hour + 30*time.Minute, ErrRecoveryWindowClosed},
		{"override dated before the overridden op", Rules{}, 0, 30 * time.Minute, ErrTimeOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := f.chain(tc.rules, f.genesis, stolen)
			override := f.next(OpUpdate, f.genesis, f.k[tc.signer], tc.at, good)
			err := c.Apply(2, override)
			head, herr := c.Head()
			require.NoError(t, herr)
			h := c.History()
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Equal(t, stolen, head.Operation)
				require.Equal(t, StatusAccepted, h[1].Status)
				return
			}
			require.NoError(t, err)
			require.Equal(t, override, head.Operation)
			require.Equal(t, StatusNullified, h[1].Status)
			oh, _ := override.Hash()
			require.Equal(t, oh, h[1].NullifiedBy)
			require.Equal(t, StatusAccepted, h[2].Status)
			require.Equal(t, tc.signer, h[2].Signer)
		})
	}
}

func TestRecoveryNullifiesSeveralAndBlocksTheirBranch(t *testing.T) {
	f, stolen, thief := recoverySetup(t)
	stolen2 := f.next(OpUpdate, stolen, f.k[2], 2*time.Hour, f.state(thief))
	c := f.chain(Rules{}, f.genesis, stolen, stolen2)
	// The window counts from the first overridden operation (stolen, +1h).
	late := f.next(OpUpdate, f.genesis, f.k[0], time.Hour+DefaultRecoveryWindow, f.state(f.device))
	require.ErrorIs(t, c.Apply(3, late), ErrRecoveryWindowClosed)
	// Forking after stolen: the first overridden op is stolen2 (signed by k[2]), k[1] outranks it.
	mid := f.next(OpUpdate, stolen, f.k[1], 3*time.Hour, f.state(f.device))
	require.NoError(t, f.chain(Rules{}, f.genesis, stolen, stolen2).Apply(3, mid))

	rec := f.next(OpUpdate, f.genesis, f.k[0], 3*time.Hour, f.state(f.device))
	require.NoError(t, c.Apply(4, rec))
	require.Equal(t, 2, c.Len())
	h := c.History()
	require.Equal(t, []OpStatus{StatusAccepted, StatusNullified, StatusNullified, StatusRejected, StatusAccepted},
		[]OpStatus{h[0].Status, h[1].Status, h[2].Status, h[3].Status, h[4].Status})
	// The thief's branch is dead: extending a nullified op, or replaying one, fails.
	require.ErrorIs(t, c.Apply(5, f.next(OpUpdate, stolen2, f.k[1], 4*time.Hour, f.state(thief))), ErrBrokenPrev)
	require.ErrorIs(t, c.Apply(6, stolen), ErrReplayed)
	// A recovery by the top key cannot itself be overridden.
	require.ErrorIs(t, c.Apply(7, f.next(OpUpdate, f.genesis, f.k[0], 5*time.Hour, f.state(thief))), ErrInsufficientPriority)
	// The thief's key never appears as valid, even for times before the recovery.
	v, err := c.At(f.t0.Add(90 * time.Minute))
	require.NoError(t, err)
	require.Equal(t, f.genesis, v.Operation)
}

func TestRecoveryUndoesDeactivation(t *testing.T) {
	f := newFixture(t)
	deact := f.next(OpDeactivate, f.genesis, f.k[2], time.Hour, State{})
	c := f.chain(Rules{}, f.genesis, deact)
	head, _ := c.Head()
	require.True(t, head.Deactivated)
	require.NoError(t, c.Apply(2, f.next(OpUpdate, f.genesis, f.k[0], 2*time.Hour, f.state(f.device))))
	head, _ = c.Head()
	require.False(t, head.Deactivated)
}

func TestChainAt(t *testing.T) {
	f := newFixture(t)
	dev2 := mustKey(t, KeyTypeEd25519)
	u1 := f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(dev2))
	c := f.chain(Rules{}, f.genesis, u1)
	for _, tc := range []struct {
		name string
		at   time.Time
		want *Operation
		err  error
	}{
		{"before genesis", f.t0.Add(-time.Nanosecond), nil, ErrNotFound},
		{"at genesis", f.t0, f.genesis, nil},
		{"just before update", f.t0.Add(time.Hour - time.Nanosecond), f.genesis, nil},
		{"exactly at update", f.t0.Add(time.Hour), u1, nil},
		{"later", f.t0.Add(1000 * time.Hour), u1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := c.At(tc.at)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, v.Operation)
			require.Equal(t, f.t0, v.Created)
		})
	}
}

func TestReplaySkipsInvalid(t *testing.T) {
	f := newFixture(t)
	junk := newFixture(t)
	u := f.next(OpUpdate, f.genesis, f.k[0], time.Hour, f.state(f.device))
	c := Replay(f.did, []LocatedOperation{{0, junk.genesis}, {1, f.genesis}, {2, junk.genesis}, {3, u}}, Rules{})
	require.Equal(t, 2, c.Len())
	head, err := c.Head()
	require.NoError(t, err)
	require.Equal(t, uint64(3), head.Index)
	_, err = Replay(f.did, nil, Rules{}).Head()
	require.ErrorIs(t, err, ErrNotFound)
}

func TestCheckDoesNotMutate(t *testing.T) {
	f := newFixture(t)
	c := NewChain(f.did, Rules{})
	k, err := c.Check(f.genesis)
	require.NoError(t, err)
	require.True(t, k.Equal(f.k[1].Public()))
	require.Equal(t, 0, c.Len())
	require.Empty(t, c.History())
}

// TestOverridePriorityOverEveryNullifiedOperation covers every shape of
// fork: an override must outrank, in the rotation keys of the state it is
// applied to, the signer of every operation it nullifies, not only the
// first. The fixture's rotation keys are k0, k1, k2 (k0 highest).
func TestOverridePriorityOverEveryNullifiedOperation(t *testing.T) {
	f := newFixture(t)
	thief := mustKey(t, KeyTypeEd25519)
	fresh := mustKey(t, KeyTypeEd25519)
	withoutK1 := f.state(f.device)
	withoutK1.RotationKeys = []PublicKey{f.k[0].Public(), f.k[2].Public()}
	// freshOnTop is a rotation that puts a key unknown to genesis first.
	freshOnTop := f.state(f.device)
	freshOnTop.RotationKeys = []PublicKey{fresh.Public(), f.k[1].Public()}

	// Operations after genesis, named by signer: a is by k2 at +1h.
	a := f.next(OpUpdate, f.genesis, f.k[2], time.Hour, f.state(f.device))
	aByK1 := f.next(OpUpdate, f.genesis, f.k[1], time.Hour, f.state(f.device))
	bByK2 := f.next(OpUpdate, a, f.k[2], 2*time.Hour, f.state(f.device))
	bByK1 := f.next(OpUpdate, a, f.k[1], 2*time.Hour, f.state(f.device))
	bByK0 := f.next(OpUpdate, a, f.k[0], 2*time.Hour, f.state(f.device))
	// The attack of the issue: k0 answers a by rotating the stolen k1 out.
	bDropsK1 := f.next(OpRotate, a, f.k[0], 2*time.Hour, withoutK1)
	// A thief with k1 rotates in a key of their own, then signs with it.
	aAddsFresh := f.next(OpRotate, f.genesis, f.k[1], time.Hour, freshOnTop)
	bByFresh := f.next(OpUpdate, aAddsFresh, fresh, 2*time.Hour, freshOnTop)

	override := func(signer int) *Operation {
		return f.next(OpUpdate, f.genesis, f.k[signer], 3*time.Hour, f.state(thief))
	}
	tests := []struct {
		name      string
		nullify   []*Operation // applied after genesis; the override forks at genesis
		signer    int          // rotation key (of genesis) that signs the override
		err       error
		blockedBy *Operation // the operation named by the *PriorityError
	}{
		{"one op, higher priority", []*Operation{a}, 1, nil, nil},
		{"one op, equal priority", []*Operation{a}, 2, ErrInsufficientPriority, a},
		{"one op, lower priority", []*Operation{aByK1}, 2, ErrInsufficientPriority, aByK1},
		{"several lower ops, recovery by k0", []*Operation{a, bByK2}, 0, nil, nil},
		{"several lower ops of mixed signers, recovery by k0", []*Operation{a, bByK1}, 0, nil, nil},
		{"several ops, one of equal priority", []*Operation{a, bByK1}, 1, ErrInsufficientPriority, bByK1},
		{"chain containing a higher-priority op", []*Operation{a, bByK0}, 1, ErrInsufficientPriority, bByK0},
		{"top key cannot override a chain containing its own op", []*Operation{a, bByK0}, 0, ErrInsufficientPriority, bByK0},
		{"takeover: stolen k1 over a rotation by k0", []*Operation{a, bDropsK1}, 1, ErrInsufficientPriority, bDropsK1},
		{"k0 recovers from a key the thief rotated in", []*Operation{aAddsFresh, bByFresh}, 0, nil, nil},
		{"k2 cannot override the thief's k1 rotation", []*Operation{aAddsFresh, bByFresh}, 2, ErrInsufficientPriority, aAddsFresh},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := f.chain(Rules{}, append([]*Operation{f.genesis}, tc.nullify...)...)
			before, err := c.Head()
			require.NoError(t, err)
			o := override(tc.signer)
			err = c.Apply(uint64(len(tc.nullify)+1), o)
			h := c.History()
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				var pe *PriorityError
				require.ErrorAs(t, err, &pe)
				require.Equal(t, tc.signer, pe.Signer)
				bh, herr := tc.blockedBy.Hash()
				require.NoError(t, herr)
				require.Equal(t, bh, pe.Blocking)
				require.LessOrEqual(t, pe.BlockingSigner, pe.Signer)
				after, herr := c.Head()
				require.NoError(t, herr)
				require.Equal(t, before, after, "a refused override changes nothing")
				for _, e := range h[:len(h)-1] {
					require.Equal(t, StatusAccepted, e.Status)
				}
				return
			}
			require.NoError(t, err)
			head, err := c.Head()
			require.NoError(t, err)
			require.Equal(t, o, head.Operation)
			require.Equal(t, 2, c.Len())
			oh, _ := o.Hash()
			for _, e := range h[1 : len(h)-1] {
				require.Equal(t, StatusNullified, e.Status)
				require.Equal(t, oh, e.NullifiedBy)
			}
		})
	}
}

// TestChainAppliesInIndexOrder: the state machine takes operations in
// ledger index order only, so that which operation came first (and whose
// recovery window runs) is the ledger's integration order, not the order
// a caller happens to pass them in.
func TestChainAppliesInIndexOrder(t *testing.T) {
	f := newFixture(t)
	u := f.next(OpUpdate, f.genesis, f.k[2], time.Hour, f.state(f.device))
	rec := f.next(OpUpdate, f.genesis, f.k[0], 2*time.Hour, f.state(mustKey(t, KeyTypeEd25519)))
	tests := []struct {
		name     string
		ops      []LocatedOperation
		head     *Operation
		statuses []OpStatus
	}{
		{"increasing", []LocatedOperation{{0, f.genesis}, {3, u}, {7, rec}}, rec,
			[]OpStatus{StatusAccepted, StatusNullified, StatusAccepted}},
		{"an earlier index after a later one", []LocatedOperation{{0, f.genesis}, {7, rec}, {3, u}}, rec,
			[]OpStatus{StatusAccepted, StatusAccepted, StatusRejected}},
		{"the same index twice", []LocatedOperation{{0, f.genesis}, {3, u}, {3, rec}}, u,
			[]OpStatus{StatusAccepted, StatusAccepted, StatusRejected}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Replay(f.did, tc.ops, Rules{})
			head, err := c.Head()
			require.NoError(t, err)
			require.Equal(t, tc.head, head.Operation)
			h := c.History()
			require.Len(t, h, len(tc.statuses))
			for i, st := range tc.statuses {
				require.Equal(t, st, h[i].Status, "operation %d", i)
				if st == StatusRejected {
					require.ErrorIs(t, h[i].Err, ErrIndexOrder)
				}
			}
		})
	}
}

// TestOverrideTimeOrder: an override is dated at or after the head of the
// history it forks, not only after the operation it forks from, so a
// signer cannot date it back into the window of an earlier operation.
func TestOverrideTimeOrder(t *testing.T) {
	f := newFixture(t)
	n1 := f.next(OpUpdate, f.genesis, f.k[2], time.Hour, f.state(f.device))
	n2 := f.next(OpUpdate, n1, f.k[2], 5*time.Hour, f.state(f.device))
	for _, tc := range []struct {
		name string
		at   time.Duration
		err  error
	}{
		{"before the fork point", 30 * time.Minute, ErrTimeOrder},
		{"between the nullified operations", 3 * time.Hour, ErrTimeOrder},
		{"one nanosecond before the head", 5*time.Hour - time.Nanosecond, ErrTimeOrder},
		{"at the head's time", 5 * time.Hour, nil},
		{"after the head, inside the first one's window", time.Hour + DefaultRecoveryWindow - time.Nanosecond, nil},
		{"after the first one's window", time.Hour + DefaultRecoveryWindow, ErrRecoveryWindowClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.chain(Rules{}, f.genesis, n1, n2)
			err := c.Apply(3, f.next(OpUpdate, f.genesis, f.k[0], tc.at, f.state(f.device)))
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Equal(t, 3, c.Len())
				return
			}
			require.NoError(t, err)
			require.Equal(t, 2, c.Len())
		})
	}
}
