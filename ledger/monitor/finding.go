package monitor

import (
	"fmt"

	"github.com/healthledger/healthledger/merkle"
)

// Kind says what a [Finding] is about.
type Kind string

// The kinds of findings. Each is evidence that the log, or its read path,
// broke a rule a verifier relies on.
const (
	// Fork: the log signed two checkpoints that cannot both be true (same
	// size and different roots, or no valid consistency proof between
	// them). Checkpoint and Other hold both signed checkpoints.
	Fork Kind = "fork"
	// RootMismatch: the signed root matches neither the tree recomputed
	// from the served entry bundles nor the one from the served level-0
	// tiles. Expected holds the root recomputed from the bundles.
	RootMismatch Kind = "root-mismatch"
	// TileMismatch: a served hash tile differs from the tile recomputed
	// from the entries (which match the signed root). Served and Expected
	// hold both tiles.
	TileMismatch Kind = "tile-mismatch"
	// BundleMismatch: a leaf in a served entry bundle does not hash to the
	// signed tree. Served holds the leaf, Expected the leaf hash the tree
	// has at Index.
	BundleMismatch Kind = "bundle-mismatch"
	// MalformedEntry: a leaf of the signed tree is not a healthledger
	// entry. Served holds the leaf.
	MalformedEntry Kind = "malformed-entry"
	// MalformedErasure: a KindErasure entry whose body is not a canonical
	// erasure record. Served holds the leaf.
	MalformedErasure Kind = "malformed-erasure"
	// FutureDated: an entry dated more than the clock skew after the
	// signed time of the first checkpoint seen that includes it. Served
	// holds the leaf, Checkpoint that checkpoint.
	FutureDated Kind = "future-dated"
	// BackDated: an entry dated more than the clock skew before the signed
	// time it is checked against (see Config.EveryCheckpoint). Served holds
	// the leaf, Checkpoint the first checkpoint seen that includes it,
	// Other the last one seen that does not.
	BackDated Kind = "back-dated"
	// TimeWentBack: a checkpoint's signed time is before the time of the
	// checkpoint seen before it. Checkpoint and Other hold both.
	TimeWentBack Kind = "time-went-back"
	// NotWitnessed: a checkpoint that none of Config.Witnesses cosigned.
	NotWitnessed Kind = "not-witnessed"
	// ReadPathInvalid: the served tiles did not prove a new checkpoint
	// consistent (the client's error in Detail); the monitor checked the
	// checkpoint from the entry bundles instead.
	ReadPathInvalid Kind = "read-path-invalid"
)

// Finding is one piece of evidence the monitor found. The byte fields hold
// exactly what the log served or signed, so a finding can be shown to a
// third party and checked with the log's public key. A Finding never holds
// more of an entry than its leaf, which carries no PHI in clear.
type Finding struct {
	// Kind says what was found.
	Kind Kind `json:"kind"`
	// Size is the tree size of the checkpoint the finding is about.
	Size uint64 `json:"size"`
	// Index is the leaf index, for entry and bundle findings.
	Index uint64 `json:"index,omitempty"`
	// Tile and Width name the hash tile, for tile findings.
	Tile  *merkle.TileID `json:"tile,omitempty"`
	Width int            `json:"width,omitempty"`
	// Checkpoint is the signed checkpoint the finding is about.
	Checkpoint []byte `json:"checkpoint,omitempty"`
	// Other is the second signed checkpoint, for forks, time findings.
	Other []byte `json:"other,omitempty"`
	// Proof is the consistency proof that failed, for forks.
	Proof []merkle.Hash `json:"proof,omitempty"`
	// Served is what the read path served (a tile, a leaf).
	Served []byte `json:"served,omitempty"`
	// Expected is what the monitor recomputed (a tile, a leaf hash, a root).
	Expected []byte `json:"expected,omitempty"`
	// Detail explains the finding in words (sizes, times, never contents).
	Detail string `json:"detail"`
}

// String describes the finding in one line.
func (f Finding) String() string {
	switch {
	case f.Tile != nil:
		return fmt.Sprintf("%s: tile %v (width %d) at size %d: %s", f.Kind, *f.Tile, f.Width, f.Size, f.Detail)
	case f.Kind == BundleMismatch || f.Kind == MalformedEntry || f.Kind == MalformedErasure ||
		f.Kind == FutureDated || f.Kind == BackDated:
		return fmt.Sprintf("%s: entry %d (checkpoint size %d): %s", f.Kind, f.Index, f.Size, f.Detail)
	}
	return fmt.Sprintf("%s: checkpoint size %d: %s", f.Kind, f.Size, f.Detail)
}
