package privacy

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// Sizes of a data key's ciphertexts (SPEC: "Sealed payloads").
const (
	tinkPrefixSize = 5  // 0x01 || key ID (4), Tink's TINK output prefix
	gcmNonceSize   = 12 // random per payload
	gcmTagSize     = 16
	// maxPlaintext is Tink's limit for one AES-GCM message (2^36 - 32
	// bytes); crypto/cipher panics beyond about that, Seal refuses instead.
	maxPlaintext = 1<<36 - 32
)

// dataKey is a subject's unwrapped AES256-GCM data key, ready to seal and
// open. It produces and reads exactly the ciphertexts of the Tink AEAD of
// the same keyset (TINK prefix || nonce || ciphertext || tag), but writes
// them straight into the caller's buffer: Tink's Encrypt returns a new
// slice, which Seal then had to copy behind its version byte (one more
// allocation and copy of every payload; issue 9's sealing cost).
//
// The key schedule lives in the cipher.AEAD only, as in Tink's own
// primitive; the raw key bytes are read once, through Tink's visibly named
// insecuresecretdataaccess token, and zeroed. A dataKey is immutable and
// safe for concurrent use. It has no accessor for key material, and prints
// nothing of it (it has no exported fields and is never formatted).
type dataKey struct {
	gcm    cipher.AEAD
	prefix [tinkPrefixSize]byte
}

// newDataKey checks that h holds one AES256-GCM key with a TINK output
// prefix, 12-byte nonces and 16-byte tags (the only data keys a Vault
// makes) and returns it as a dataKey. Errors name the failed check, never
// key bytes.
func newDataKey(h *keyset.Handle) (*dataKey, error) {
	if h.Len() != 1 {
		return nil, errors.New("not a single-key keyset")
	}
	primary, err := h.Primary()
	if err != nil {
		return nil, errors.New("no primary key")
	}
	k, ok := primary.Key().(*aesgcm.Key)
	if !ok {
		return nil, errors.New("not an AES-GCM keyset")
	}
	p, ok := k.Parameters().(*aesgcm.Parameters)
	if !ok || p.KeySizeInBytes() != 32 {
		return nil, errors.New("not an AES256-GCM key")
	}
	if p.IVSizeInBytes() != gcmNonceSize || p.TagSizeInBytes() != gcmTagSize || p.Variant() != aesgcm.VariantTink {
		return nil, errors.New("not a TINK-prefixed AES-GCM key with 12-byte nonces and 16-byte tags")
	}
	prefix := k.OutputPrefix()
	if len(prefix) != tinkPrefixSize {
		return nil, errors.New("unexpected output prefix")
	}
	raw := k.KeyBytes().Data(insecuresecretdataaccess.Token{}) // a copy, zeroed below
	defer clear(raw)
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, errors.New("cannot make the AES cipher")
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errors.New("cannot make the GCM mode")
	}
	dk := &dataKey{gcm: gcm}
	copy(dk.prefix[:], prefix)
	return dk, nil
}

// seal appends to dst the ciphertext of plaintext bound to ad: the TINK
// prefix, a random nonce, the AES-GCM ciphertext and tag. It appends
// tinkPrefixSize+gcmNonceSize+len(plaintext)+gcmTagSize bytes, in place if
// dst has the capacity. ad is not retained.
func (k *dataKey) seal(dst, plaintext, ad []byte) ([]byte, error) {
	if uint64(len(plaintext)) > maxPlaintext {
		return nil, fmt.Errorf("plaintext of %d bytes is too long", len(plaintext))
	}
	dst = append(dst, k.prefix[:]...)
	n := len(dst)
	dst = append(dst, make([]byte, gcmNonceSize)...)
	nonce := dst[n:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, errors.New("no randomness for the nonce")
	}
	return k.gcm.Seal(dst, nonce, plaintext, ad), nil
}

// open returns the plaintext of ciphertext (as seal wrote it) bound to ad,
// in a new slice, or an error if the prefix is not this key's, it is too
// short, or it does not authenticate.
func (k *dataKey) open(ciphertext, ad []byte) ([]byte, error) {
	if len(ciphertext) < tinkPrefixSize+gcmNonceSize+gcmTagSize {
		return nil, errors.New("too short")
	}
	if !bytes.Equal(ciphertext[:tinkPrefixSize], k.prefix[:]) {
		return nil, errors.New("sealed with another key")
	}
	nonce := ciphertext[tinkPrefixSize : tinkPrefixSize+gcmNonceSize]
	body := ciphertext[tinkPrefixSize+gcmNonceSize:]
	return k.gcm.Open(make([]byte, 0, len(body)-gcmTagSize), nonce, body, ad)
}
