// Package filekeystore is a durable [privacy.KeyStore] in a directory: one
// small file per subject, holding either the subject's wrapped data key or,
// after erasure, a tombstone.
//
// # Layout and durability
//
// The file of subject t is <dir>/<hex(t)>.key and holds "HLK1" followed by
// the wrapped key (bytes encrypted under the Vault's KEK; no key is ever
// written in clear), or the 4-byte tombstone "HLT1". A file of zeros is an
// erasure that a crash interrupted and reads as erased.
//
//   - Put writes a temporary file, fsyncs it, hard-links it to the
//     subject's name (link fails if the name exists, which makes Put
//     create-only even across processes), fsyncs the directory, then
//     removes the temporary name.
//   - Delete overwrites the key file's bytes with zeros in place and fsyncs
//     it, then renames a fsynced tombstone over it and fsyncs the directory.
//   - Open removes temporary files left by a crash.
//
// The store needs a POSIX file system with hard links and directory fsync
// (Linux ext4, XFS; macOS APFS).
//
// # What erasure does not reach
//
// Delete makes the key's bytes unreadable through the file system and
// overwrites the blocks the file system gives back for them. It cannot
// reach copies it does not control: backups and snapshots of the directory
// (including file-system snapshots, and copy-on-write file systems such as
// btrfs or ZFS, which write the zeros to new blocks), blocks an SSD's
// flash translation layer remapped, swap, and keys other processes
// unwrapped and still hold in memory. Because every key on disk is wrapped
// by the KEK, a stale copy is useless without the KEK: keep the KEK in a
// KMS, and rotate it (re-wrapping live keys) when backups that hold erased
// keys must become unreadable too.
package filekeystore

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/privacy"
)

var _ privacy.KeyStore = (*Store)(nil)

// File magics.
var (
	keyMagic  = []byte("HLK1")
	tombstone = []byte("HLT1")
)

const (
	keySuffix = ".key"
	tmpSuffix = ".tmp"
)

// Config configures a [Store]. The zero value of every optional field means
// its documented default.
type Config struct {
	// Dir is the directory of the store; it is created (mode 0700) if
	// missing. Required.
	Dir string
	// Logger receives recovery events (temporary files removed on Open).
	// Nil is silent.
	Logger *slog.Logger
}

// Store is a durable KeyStore in a directory. It is safe for concurrent
// use; several processes may share a directory (Put stays create-only),
// though a Vault's cache is per process.
type Store struct {
	dir string
	log *slog.Logger

	mu sync.RWMutex // Put and Delete hold it exclusively, Get shared
}

// Open opens (creating if needed) the store in cfg.Dir and removes the
// temporary files of writes a crash interrupted.
func Open(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: filekeystore.Config.Dir is required", privacy.ErrInvalidConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("filekeystore: %w", err)
	}
	s := &Store{dir: cfg.Dir, log: log}
	if err := s.removeTemporaries(); err != nil {
		return nil, err
	}
	return s, nil
}

// removeTemporaries unlinks *.tmp files. A temporary file is either an
// uncommitted Put (a wrapped key no payload was ever sealed with) or a
// second link to a committed key file, so it is unlinked, not overwritten.
func (s *Store) removeTemporaries() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("filekeystore: %w", err)
	}
	removed := 0
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), tmpSuffix) {
			if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil {
				return fmt.Errorf("filekeystore: removing temporary file: %w", err)
			}
			removed++
		}
	}
	if removed > 0 {
		s.log.Info("filekeystore: removed temporary files of interrupted writes", "count", removed)
		return syncDir(s.dir)
	}
	return nil
}

func (s *Store) path(subject ledger.SubjectTag) string {
	return filepath.Join(s.dir, hex.EncodeToString(subject[:])+keySuffix)
}

// Get implements privacy.KeyStore.
func (s *Store) Get(ctx context.Context, subject ledger.SubjectTag) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.read(subject)
}

func (s *Store) read(subject ledger.SubjectTag) ([]byte, error) {
	b, err := os.ReadFile(s.path(subject))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, privacy.ErrNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("filekeystore: %w", err)
	}
	switch {
	case bytes.Equal(b, tombstone), allZero(b):
		return nil, privacy.ErrErased
	case len(b) > len(keyMagic) && bytes.HasPrefix(b, keyMagic):
		return b[len(keyMagic):], nil
	default:
		return nil, fmt.Errorf("%w: key file of unknown format", privacy.ErrWrappedKey)
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return len(b) > 0
}

// Put implements privacy.KeyStore.
func (s *Store) Put(ctx context.Context, subject ledger.SubjectTag, wrapped []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(wrapped) == 0 {
		return fmt.Errorf("%w: empty wrapped key", privacy.ErrInvalidInput)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp, err := s.writeTemp(append(bytes.Clone(keyMagic), wrapped...))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, s.path(subject)); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("filekeystore: %w", err)
		}
		if _, rerr := s.read(subject); errors.Is(rerr, privacy.ErrErased) {
			return privacy.ErrErased
		}
		return privacy.ErrKeyExists
	}
	return syncDir(s.dir)
}

// Delete implements privacy.KeyStore: it overwrites the key file with
// zeros and fsyncs it, then renames a tombstone over it and fsyncs the
// directory.
func (s *Store) Delete(ctx context.Context, subject ledger.SubjectTag) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	path := s.path(subject)
	if err := overwrite(path); err != nil {
		return err
	}
	tmp, err := s.writeTemp(tombstone)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("filekeystore: %w", err)
	}
	return syncDir(s.dir)
}

// overwrite replaces the content of the file at path with zeros, in place,
// and fsyncs it. A missing file or a tombstone is left alone.
func overwrite(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("filekeystore: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("filekeystore: %w", err)
	}
	if bytes.Equal(b, tombstone) || allZero(b) {
		return nil
	}
	if _, err := f.WriteAt(make([]byte, len(b)), 0); err != nil {
		return fmt.Errorf("filekeystore: overwriting key: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("filekeystore: syncing overwritten key: %w", err)
	}
	return nil
}

// writeTemp writes b to a new fsynced temporary file in the directory and
// returns its path.
func (s *Store) writeTemp(b []byte) (string, error) {
	f, err := os.CreateTemp(s.dir, "w-*"+tmpSuffix)
	if err != nil {
		return "", fmt.Errorf("filekeystore: %w", err)
	}
	name := f.Name()
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(name)
		return "", fmt.Errorf("filekeystore: writing temporary file: %w", werr)
	}
	return name, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("filekeystore: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("filekeystore: syncing directory: %w", err)
	}
	return nil
}

// String names the store by its directory (no key material).
func (s *Store) String() string { return "filekeystore.Store(" + strconv.Quote(s.dir) + ")" }

// GoString is String.
func (s *Store) GoString() string { return s.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (s *Store) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue implements slog.LogValuer.
func (s *Store) LogValue() slog.Value { return slog.StringValue(s.String()) }
