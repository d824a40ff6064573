package privacy

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// The vectors pin the encodings of SPEC.md: go test ./privacy -run Vectors
// -update rewrites them (and creates the test keysets if missing); review
// the diff, since a changed tag or payload format breaks every deployment.
var update = flag.Bool("update", false, "rewrite testdata vectors")

// The keysets under testdata are cleartext test keys, for vectors only.
const (
	taggerKeysetFile = "testdata/tagger_keyset.json"
	kekKeysetFile    = "testdata/kek_keyset.json"
	tagVectorsFile   = "testdata/tag_vectors.json"
	sealVectorsFile  = "testdata/sealed_vectors.json"
)

type tagVector struct {
	Origin     string  `json:"origin"`
	Namespace  string  `json:"namespace"`
	Identifier string  `json:"identifier"`
	Epoch      *uint64 `json:"epoch,omitempty"`
	InputHex   string  `json:"input_hex"`
	TagHex     string  `json:"tag_hex"`
}

type sealVector struct {
	Origin         string `json:"origin"`
	SubjectHex     string `json:"subject_hex"`
	WrappedKeyHex  string `json:"wrapped_key_hex"`
	AssociatedData string `json:"associated_data"`
	Plaintext      string `json:"plaintext"`
	SealedHex      string `json:"sealed_hex"`
}

// testKeyset reads a cleartext test keyset, creating it from template when
// -update is set and it is missing.
func testKeyset(t *testing.T, path string, template func() (*keyset.Handle, error)) *keyset.Handle {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) && *update {
		h, err := template()
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
		b = buf.Bytes()
	} else {
		require.NoError(t, err)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(b)))
	require.NoError(t, err)
	return h
}

func vectorTagger(t *testing.T, origin string) *Tagger {
	h := testKeyset(t, taggerKeysetFile, NewTaggerKeyset)
	tg, err := NewTagger(h, origin)
	require.NoError(t, err)
	return tg
}

func vectorKEK(t *testing.T) tink.AEAD {
	h := testKeyset(t, kekKeysetFile, func() (*keyset.Handle, error) { return keyset.NewHandle(aead.AES256GCMKeyTemplate()) })
	a, err := aead.New(h)
	require.NoError(t, err)
	return a
}

func u64(v uint64) *uint64 { return &v }

func TestTagVectors(t *testing.T) {
	cases := []tagVector{
		{Origin: "hospital.example/log", Namespace: "mrn", Identifier: "000123456"},
		{Origin: "hospital.example/log", Namespace: "mrn", Identifier: "000123456", Epoch: u64(0)},
		{Origin: "hospital.example/log", Namespace: "mrn", Identifier: "000123456", Epoch: u64(2026)},
		{Origin: "hospital.example/log", Namespace: "did", Identifier: "did:hl:abc"},
		{Origin: "clinic.example/log", Namespace: "mrn", Identifier: "000123456"},
		{Origin: "hospital.example/log", Namespace: "mr", Identifier: "n000123456"},
		{Origin: "hospital.example/log", Namespace: "ünï", Identifier: "ID with spaces\x00and NUL"},
	}
	if *update {
		for i := range cases {
			c := &cases[i]
			tg := vectorTagger(t, c.Origin)
			var tag ledger.SubjectTag
			var err error
			if c.Epoch != nil {
				c.InputHex = hex.EncodeToString(tagInput(c.Origin, c.Namespace, c.Identifier, *c.Epoch, true))
				tag, err = tg.TagAt(c.Namespace, c.Identifier, *c.Epoch)
			} else {
				c.InputHex = hex.EncodeToString(tagInput(c.Origin, c.Namespace, c.Identifier, 0, false))
				tag, err = tg.Tag(c.Namespace, c.Identifier)
			}
			require.NoError(t, err)
			c.TagHex = tag.String()
		}
		writeJSON(t, tagVectorsFile, cases)
	}
	var vectors []tagVector
	readJSON(t, tagVectorsFile, &vectors)
	require.NotEmpty(t, vectors, "no tag vectors loaded")
	seen := map[string]bool{}
	for _, v := range vectors {
		t.Run(v.Origin+"/"+v.Namespace, func(t *testing.T) {
			tg := vectorTagger(t, v.Origin)
			var input []byte
			var tag ledger.SubjectTag
			var err error
			if v.Epoch != nil {
				input = tagInput(v.Origin, v.Namespace, v.Identifier, *v.Epoch, true)
				tag, err = tg.TagAt(v.Namespace, v.Identifier, *v.Epoch)
			} else {
				input = tagInput(v.Origin, v.Namespace, v.Identifier, 0, false)
				tag, err = tg.Tag(v.Namespace, v.Identifier)
			}
			require.NoError(t, err)
			require.Equal(t, v.InputHex, hex.EncodeToString(input), "PRF input encoding changed")
			require.Equal(t, v.TagHex, tag.String(), "tag changed")
			require.False(t, seen[v.TagHex], "two vectors share a tag")
			seen[v.TagHex] = true
		})
	}
}

func TestSealedVectors(t *testing.T) {
	if *update {
		kek := vectorKEK(t)
		keys := NewMemoryKeyStore()
		v, err := NewVault(VaultConfig{Origin: "hospital.example/log", KEK: kek, Keys: keys})
		require.NoError(t, err)
		var out []sealVector
		for i, c := range []struct{ ad, pt string }{{"", ""}, {"kind=0x0101;consent", `{"patient":"did:hl:abc"}`}} {
			subject := ledger.DeriveSubjectTag("privacy-vectors", string(rune('a'+i)))
			sealed, err := v.Seal(t.Context(), subject, []byte(c.ad), []byte(c.pt))
			require.NoError(t, err)
			wrapped, err := keys.Get(t.Context(), subject)
			require.NoError(t, err)
			out = append(out, sealVector{Origin: v.Origin(), SubjectHex: subject.String(), WrappedKeyHex: hex.EncodeToString(wrapped),
				AssociatedData: c.ad, Plaintext: c.pt, SealedHex: hex.EncodeToString(sealed)})
		}
		writeJSON(t, sealVectorsFile, out)
	}
	var vectors []sealVector
	readJSON(t, sealVectorsFile, &vectors)
	require.NotEmpty(t, vectors, "no sealed vectors loaded")
	kek := vectorKEK(t)
	for _, vec := range vectors {
		t.Run(vec.SubjectHex[:8], func(t *testing.T) {
			var subject ledger.SubjectTag
			_, err := hex.Decode(subject[:], []byte(vec.SubjectHex))
			require.NoError(t, err)
			wrapped, err := hex.DecodeString(vec.WrappedKeyHex)
			require.NoError(t, err)
			sealed, err := hex.DecodeString(vec.SealedHex)
			require.NoError(t, err)
			keys := NewMemoryKeyStore()
			require.NoError(t, keys.Put(t.Context(), subject, wrapped))
			v, err := NewVault(VaultConfig{Origin: vec.Origin, KEK: kek, Keys: keys})
			require.NoError(t, err)
			pt, err := v.Open(t.Context(), subject, []byte(vec.AssociatedData), sealed)
			require.NoError(t, err)
			require.Equal(t, vec.Plaintext, string(pt))
			require.Equal(t, sealedVersion, sealed[0])
			require.Len(t, sealed, len(vec.Plaintext)+SealOverhead)
		})
	}
}

func writeJSON(t *testing.T, path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
}

func readJSON(t *testing.T, path string, v any) {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}
