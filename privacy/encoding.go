package privacy

import (
	"encoding/binary"

	"github.com/healthledger/healthledger/ledger"
)

// Domain-separation strings. Each hashed, PRF'd or authenticated structure
// of this package starts with its own versioned namespace, so that no input
// of one can be mistaken for an input of another.
const (
	// TagNamespace prefixes the PRF input of a subject tag.
	TagNamespace = "healthledger/subject-tag/v1"
	// PayloadNamespace prefixes the associated data of a sealed payload.
	PayloadNamespace = "healthledger/sealed-payload/v1"
	// DataKeyNamespace prefixes the associated data under which a subject's
	// data keyset is wrapped by the key-encryption AEAD.
	DataKeyNamespace = "healthledger/subject-data-key/v1"
	// TaggerKeysetNamespace prefixes the associated data under which a
	// Tagger's PRF keyset is written encrypted.
	TaggerKeysetNamespace = "healthledger/tagger-keyset/v1"
)

// appendField appends f with a 4-byte big-endian length prefix. Every
// variable-length input of this package is framed this way, so that
// ("ab","c") and ("a","bc") never encode alike.
func appendField(b, f []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
	return append(b, f...)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// tagInput is the PRF input of a subject tag (SPEC: "Subject tags"):
//
//	field(TagNamespace) field(origin) field(namespace) field(identifier)
//	0x00                      (no epoch)
//	0x01 uint64be(epoch)      (with an epoch)
//
// where field(x) is uint32be(len(x)) || x.
func tagInput(origin, namespace, identifier string, epoch uint64, hasEpoch bool) []byte {
	b := make([]byte, 0, 16+len(TagNamespace)+len(origin)+len(namespace)+len(identifier)+9)
	b = appendString(b, TagNamespace)
	b = appendString(b, origin)
	b = appendString(b, namespace)
	b = appendString(b, identifier)
	if !hasEpoch {
		return append(b, 0)
	}
	b = append(b, 1)
	return binary.BigEndian.AppendUint64(b, epoch)
}

// appendPayloadAD appends to b the associated data given to the data key's
// AEAD:
//
//	field(PayloadNamespace) field(origin) field(subject) field(associatedData)
func appendPayloadAD(b []byte, origin string, subject ledger.SubjectTag, associatedData []byte) []byte {
	b = appendString(b, PayloadNamespace)
	b = appendString(b, origin)
	b = appendField(b, subject[:])
	return appendField(b, associatedData)
}

// dataKeyAD is the associated data under which a subject's data keyset is
// wrapped:
//
//	field(DataKeyNamespace) field(origin) field(subject)
func dataKeyAD(origin string, subject ledger.SubjectTag) []byte {
	b := make([]byte, 0, 12+len(DataKeyNamespace)+len(origin)+len(subject))
	b = appendString(b, DataKeyNamespace)
	b = appendString(b, origin)
	return appendField(b, subject[:])
}

// taggerKeysetAD is the associated data of an encrypted Tagger keyset:
//
//	field(TaggerKeysetNamespace) field(origin)
func taggerKeysetAD(origin string) []byte {
	b := make([]byte, 0, 8+len(TaggerKeysetNamespace)+len(origin))
	b = appendString(b, TaggerKeysetNamespace)
	return appendString(b, origin)
}
