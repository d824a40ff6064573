package filekeystore_test

import (
	"bytes"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/privacy"
	"github.com/healthledger/healthledger/privacy/filekeystore"
	"github.com/healthledger/healthledger/privacy/keystoretest"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

func open(t *testing.T, dir string) *filekeystore.Store {
	s, err := filekeystore.Open(filekeystore.Config{Dir: dir})
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	keystoretest.Run(t, func(t *testing.T) privacy.KeyStore { return open(t, t.TempDir()) })
}

func TestStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s := open(t, dir)
	a, b := keystoretest.Subject(1), keystoretest.Subject(2)
	require.NoError(t, s.Put(ctx, a, keystoretest.Wrapped(1)))
	require.NoError(t, s.Put(ctx, b, keystoretest.Wrapped(2)))
	require.NoError(t, s.Delete(ctx, b))

	s = open(t, dir)
	got, err := s.Get(ctx, a)
	require.NoError(t, err)
	require.Equal(t, keystoretest.Wrapped(1), got)
	_, err = s.Get(ctx, b)
	require.ErrorIs(t, err, privacy.ErrErased)
	require.ErrorIs(t, s.Put(ctx, b, keystoretest.Wrapped(3)), privacy.ErrErased)
	_, err = s.Get(ctx, keystoretest.Subject(3))
	require.ErrorIs(t, err, privacy.ErrNoKey)
}

func keyFile(dir string, s ledger.SubjectTag) string {
	return filepath.Join(dir, hex.EncodeToString(s[:])+".key")
}

// requireNowhere reads every file under dir and fails if any holds needle.
func requireNowhere(t *testing.T, dir string, needle []byte) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.False(t, bytes.Contains(b, needle), "%s still holds the key bytes", p)
		}
		return nil
	}))
}

// Delete overwrites the key file in place before it replaces it: a reader
// that opened the file before the erasure (standing for the blocks the
// unlinked inode leaves behind) reads zeros, not the key.
func TestDeleteOverwritesTheKeyBytes(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s := open(t, dir)
	a := keystoretest.Subject(1)
	wrapped := []byte(strings.Repeat("WRAPPED-KEY-CANARY-", 8))
	require.NoError(t, s.Put(ctx, a, wrapped))
	before, err := os.Open(keyFile(dir, a))
	require.NoError(t, err)
	defer before.Close()

	require.NoError(t, s.Delete(ctx, a))
	old, err := io.ReadAll(before)
	require.NoError(t, err)
	require.Len(t, old, 4+len(wrapped))
	require.Equal(t, make([]byte, len(old)), old, "the erased key file was not overwritten")
	requireNowhere(t, dir, []byte("WRAPPED-KEY-CANARY"))
	tomb, err := os.ReadFile(keyFile(dir, a))
	require.NoError(t, err)
	require.Equal(t, "HLT1", string(tomb), "a tombstone is 4 bytes and holds no key")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1, "no temporary files left behind")
}

func TestInterruptedEraseReadsAsErased(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s := open(t, dir)
	a := keystoretest.Subject(1)
	require.NoError(t, s.Put(ctx, a, keystoretest.Wrapped(1)))
	// A crash after the overwrite and before the tombstone's rename.
	require.NoError(t, os.WriteFile(keyFile(dir, a), make([]byte, 40), 0o600))
	_, err := s.Get(ctx, a)
	require.ErrorIs(t, err, privacy.ErrErased)
	require.ErrorIs(t, s.Put(ctx, a, keystoretest.Wrapped(2)), privacy.ErrErased)
	require.NoError(t, s.Delete(ctx, a), "a second Delete completes the erasure")
	tomb, err := os.ReadFile(keyFile(dir, a))
	require.NoError(t, err)
	require.Equal(t, "HLT1", string(tomb))
}

func TestOpenRemovesTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s := open(t, dir)
	a := keystoretest.Subject(1)
	require.NoError(t, s.Put(ctx, a, keystoretest.Wrapped(1)))
	// A Put that crashed before its link, and one that crashed after it
	// (a second name for the committed key file).
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w-1.tmp"), []byte("HLK1orphan"), 0o600))
	require.NoError(t, os.Link(keyFile(dir, a), filepath.Join(dir, "w-2.tmp")))

	s = open(t, dir)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	got, err := s.Get(ctx, a)
	require.NoError(t, err)
	require.Equal(t, keystoretest.Wrapped(1), got, "removing the second link kept the key")
}

func TestUnknownFileFormat(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	a := keystoretest.Subject(1)
	require.NoError(t, os.WriteFile(keyFile(dir, a), []byte("garbage"), 0o600))
	_, err := s.Get(t.Context(), a)
	require.ErrorIs(t, err, privacy.ErrWrappedKey)
	require.ErrorIs(t, s.Put(t.Context(), a, keystoretest.Wrapped(1)), privacy.ErrKeyExists)
}

func TestOpenRefuses(t *testing.T) {
	_, err := filekeystore.Open(filekeystore.Config{})
	require.ErrorIs(t, err, privacy.ErrInvalidConfig)
	f := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(f, nil, 0o600))
	_, err = filekeystore.Open(filekeystore.Config{Dir: f})
	require.Error(t, err)
}

// End to end with a Vault: payloads open across restarts; after erasure,
// neither the wrapped key nor anything that opens the payloads is left in
// the directory.
func TestVaultOnFileStore(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	require.NoError(t, err)
	kek, err := aead.New(h)
	require.NoError(t, err)
	vault := func() *privacy.Vault {
		v, err := privacy.NewVault(privacy.VaultConfig{Origin: "hospital.example/log", KEK: kek, Keys: open(t, dir)})
		require.NoError(t, err)
		return v
	}
	alice, bob := ledger.DeriveSubjectTag("t", "alice"), ledger.DeriveSubjectTag("t", "bob")
	v := vault()
	sa, err := v.Seal(ctx, alice, []byte("ad"), []byte("alice"))
	require.NoError(t, err)
	sb, err := v.Seal(ctx, bob, []byte("ad"), []byte("bob"))
	require.NoError(t, err)
	wrappedAlice, err := os.ReadFile(keyFile(dir, alice))
	require.NoError(t, err)

	v = vault() // a restart
	pt, err := v.Open(ctx, alice, []byte("ad"), sa)
	require.NoError(t, err)
	require.Equal(t, "alice", string(pt))
	require.NoError(t, v.EraseSubject(ctx, alice))

	v = vault()
	_, err = v.Open(ctx, alice, []byte("ad"), sa)
	require.ErrorIs(t, err, privacy.ErrErased)
	pt, err = v.Open(ctx, bob, []byte("ad"), sb)
	require.NoError(t, err)
	require.Equal(t, "bob", string(pt))
	requireNowhere(t, dir, wrappedAlice[4:])
	st, err := v.Status(ctx, alice)
	require.NoError(t, err)
	require.Equal(t, privacy.SubjectErased, st)
}
