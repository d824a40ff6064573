package records

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
)

// SignatureChecker checks a writer's signature; *identity.Resolver and
// [KeyRing] implement it. It MUST be safe for concurrent use.
type SignatureChecker interface {
	CheckSignature(ctx context.Context, did string, message, signature []byte, at time.Time) error
}

// ErrUnknownWriter reports a signature by a DID the KeyRing has no key for.
var ErrUnknownWriter = errors.New("records: no public key for the writer")

// KeyRing is an offline SignatureChecker: the public keys a verifier was
// given for each DID, out of band. It does not know when a key was valid;
// a verifier that must know uses an identity.Resolver on the ledger. A
// KeyRing is read-only once built and safe for concurrent use.
type KeyRing map[string][]identity.PublicKey

// CheckSignature checks signature over message with any key of did.
func (k KeyRing) CheckSignature(_ context.Context, did string, message, signature []byte, _ time.Time) error {
	keys, ok := k[did]
	if !ok {
		return ErrUnknownWriter
	}
	for _, pk := range keys {
		if pk.Verify(message, signature) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: no key of the writer verifies", ledger.ErrBadSignature)
}

// checkLeafSignature decodes a leaf and checks its writer's signature.
func checkLeafSignature(ctx context.Context, leaf []byte, keys SignatureChecker) error {
	e, err := ledger.UnmarshalEntry(leaf)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if len(e.Signature) == 0 {
		return fmt.Errorf("%w: entry is not signed", ledger.ErrBadSignature)
	}
	msg, err := e.SignedMessage()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	return keys.CheckSignature(ctx, e.Writer, msg, e.Signature, e.Time)
}
