package identity

import (
	"encoding/base32"
	"fmt"
	"strings"
)

// Method names.
const (
	// MethodHL is the ledger-anchored method of this package.
	MethodHL = "hl"
	// MethodKey is the did:key method (Ed25519 and P-256 keys only).
	MethodKey = "key"
)

// didHLIDLen is the length of a did:hl method-specific ID: base32 of 25
// bytes (200 bits) without padding.
const didHLIDLen = 40

// maxDIDLen bounds every DID this package parses.
const maxDIDLen = 256

// lowerBase32 is RFC 4648 base32 with the lowercase alphabet and no padding.
var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DID is a parsed decentralized identifier of a supported method.
type DID struct {
	// Method is MethodHL or MethodKey.
	Method string
	// ID is the method-specific identifier.
	ID string
}

// String returns "did:" + Method + ":" + ID.
func (d DID) String() string { return "did:" + d.Method + ":" + d.ID }

// ParseDID parses a did:hl or did:key DID (no path, query or fragment). It
// fails with ErrMalformedDID or ErrUnsupportedMethod; for did:key it also
// checks that the ID is an Ed25519 or P-256 multikey.
func ParseDID(s string) (DID, error) {
	if len(s) > maxDIDLen {
		return DID{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformedDID, maxDIDLen)
	}
	rest, ok := strings.CutPrefix(s, "did:")
	if !ok {
		return DID{}, fmt.Errorf("%w: missing did: prefix", ErrMalformedDID)
	}
	method, id, ok := strings.Cut(rest, ":")
	if !ok || method == "" || id == "" {
		return DID{}, fmt.Errorf("%w: need did:<method>:<id>", ErrMalformedDID)
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return DID{}, fmt.Errorf("%w: method name", ErrMalformedDID)
		}
	}
	switch method {
	case MethodHL:
		if len(id) != didHLIDLen {
			return DID{}, fmt.Errorf("%w: did:hl id must be %d characters", ErrMalformedDID, didHLIDLen)
		}
		if _, err := lowerBase32.DecodeString(id); err != nil || strings.ToLower(id) != id {
			return DID{}, fmt.Errorf("%w: did:hl id must be lowercase base32", ErrMalformedDID)
		}
	case MethodKey:
		if _, err := ParseMultibase(id); err != nil {
			return DID{}, fmt.Errorf("%w: did:key id: %w", ErrMalformedDID, err)
		}
	default:
		return DID{}, fmt.Errorf("%w: did:%s", ErrUnsupportedMethod, method)
	}
	return DID{Method: method, ID: id}, nil
}

// DIDKey returns the did:key DID of the key: "did:key:" + Multibase().
func (k PublicKey) DIDKey() string { return "did:key:" + k.Multibase() }

// DIDFromGenesis returns the did:hl DID named by a signed genesis operation:
// "did:hl:" + lowercase unpadded base32 of the first 25 bytes of the
// operation hash (SHA-256 over the domain string and the signed encoding).
// The signature is part of the hash, so only the holder of a rotation key
// of the genesis state can make the operation that names a DID.
func DIDFromGenesis(o *Operation) (string, error) {
	if o.Type != OpCreate {
		return "", malformed("not a genesis operation")
	}
	h, err := o.Hash()
	if err != nil {
		return "", err
	}
	return didFromHash(h), nil
}

func didFromHash(h OpHash) string {
	return "did:" + MethodHL + ":" + lowerBase32.EncodeToString(h[:25])
}
