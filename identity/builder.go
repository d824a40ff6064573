package identity

import "time"

// NewGenesis returns a signed genesis operation for state s at time t,
// signed by signer (which must hold one of s.RotationKeys), and the DID it
// names.
func NewGenesis(s State, t time.Time, signer *PrivateKey) (*Operation, string, error) {
	op := &Operation{Type: OpCreate, Time: t.UTC(), State: s}
	if err := op.Sign(signer); err != nil {
		return nil, "", err
	}
	did, err := DIDFromGenesis(op)
	if err != nil {
		return nil, "", err
	}
	return op, did, nil
}

// NewOperation returns a signed operation of type typ (OpUpdate, OpRotate
// or OpDeactivate) following the operation with hash prev, setting state s
// (ignored for OpDeactivate), at time t, signed by signer (which must hold
// a rotation key of the state that prev set). Build the next operation
// from a [Resolution]'s Head (its Hash and Operation.State) and carry it
// with [OperationEntry]; to retry a failed append, re-send that entry
// rather than signing again.
func NewOperation(typ OpType, prev OpHash, s State, t time.Time, signer *PrivateKey) (*Operation, error) {
	if typ == OpDeactivate {
		s = State{}
	}
	op := &Operation{Type: typ, Prev: prev, Time: t.UTC(), State: s}
	if typ == OpCreate {
		return nil, malformed("use NewGenesis for a create operation")
	}
	if err := op.Sign(signer); err != nil {
		return nil, err
	}
	return op, nil
}
