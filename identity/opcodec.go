package identity

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// This file holds the canonical binary encoding of operations (SPEC.md,
// "Operation encoding"). Every integer is big-endian; strings are
// length-prefixed. The decoder accepts exactly the bytes the encoder
// produces: any other input fails with ErrMalformedOperation.

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedOperation}, args...)...)
}

// validate checks every structural rule of an operation; withSig says
// whether a signature is required.
func (o *Operation) validate(withSig bool) error {
	switch o.Type {
	case OpCreate:
		if !o.Prev.IsZero() {
			return malformed("create must have no prev")
		}
	case OpUpdate, OpRotate, OpDeactivate:
		if o.Prev.IsZero() {
			return malformed("%s needs a prev", o.Type)
		}
	default:
		return malformed("unknown type %d", uint8(o.Type))
	}
	if o.Time.IsZero() || o.Time.Before(time.Unix(0, 1)) || o.Time.After(time.Unix(0, math.MaxInt64)) {
		return malformed("time must be after 1970 and before 2262")
	}
	if o.Type == OpDeactivate {
		s := o.State
		if len(s.RotationKeys)+len(s.VerificationMethods)+len(s.Services)+len(s.AlsoKnownAs) != 0 {
			return malformed("deactivate carries an empty state")
		}
	} else if err := o.State.validate(); err != nil {
		return err
	}
	if withSig && len(o.Signature) != SignatureSize {
		return malformed("signature must be %d bytes", SignatureSize)
	}
	return nil
}

// validate checks the rules of a non-empty state.
func (s *State) validate() error {
	if n := len(s.RotationKeys); n < 1 || n > MaxRotationKeys {
		return malformed("need 1 to %d rotation keys, got %d", MaxRotationKeys, n)
	}
	for i, k := range s.RotationKeys {
		if k.IsZero() {
			return malformed("rotation key %d is empty", i)
		}
		for _, o := range s.RotationKeys[:i] {
			if k.Equal(o) {
				return malformed("rotation key %d is listed twice", i)
			}
		}
	}
	if len(s.VerificationMethods) > MaxVerificationMethods {
		return malformed("more than %d verification methods", MaxVerificationMethods)
	}
	ids := make(map[string]bool, len(s.VerificationMethods)+len(s.Services))
	for _, vm := range s.VerificationMethods {
		if !validFragment(vm.ID) || ids[vm.ID] {
			return malformed("verification method id invalid or duplicate")
		}
		ids[vm.ID] = true
		if vm.Key.IsZero() {
			return malformed("verification method %q has no key", vm.ID)
		}
		if vm.Relationships == 0 || vm.Relationships&^allRelationships != 0 {
			return malformed("verification method %q has invalid relationships", vm.ID)
		}
	}
	if len(s.Services) > MaxServices {
		return malformed("more than %d services", MaxServices)
	}
	for _, sv := range s.Services {
		if !validFragment(sv.ID) || ids[sv.ID] {
			return malformed("service id invalid or duplicate")
		}
		ids[sv.ID] = true
		if !printableASCII(sv.Type, maxServiceType) || !printableASCII(sv.Endpoint, maxEndpoint) {
			return malformed("service %q type or endpoint invalid", sv.ID)
		}
	}
	if len(s.AlsoKnownAs) > MaxAlsoKnownAs {
		return malformed("more than %d alsoKnownAs", MaxAlsoKnownAs)
	}
	for _, a := range s.AlsoKnownAs {
		if !printableASCII(a, maxAKA) {
			return malformed("alsoKnownAs entry invalid")
		}
	}
	return nil
}

