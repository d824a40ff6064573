package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Kind identifies what an entry records. Kinds are allocated in ranges so
// that domain packages can add their own without coordination:
//
//	0x0001-0x00ff  ledger core (records)
//	0x0100-0x01ff  consent (package consent)
//	0x0200-0x02ff  identity (package identity)
//	0x8000-0xffff  private use by applications
//
// The ledger accepts any non-zero kind; it attaches meaning only to its own.
type Kind uint16

// Kinds defined by the ledger core.
const (
	// KindRecordAnchored records that a health record (for example a FHIR
	// resource version) existed with the content digest in the entry.
	KindRecordAnchored Kind = 0x0001
	// KindRecordAccessed records that a writer read, changed or shared a record.
	KindRecordAccessed Kind = 0x0002
)

// Kind ranges reserved for domain packages.
const (
	KindConsentFirst  Kind = 0x0100
	KindConsentLast   Kind = 0x01ff
	KindIdentityFirst Kind = 0x0200
	KindIdentityLast  Kind = 0x02ff
)

// SubjectTag is the pseudonymous tag of the subject an entry is about (a
// patient, a record, a DID). It is never a name or a medical record number:
// deployments derive it with a keyed hash, see [DeriveSubjectTag].
type SubjectTag [32]byte

// String returns the hex encoding of the tag.
func (t SubjectTag) String() string { return hex.EncodeToString(t[:]) }

// DeriveSubjectTag derives a public subject tag from a namespace and an
// identifier, as SHA-256("healthledger/subject/v1\x00" || namespace || 0x00 || id).
// Use it only for identifiers that are public already (a DID); for patient
// identifiers, derive tags with a secret key (an HMAC) so that the log cannot
// be searched by guessing identifiers.
func DeriveSubjectTag(namespace, id string) SubjectTag {
	h := sha256.New()
	h.Write([]byte("healthledger/subject/v1\x00"))
	h.Write([]byte(namespace))
	h.Write([]byte{0})
	h.Write([]byte(id))
	var t SubjectTag
	h.Sum(t[:0])
	return t
}

// Digest is the SHA-256 digest of the content an entry is about (for example
// the canonical bytes of a FHIR resource version). The ledger stores the
// digest, never the content.
type Digest [32]byte

// String returns the hex encoding of the digest.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Entry is one fact recorded in the ledger. Its binary encoding (see
// [Entry.MarshalBinary] and SPEC.md) is the exact leaf of the Merkle tree.
type Entry struct {
	// Kind says what the entry records. Must be non-zero.
	Kind Kind
	// Subject is the pseudonymous subject tag. Entries are indexed by it.
	Subject SubjectTag
	// Writer is the identity of the writer, a DID such as "did:hl:..." or
	// "did:key:...". Required; at most MaxWriterSize bytes.
	Writer string
	// Time is when the writer says the fact happened. It is encoded with
	// nanosecond precision in UTC; the zero time is not allowed.
	Time time.Time
	// Digest is the content digest.
	Digest Digest
	// Body is optional data in the leaf itself (encoding version 1): it is
	// hashed into the tree and can never be removed, so it MUST hold
	// nothing that may have to be erased. Use Payload for anything about a
	// person. At most MaxBodySize bytes; empty when PayloadCommitment is set.
	Body []byte
	// PayloadCommitment, if not zero, commits the leaf (encoding version 2)
	// to a payload kept beside the tree: see [Payload]. Set it with
	// [Entry.SetPayload].
	PayloadCommitment Commitment
	// Payload is the payload the commitment is to. It is not part of the
	// leaf: a Store keeps it beside the tree, Log.Entry returns it checked
	// against the commitment, and erasure deletes it while every leaf,
	// tile, checkpoint and receipt stays byte-identical. Nil when the
	// entry has none, or when it was read from a leaf alone.
	Payload *Payload
	// Signature is the writer's optional signature over [Entry.SignedMessage].
	// At most MaxSignatureSize bytes.
	Signature []byte
}

// Size limits of an encoded entry.
const (
	// MaxEntrySize is the largest encoding accepted: 65535 bytes, the most
	// a C2SP tlog-tiles entry bundle can carry (its length prefixes are
	// big-endian uint16). The field limits keep every valid entry below
	// 65110 bytes anyway.
	MaxEntrySize     = 1<<16 - 1
	MaxWriterSize    = 2048
	MaxSignatureSize = 1024
	// MaxBodySize is 64 KiB minus 512 bytes of header headroom and the
	// writer and signature limits.
	MaxBodySize = 64<<10 - 512 - MaxWriterSize - MaxSignatureSize
)
