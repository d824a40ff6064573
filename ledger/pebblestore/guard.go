package pebblestore

import (
	"path/filepath"

	"github.com/healthledger/healthledger/ledger"
)

var _ ledger.GuardFiler = (*Store)(nil)

// GuardFile returns where a ledger.Log over this store keeps its checkpoint
// guard by default: the file "<Dir>.checkpoint" beside the store's
// directory, not in it, so that a store directory that is lost, wiped or
// restored from an older backup is refused by the Log (ledger.ErrRollback)
// instead of being extended into a second history under the same key.
// Back it up, move it and delete it together with the directory only when
// the whole log is retired.
func (s *Store) GuardFile() string {
	return filepath.Clean(s.dir) + ".checkpoint"
}
