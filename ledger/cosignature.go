package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Cosignatures follow C2SP tlog-cosignature v1 with Ed25519 keys
// (https://c2sp.org/tlog-cosignature): a witness appends a note signature
// line whose signature is an 8-byte big-endian POSIX timestamp followed by
// an Ed25519 signature of
//
//	"cosignature/v1\n" || "time " || decimal timestamp || "\n" || checkpoint body
//
// under key ID SHA-256(name || "\n" || 0x04 || public key)[:4].
const (
	cosignatureAlg     = 0x04
	noteEd25519Alg     = 0x01
	cosignatureHeader  = "cosignature/v1\n"
	cosignatureSigSize = 8 + ed25519.SignatureSize
	signerKeyPrefix    = "PRIVATE+KEY+"
	noteSigPrefix      = "\u2014 "
)

var errCosignerKey = errors.New("ledger: malformed cosigner key")

// Cosignature is a cosignature that verified: who made it and when.
type Cosignature struct {
	// Name is the cosigner's key name.
	Name string
	// KeyHash is the cosigner's key ID.
	KeyHash uint32
	// Time is the cosignature timestamp, in whole seconds.
	Time time.Time
}

// Cosigner makes tlog-cosignature v1 Ed25519 cosignatures. A witness MUST
// verify the log's signature and the consistency of a checkpoint with every
// checkpoint it cosigned before for the same origin before cosigning it;
// Cosigner itself only signs. It is safe for concurrent use.
type Cosigner struct {
	name  string
	keyID uint32
	priv  ed25519.PrivateKey
	vkey  string
}

// GenerateCosignerKey generates an Ed25519 cosigner key named name (a
// schema-less URL identifying the witness). signerKey is secret and has the
// note signer key form "PRIVATE+KEY+<name>+<key ID>+<base64(0x04 || seed)>";
// verifierKey is the vkey "<name>+<key ID>+<base64(0x04 || public key)>"
// to give to clients.
func GenerateCosignerKey(name string) (signerKey, verifierKey string, err error) {
	if !validKeyName(name) {
		return "", "", fieldErr(ErrMalformed, "cosigner.name", "not a valid note key name")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("ledger: generating cosigner key: %w", err)
	}
	id := cosignerKeyID(name, pub)
	signerKey = fmt.Sprintf("%s%s+%08x+%s", signerKeyPrefix, name, id, encodeAlgKey(priv.Seed()))
	verifierKey = fmt.Sprintf("%s+%08x+%s", name, id, encodeAlgKey(pub))
	return signerKey, verifierKey, nil
}

func encodeAlgKey(key []byte) string {
	return base64.StdEncoding.EncodeToString(append([]byte{cosignatureAlg}, key...))
}

