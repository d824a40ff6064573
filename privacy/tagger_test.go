package privacy_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/privacy"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/tink"
)

func newTagger(t *testing.T, origin string) (*privacy.Tagger, *keyset.Handle) {
	h, err := privacy.NewTaggerKeyset()
	require.NoError(t, err)
	tg, err := privacy.NewTagger(h, origin)
	require.NoError(t, err)
	return tg, h
}

func mustTag(t *testing.T, tg *privacy.Tagger, ns, id string) ledger.SubjectTag {
	tag, err := tg.Tag(ns, id)
	require.NoError(t, err)
	return tag
}

// The tag is plain HMAC-SHA256 of the SPEC.md encoding, recomputed here
// from the raw test key without Tink, so that any implementation can
// reproduce it.
func TestTagIsHMACOfSpecifiedInput(t *testing.T) {
	h := readTestKeyset(t, "testdata/tagger_keyset.json")
	tg, err := privacy.NewTagger(h, origin)
	require.NoError(t, err)

	field := func(b []byte, s string) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		return append(b, s...)
	}
	in := field(nil, privacy.TagNamespace)
	in = field(in, origin)
	in = field(in, "mrn")
	in = field(in, "000123456")
	mac := hmac.New(sha256.New, prfKeyBytes(t, h))
	mac.Write(append(bytes.Clone(in), 0))
	require.Equal(t, mac.Sum(nil), func() []byte { tag := mustTag(t, tg, "mrn", "000123456"); return tag[:] }())

	mac.Reset()
	mac.Write(binary.BigEndian.AppendUint64(append(bytes.Clone(in), 1), 2026))
	tag, err := tg.TagAt("mrn", "000123456", 2026)
	require.NoError(t, err)
	require.Equal(t, mac.Sum(nil), tag[:])
}

func TestTagsOfTwoDeploymentsAreUnlinkable(t *testing.T) {
	a, _ := newTagger(t, origin)
	b, _ := newTagger(t, origin) // same origin, another secret
	c, _ := newTagger(t, "clinic.example/log")
	ta := mustTag(t, a, "mrn", "000123456")
	require.NotEqual(t, ta, mustTag(t, b, "mrn", "000123456"), "two keysets must give unrelated tags")
	require.NotEqual(t, ta, mustTag(t, c, "mrn", "000123456"))
	require.Equal(t, ta, mustTag(t, a, "mrn", "000123456"), "a tag is deterministic")
	require.NotEqual(t, ledger.DeriveSubjectTag("mrn", "000123456"), ta, "a tag is not the public hash")

	// The same secret under another origin gives another tag too.
	_, h := newTagger(t, origin)
	x, err := privacy.NewTagger(h, origin)
	require.NoError(t, err)
	y, err := privacy.NewTagger(h, "other.example/log")
	require.NoError(t, err)
	require.NotEqual(t, mustTag(t, x, "mrn", "1"), mustTag(t, y, "mrn", "1"))
}

func TestTagInputsAreDomainSeparated(t *testing.T) {
	tg, _ := newTagger(t, origin)
	type in struct {
		ns, id   string
		epoch    uint64
		hasEpoch bool
	}
	tag := func(i in) ledger.SubjectTag {
		var tag ledger.SubjectTag
		var err error
		if i.hasEpoch {
			tag, err = tg.TagAt(i.ns, i.id, i.epoch)
		} else {
			tag, err = tg.Tag(i.ns, i.id)
		}
		require.NoError(t, err)
		return tag
	}
	pairs := []struct {
		name string
		a, b in
	}{
		{"namespace/identifier boundary", in{ns: "ab", id: "c"}, in{ns: "a", id: "bc"}},
		{"no epoch vs epoch 0", in{ns: "mrn", id: "1"}, in{ns: "mrn", id: "1", hasEpoch: true}},
		{"two epochs", in{ns: "mrn", id: "1", epoch: 2025, hasEpoch: true}, in{ns: "mrn", id: "1", epoch: 2026, hasEpoch: true}},
		{"two namespaces", in{ns: "mrn", id: "1"}, in{ns: "did", id: "1"}},
		{"identifier with a NUL", in{ns: "a\x00b", id: "c"}, in{ns: "a", id: "b\x00c"}},
		{"epoch bytes vs identifier bytes", in{ns: "mrn", id: "1\x01\x00\x00\x00\x00\x00\x00\x07\xea"}, in{ns: "mrn", id: "1", epoch: 2026, hasEpoch: true}},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			require.NotEqual(t, tag(p.a), tag(p.b))
		})
	}
}

func TestTaggerRefuses(t *testing.T) {
	aeadHandle, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	require.NoError(t, err)
	sha512, err := keyset.NewHandle(prf.HMACSHA512PRFKeyTemplate())
	require.NoError(t, err)
	hkdf, err := keyset.NewHandle(prf.HKDFSHA256PRFKeyTemplate())
	require.NoError(t, err)
	good, err := privacy.NewTaggerKeyset()
	require.NoError(t, err)
	for _, tt := range []struct {
		name   string
		h      *keyset.Handle
		origin string
	}{
		{"nil handle", nil, origin},
		{"AEAD keyset", aeadHandle, origin},
		{"HMAC-SHA512 PRF", sha512, origin},
		{"HKDF PRF", hkdf, origin},
		{"empty origin", good, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := privacy.NewTagger(tt.h, tt.origin)
			require.ErrorIs(t, err, privacy.ErrInvalidInput)
		})
	}

	tg, err := privacy.NewTagger(good, origin)
	require.NoError(t, err)
	long := strings.Repeat("x", privacy.MaxTagFieldSize+1)
	for _, tt := range []struct{ name, ns, id string }{
		{"empty namespace", "", "1"},
		{"empty identifier", "mrn", ""},
		{"oversized namespace", long, "1"},
		{"oversized identifier", "mrn", long},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tg.Tag(tt.ns, tt.id)
			require.ErrorIs(t, err, privacy.ErrInvalidInput)
			_, err = tg.TagAt(tt.ns, tt.id, 1)
			require.ErrorIs(t, err, privacy.ErrInvalidInput)
		})
	}
}

func TestTaggerKeysetEncryptedRoundTrip(t *testing.T) {
	tg, h := newTagger(t, origin)
	kek, _ := newKEK(t)
	var file bytes.Buffer
	require.NoError(t, tg.WriteEncrypted(&file, kek))
	requireNoSecret(t, file.String(), prfKeyBytes(t, h))

	back, err := privacy.ReadTagger(bytes.NewReader(file.Bytes()), kek, origin)
	require.NoError(t, err)
	require.Equal(t, mustTag(t, tg, "mrn", "42"), mustTag(t, back, "mrn", "42"))

	otherKEK, _ := newKEK(t)
	flipped := bytes.Clone(file.Bytes())
	flipped[len(flipped)/2] ^= 1
	for _, tt := range []struct {
		name   string
		b      []byte
		kek    tink.AEAD
		origin string
	}{
		{"another origin", file.Bytes(), kek, "clinic.example/log"},
		{"another KEK", file.Bytes(), otherKEK, origin},
		{"corrupted", flipped, kek, origin},
		{"truncated", file.Bytes()[:file.Len()-3], kek, origin},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := privacy.ReadTagger(bytes.NewReader(tt.b), tt.kek, tt.origin)
			require.ErrorIs(t, err, privacy.ErrWrappedKey)
		})
	}
	require.ErrorIs(t, tg.WriteEncrypted(&file, nil), privacy.ErrInvalidInput)
}