// validFragment reports whether s is 1..64 characters of [A-Za-z0-9._-].
func validFragment(s string) bool {
	if len(s) == 0 || len(s) > maxFragment {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// printableASCII reports whether s is 1..limit characters in 0x21..0x7e.
func printableASCII(s string, limit int) bool {
	if len(s) == 0 || len(s) > limit {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// appendEncoding appends the encoding of o to b, with or without signature.
func (o *Operation) appendEncoding(b []byte, withSig bool) ([]byte, error) {
	if err := o.validate(withSig); err != nil {
		return nil, err
	}
	start := len(b)
	b = o.appendFields(b, withSig)
	if len(b)-start > MaxOperationSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrOperationTooLarge, len(b)-start, MaxOperationSize)
	}
	return b, nil
}

// appendFields appends o's fields as encoded, without validating them.
func (o *Operation) appendFields(b []byte, withSig bool) []byte {
	b = append(b, opVersion, byte(o.Type))
	b = append(b, o.Prev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(o.Time.UnixNano()))
	s := &o.State
	b = append(b, byte(len(s.RotationKeys)))
	for _, k := range s.RotationKeys {
		b = appendKey(b, k)
	}
	b = append(b, byte(len(s.VerificationMethods)))
	for _, vm := range s.VerificationMethods {
		b = appendStr8(b, vm.ID)
		b = append(b, byte(vm.Relationships))
		b = appendKey(b, vm.Key)
	}
	b = append(b, byte(len(s.Services)))
	for _, sv := range s.Services {
		b = appendStr8(b, sv.ID)
		b = appendStr8(b, sv.Type)
		b = appendStr16(b, sv.Endpoint)
	}
	b = append(b, byte(len(s.AlsoKnownAs)))
	for _, a := range s.AlsoKnownAs {
		b = appendStr16(b, a)
	}
	if withSig {
		b = append(b, byte(len(o.Signature)))
		b = append(b, o.Signature...)
	} else {
		b = append(b, 0)
	}
	return b
}

func appendKey(b []byte, k PublicKey) []byte {
	b = append(b, byte(k.typ))
	return append(b, k.raw...)
}

func appendStr8(b []byte, s string) []byte {
	b = append(b, byte(len(s)))
	return append(b, s...)
}

func appendStr16(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// opReader reads the fields of an encoded operation.
type opReader struct {
	p   []byte
	err error
}

func (r *opReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.p) {
		r.err = malformed("truncated")
		return nil
	}
	v := r.p[:n]
	r.p = r.p[n:]
	return v
}

func (r *opReader) u8() byte {
	v := r.bytes(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (r *opReader) str8() string  { return string(r.bytes(int(r.u8()))) }
func (r *opReader) str16() string { return string(r.bytes(int(r.u16()))) }

func (r *opReader) u16() uint16 {
	v := r.bytes(2)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint16(v)
}

func (r *opReader) key() PublicKey {
	t := KeyType(r.u8())
	if r.err != nil {
		return PublicKey{}
	}
	size, err := t.publicKeySize()
	if err != nil {
		r.err = fmt.Errorf("%w: %w", ErrMalformedOperation, err)
		return PublicKey{}
	}
	raw := r.bytes(size)
	if r.err != nil {
		return PublicKey{}
	}
	k, err := NewPublicKey(t, raw)
	if err != nil {
		r.err = fmt.Errorf("%w: %w", ErrMalformedOperation, err)
	}
	return k
}

// count reads a list length and checks it against limit before anything
// is allocated.
func (r *opReader) count(limit int) int {
	n := int(r.u8())
	if n > limit && r.err == nil {
		r.err = malformed("list of %d above limit %d", n, limit)
	}
	if r.err != nil {
		return 0
	}
	return n
}

// UnmarshalOperation decodes a signed operation. It accepts only the
// canonical encoding of a structurally valid operation (the signature is
// not verified here) and fails with ErrOperationTooLarge or
// ErrMalformedOperation.
func UnmarshalOperation(data []byte) (*Operation, error) {
	if len(data) > MaxOperationSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrOperationTooLarge, len(data), MaxOperationSize)
	}
	r := &opReader{p: data}
	if v := r.u8(); r.err == nil && v != opVersion {
		return nil, malformed("unknown version %d", v)
	}
	o := &Operation{Type: OpType(r.u8())}
	copy(o.Prev[:], r.bytes(32))
	if ts := r.bytes(8); ts != nil {
		o.Time = time.Unix(0, int64(binary.BigEndian.Uint64(ts))).UTC()
	}
	s := &o.State
	for range r.count(MaxRotationKeys) {
		s.RotationKeys = append(s.RotationKeys, r.key())
	}
	for range r.count(MaxVerificationMethods) {
		vm := VerificationMethod{ID: r.str8(), Relationships: Relationship(r.u8())}
		vm.Key = r.key()
		s.VerificationMethods = append(s.VerificationMethods, vm)
	}
	for range r.count(MaxServices) {
		s.Services = append(s.Services, Service{ID: r.str8(), Type: r.str8(), Endpoint: r.str16()})
	}
	for range r.count(MaxAlsoKnownAs) {
		s.AlsoKnownAs = append(s.AlsoKnownAs, r.str16())
	}
	o.Signature = append([]byte(nil), r.bytes(int(r.u8()))...)
	if r.err != nil {
		return nil, r.err
	}
	if len(r.p) != 0 {
		return nil, malformed("%d trailing bytes", len(r.p))
	}
	if err := o.validate(true); err != nil {
		return nil, err
	}
	return o, nil
}
