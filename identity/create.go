package identity

import (
	"context"
	"time"

	"github.com/healthledger/healthledger/ledger"
)

// Appender appends an entry to a ledger and returns its receipt, as
// (*ledger.Log).Append does.
type Appender interface {
	Append(ctx context.Context, e *ledger.Entry) (*ledger.Receipt, error)
}

// AssertionKeyID is the fragment of the verification method that [Create]
// gives a new identity's assertion key.
const AssertionKeyID = "key-1"

// Created is a new did:hl identity, as [Create] returns it.
type Created struct {
	// Holder signs entries as the identity, with the assertion key
	// (verification method "<did>#key-1").
	Holder *Holder
	// Rotation is the identity's rotation key, the only key that can
	// update, rotate, recover or deactivate it: keep it apart from the
	// Holder's key (offline, or in a KMS), and lose it only with the
	// identity.
	Rotation *PrivateKey
	// Receipt is the receipt of the genesis operation's entry.
	Receipt *ledger.Receipt
}

// Create makes a did:hl identity in one step: it generates a rotation key
// and an assertion key of type kt, signs the genesis operation at time at
// with the rotation key, appends it to log and returns the identity. A
// failed append leaves nothing behind but the generated keys, which are
// dropped; call Create again. For other shapes of identity (several
// rotation keys, keys from a KMS) use [NewGenesis], [OperationEntry] and
// [NewHolder].
func Create(ctx context.Context, log Appender, kt KeyType, at time.Time) (*Created, error) {
	rotation, err := GenerateKey(kt)
	if err != nil {
		return nil, err
	}
	assertion, err := GenerateKey(kt)
	if err != nil {
		return nil, err
	}
	state := State{
		RotationKeys:        []PublicKey{rotation.Public()},
		VerificationMethods: []VerificationMethod{{ID: AssertionKeyID, Key: assertion.Public(), Relationships: AssertionMethod}},
	}
	op, did, err := NewGenesis(state, at, rotation)
	if err != nil {
		return nil, err
	}
	e, err := OperationEntry(did, op, rotation)
	if err != nil {
		return nil, err
	}
	rc, err := log.Append(ctx, e)
	if err != nil {
		return nil, err
	}
	h, err := NewHolder(did, did+"#"+AssertionKeyID, assertion)
	if err != nil {
		return nil, err
	}
	return &Created{Holder: h, Rotation: rotation, Receipt: rc}, nil
}
