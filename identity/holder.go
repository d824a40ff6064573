package identity

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/healthledger/healthledger/ledger"
)

// Holder is a DID holder's signing identity: a DID, the id of one of its
// verification methods and the private key of that method.
type Holder struct {
	did   string
	keyID string
	key   *PrivateKey
}

// NewHolder returns a Holder for did that signs with key as the
// verification method keyID (the full DID URL, "<did>#<fragment>"). For
// did:key, keyID is "<did>#<multibase>" and key must be the DID's key.
func NewHolder(did, keyID string, key *PrivateKey) (*Holder, error) {
	d, err := ParseDID(did)
	if err != nil {
		return nil, err
	}
	if key == nil || len(keyID) <= len(did)+1 || keyID[:len(did)+1] != did+"#" {
		return nil, fmt.Errorf("%w: key id must be <did>#<fragment>", ErrMalformedDID)
	}
	if d.Method == MethodKey && (keyID != did+"#"+d.ID || d.ID != key.Public().Multibase()) {
		return nil, fmt.Errorf("%w: did:key holder must use the DID's own key", ErrMalformedDID)
	}
	return &Holder{did: did, keyID: keyID, key: key}, nil
}

// DID returns the holder's DID.
func (h *Holder) DID() string { return h.did }

// KeyID returns the verification method id the holder signs with.
func (h *Holder) KeyID() string { return h.keyID }

// Public returns the public key the holder signs with.
func (h *Holder) Public() PublicKey { return h.key.Public() }

// Sign signs message as is. Use it for messages that carry their own
// domain separation (for example a consent's signed encoding); check with
// [Resolver.CheckSignature].
func (h *Holder) Sign(message []byte) ([]byte, error) { return h.key.Sign(message) }

// SignedRequest is a payload signed by a DID holder for one verification
// relationship, for example an access request (Authentication) or a
// statement (AssertionMethod).
type SignedRequest struct {
	// DID is the signer.
	DID string `json:"did"`
	// KeyID is the verification method used, "<did>#<fragment>".
	KeyID string `json:"keyId"`
	// Relationship is the one relationship the signature is valid for.
	Relationship Relationship `json:"relationship"`
	// Time is when the request was signed; the key must be valid then.
	Time time.Time `json:"time"`
	// Payload is the signed content.
	Payload []byte `json:"payload"`
	// Signature is over [SignedRequest.SignedMessage].
	Signature []byte `json:"signature"`
}

const requestDomain = "healthledger/identity/request/v1\x00"

// maxRequestPayload bounds a request payload.
const maxRequestPayload = 1 << 20

// SignedMessage returns the bytes signed: the domain string, then the
// relationship byte, the time (int64 Unix nanoseconds), and the DID, the
// key id and the payload, each prefixed by its 4-byte big-endian length.
func (q *SignedRequest) SignedMessage() ([]byte, error) {
	if q.Relationship&allRelationships == 0 || q.Relationship&(q.Relationship-1) != 0 {
		return nil, fmt.Errorf("%w: request needs exactly one relationship", ErrMalformedDocument)
	}
	if q.Time.IsZero() || len(q.Payload) > maxRequestPayload {
		return nil, fmt.Errorf("%w: request needs a time and a payload under 1 MiB", ErrMalformedDocument)
	}
	b := append([]byte(requestDomain), byte(q.Relationship))
	b = binary.BigEndian.AppendUint64(b, uint64(q.Time.UnixNano()))
	for _, f := range [][]byte{[]byte(q.DID), []byte(q.KeyID), q.Payload} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b, nil
}

// SignRequest signs payload for relationship rel at time t.
func (h *Holder) SignRequest(rel Relationship, payload []byte, t time.Time) (*SignedRequest, error) {
	q := &SignedRequest{DID: h.did, KeyID: h.keyID, Relationship: rel, Time: t.UTC(), Payload: append([]byte(nil), payload...)}
	msg, err := q.SignedMessage()
	if err != nil {
		return nil, err
	}
	if q.Signature, err = h.key.Sign(msg); err != nil {
		return nil, err
	}
	return q, nil
}

// VerifyRequest checks q against the signer's DID document as of q.Time:
// the key q.KeyID must be in q.Relationship (a key only in assertionMethod
// cannot authenticate) and the signature must verify. It fails with
// ErrWrongRelationship, ErrBadSignature, ErrDeactivated or a resolution
// error.
func (r *Resolver) VerifyRequest(ctx context.Context, q *SignedRequest) error {
	msg, err := q.SignedMessage()
	if err != nil {
		return err
	}
	doc, err := r.documentAt(ctx, q.DID, q.Time)
	if err != nil {
		return err
	}
	k, err := doc.Key(q.KeyID, q.Relationship)
	if err != nil {
		return err
	}
	return k.Verify(msg, q.Signature)
}

// SignEntry signs a ledger entry as its writer: it sets e.Writer to the
// holder's DID and e.Signature over e.SignedMessage(). The key must be in
// assertionMethod for a [Resolver] used as WriterVerifier to accept it.
func (h *Holder) SignEntry(e *ledger.Entry) error {
	e.Writer = h.did
	return SignEntry(e, h.key)
}