// NewCosigner returns the cosigner for a signer key made by
// [GenerateCosignerKey]. It also accepts a standard Ed25519 note signer key
// (signature type 0x01, as made by note.GenerateKey), as other witness
// implementations do: the same seed then signs cosignatures under the
// type 0x04 key ID. The error never contains the key.
func NewCosigner(signerKey string) (*Cosigner, error) {
	rest, ok := strings.CutPrefix(signerKey, signerKeyPrefix)
	if !ok {
		return nil, errCosignerKey
	}
	name, seed, err := parseTypedKey(rest, ed25519.SeedSize, func(seed []byte) ed25519.PublicKey {
		return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	})
	if err != nil {
		return nil, err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	id := cosignerKeyID(name, pub)
	return &Cosigner{
		name:  name,
		keyID: id,
		priv:  priv,
		vkey:  fmt.Sprintf("%s+%08x+%s", name, id, encodeAlgKey(pub)),
	}, nil
}

// Name returns the cosigner's key name.
func (c *Cosigner) Name() string { return c.name }

// KeyHash returns the cosigner's key ID.
func (c *Cosigner) KeyHash() uint32 { return c.keyID }

// VerifierKey returns the cosigner's public verifier key.
func (c *Cosigner) VerifierKey() string { return c.vkey }

// String returns the public verifier key; never the private key.
func (c *Cosigner) String() string { return "ledger.Cosigner(" + c.vkey + ")" }

// GoString is String, so %#v shows no private key either.
func (c *Cosigner) GoString() string { return c.String() }

// Format prints String for every verb, so no formatting verb shows the
// private key.
func (c *Cosigner) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue logs the public verifier key only.
func (c *Cosigner) LogValue() slog.Value { return slog.StringValue(c.vkey) }

// SignatureLine returns the cosignature line ("— <name> <base64>\n") over
// the checkpoint note body at time t, as a witness returns it in the C2SP
// tlog-witness protocol. t is truncated to whole seconds and MUST NOT be
// before 1970.
func (c *Cosigner) SignatureLine(body []byte, t time.Time) ([]byte, error) {
	if _, err := ParseCheckpoint(body); err != nil {
		return nil, err
	}
	ts := t.Unix()
	if ts < 0 {
		return nil, fieldErr(ErrMalformed, "cosignature.time", "before 1970")
	}
	sig := ed25519.Sign(c.priv, cosignedMessage(body, uint64(ts)))
	return cosignatureLine(c.name, c.keyID, uint64(ts), sig), nil
}

// cosignatureLine returns the note signature line "— <name> <base64>\n" of
// a tlog-cosignature/v1: key ID, timestamp, Ed25519 signature.
func cosignatureLine(name string, keyID uint32, ts uint64, ed25519Sig []byte) []byte {
	sig := make([]byte, 4+8, 4+cosignatureSigSize)
	binary.BigEndian.PutUint32(sig, keyID)
	binary.BigEndian.PutUint64(sig[4:], ts)
	sig = append(sig, ed25519Sig...)
	line := make([]byte, 0, len(noteSigPrefix)+len(name)+1+base64.StdEncoding.EncodedLen(len(sig))+1)
	line = append(line, noteSigPrefix...)
	line = append(line, name...)
	line = append(line, ' ')
	line = base64.StdEncoding.AppendEncode(line, sig)
	return append(line, '\n')
}

// Cosign returns the signed checkpoint note signed with a cosignature line
// of c at time t appended. It fails if the note is malformed or already
// carries a signature line of c's key.
func (c *Cosigner) Cosign(signed []byte, t time.Time) ([]byte, error) {
	body, sigs, err := splitNote(signed)
	if err != nil {
		return nil, err
	}
	prefix := noteSigPrefix + c.name + " "
	for line := range strings.Lines(string(sigs)) {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(rest, "\n"))
		if err == nil && len(raw) >= 4 && binary.BigEndian.Uint32(raw) == c.keyID {
			return nil, fieldErr(ErrMalformed, "cosignature", "note is already cosigned by this key")
		}
	}
	line, err := c.SignatureLine(body, t)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(signed)+len(line))
	out = append(out, signed...)
	return append(out, line...), nil
}

// splitNote splits a signed note into its body (ending in a newline) and
// its signature block (one or more lines, each ending in a newline).
func splitNote(signed []byte) (body, sigs []byte, err error) {
	if len(signed) > MaxCheckpointSize {
		return nil, nil, fieldErr(ErrTooLarge, "checkpoint", fmt.Sprintf("longer than %d bytes", MaxCheckpointSize))
	}
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 {
		return nil, nil, fieldErr(ErrMalformed, "checkpoint", "not a signed note")
	}
	body, sigs = signed[:i+1], signed[i+2:]
	if len(sigs) == 0 || sigs[len(sigs)-1] != '\n' {
		return nil, nil, fieldErr(ErrMalformed, "checkpoint", "not a signed note")
	}
	for line := range bytes.Lines(sigs) {
		if !bytes.HasPrefix(line, []byte(noteSigPrefix)) {
			return nil, nil, fieldErr(ErrMalformed, "checkpoint", "not a signed note")
		}
	}
	return body, sigs, nil
}

// cosignedMessage returns the tlog-cosignature v1 Ed25519 signed message.
func cosignedMessage(body []byte, ts uint64) []byte {
	msg := make([]byte, 0, len(cosignatureHeader)+5+20+1+len(body))
	msg = append(msg, cosignatureHeader...)
	msg = append(msg, "time "...)
	msg = strconv.AppendUint(msg, ts, 10)
	msg = append(msg, '\n')
	return append(msg, body...)
}

// cosignerKeyID returns SHA-256(name || "\n" || 0x04 || pub)[:4].
func cosignerKeyID(name string, pub ed25519.PublicKey) uint32 {
	return typedKeyID(name, cosignatureAlg, pub)
}

// typedKeyID returns SHA-256(name || "\n" || alg || pub)[:4], the key ID
// of signed notes and cosignatures.
func typedKeyID(name string, alg byte, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', alg})
	h.Write(pub)
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint32(h.Sum(sum[:0]))
}

// parseTypedKey parses "<name>+<8 hex digits>+<base64(type || key)>" where
// type is 0x04 (cosignature/v1) or 0x01 (a note Ed25519 key) and key has
// keySize bytes. The key ID must be the one of that type for the public key
// that pub derives from key.
func parseTypedKey(s string, keySize int, pub func([]byte) ed25519.PublicKey) (name string, key []byte, err error) {
	name, rest, ok1 := strings.Cut(s, "+")
	hexID, b64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !validKeyName(name) || len(hexID) != 8 {
		return "", nil, errCosignerKey
	}
	id, err := strconv.ParseUint(hexID, 16, 32)
	if err != nil {
		return "", nil, errCosignerKey
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != 1+keySize {
		return "", nil, errCosignerKey
	}
	alg, key := raw[0], raw[1:]
	if alg != cosignatureAlg && alg != noteEd25519Alg {
		return "", nil, errCosignerKey
	}
	if typedKeyID(name, alg, pub(key)) != uint32(id) {
		return "", nil, errCosignerKey
	}
	return name, key, nil
}

// validKeyName reports whether name is a valid note key name: non-empty
// UTF-8 without spaces, control characters or '+'.
func validKeyName(name string) bool {
	if name == "" || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r == '+' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// CosignatureVerifier verifies tlog-cosignature v1 Ed25519 cosignatures of
// one witness. It implements note.Verifier, so it can also be passed to
// note.Open; there, Verify's sig argument is the timestamp followed by the
// Ed25519 signature. It is safe for concurrent use.
type CosignatureVerifier struct {
	name  string
	keyID uint32
	pub   ed25519.PublicKey
}

// NewCosignatureVerifier parses a cosigner verifier key: a vkey with
// signature type 0x04, as returned by [GenerateCosignerKey], or a standard
// Ed25519 note vkey (type 0x01) of the witness's public key, as some
// witnesses publish. Either way it verifies cosignature/v1 cosignatures
// under the type 0x04 key ID.
func NewCosignatureVerifier(verifierKey string) (*CosignatureVerifier, error) {
	name, pub, err := parseTypedKey(verifierKey, ed25519.PublicKeySize, func(k []byte) ed25519.PublicKey { return k })
	if err != nil {
		return nil, err
	}
	return &CosignatureVerifier{name: name, keyID: cosignerKeyID(name, pub), pub: ed25519.PublicKey(pub)}, nil
}

// Name returns the witness's key name.
func (v *CosignatureVerifier) Name() string { return v.name }

// KeyHash returns the witness's key ID.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.keyID }

// Verify reports whether sig (timestamp || Ed25519 signature) is a valid
// cosignature of the note body msg.
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	_, ok := v.verify(msg, sig)
	return ok
}

func (v *CosignatureVerifier) verify(body, sig []byte) (uint64, bool) {
	if len(sig) != cosignatureSigSize {
		return 0, false
	}
	ts := binary.BigEndian.Uint64(sig)
	if ts > 1<<63-1 {
		return 0, false
	}
	return ts, ed25519.Verify(v.pub, cosignedMessage(body, ts), sig[8:])
}

// VerifyCosignatures returns the cosignatures on the signed note that
// verify under one of the witnesses' keys, at most one per witness, in the
// order of the witnesses. It does not check the log's own signature (see
// [OpenCheckpoint]). Lines of unknown keys and cosignatures that do not
// verify are skipped; a malformed note is an error wrapping ErrMalformed.
func VerifyCosignatures(signed []byte, witnesses []*CosignatureVerifier) ([]Cosignature, error) {
	body, sigs, err := splitNote(signed)
	if err != nil {
		return nil, err
	}
	found := make([]*Cosignature, len(witnesses))
	for line := range bytes.Lines(sigs) {
		line = bytes.TrimSuffix(line[len(noteSigPrefix):], []byte{'\n'})
		name, b64, ok := bytes.Cut(line, []byte{' '})
		if !ok {
			continue
		}
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
		n, err := base64.StdEncoding.Decode(raw, b64)
		if err != nil || n < 4 {
			continue
		}
		raw = raw[:n]
		id := binary.BigEndian.Uint32(raw)
		for i, w := range witnesses {
			if found[i] != nil || w == nil || w.keyID != id || w.name != string(name) {
				continue
			}
			if ts, ok := w.verify(body, raw[4:]); ok {
				found[i] = &Cosignature{Name: w.name, KeyHash: w.keyID, Time: time.Unix(int64(ts), 0).UTC()}
			}
		}
	}
	var out []Cosignature
	for _, c := range found {
		if c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}
