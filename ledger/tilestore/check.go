package tilestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"golang.org/x/mod/sumdb/note"
)

// Problem is one inconsistency found by [Store.Check]. It names where the
// problem is, never what the data says.
type Problem struct {
	// What is "leaf", "hash-index", "subject-index", "tile", "head" or "checkpoint".
	What string
	// Index is the leaf index, for leaf and index problems.
	Index uint64
	// Tile is the tile, for tile problems.
	Tile merkle.TileID
	// Detail says what is wrong.
	Detail string
}

func (p Problem) String() string {
	switch p.What {
	case "tile":
		return fmt.Sprintf("tile %v: %s", p.Tile, p.Detail)
	case "head", "checkpoint":
		return p.What + ": " + p.Detail
	}
	return fmt.Sprintf("%s %d: %s", p.What, p.Index, p.Detail)
}

// CorruptionError lists what Check found. It wraps ledger.ErrCorrupt.
type CorruptionError struct {
	Problems []Problem
}

func (e *CorruptionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ledger: corrupt store: %d problem(s)", len(e.Problems))
	for i, p := range e.Problems {
		if i == 5 {
			b.WriteString("; ...")
			break
		}
		b.WriteString("; ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns ledger.ErrCorrupt.
func (e *CorruptionError) Unwrap() error { return ledger.ErrCorrupt }

// maxProblems bounds the report of a badly damaged store.
const maxProblems = 1000

// Check walks the whole store and verifies it against itself: every leaf
// decodes as an entry and is found under its hash and its subject, the
// tiles recomputed from the leaves equal the stored tiles byte for byte,
// the root equals the stored head, and the stored checkpoint is for that
// head (and, if v is not nil, carries a valid signature by v). It returns
// nil or a *CorruptionError listing what is wrong; a backend read that
// fails outright (other than with ErrNotFound) ends the walk, reported as
// the last problem. It reads everything, so it takes time proportional to
// the log; it may run while the log serves.
func (s *Store) Check(ctx context.Context, v note.Verifier) error {
	return s.check(ctx, v, nil)
}

// CheckWithKey is Check with the log's note verifier key (the public key
// ledger.Open is given): besides the checkpoint's signature it verifies
// the checkpoint's timestamp line, the log's signed time, which
// ledger.Open and every ledger.Verifier require. A malformed key fails
// with an error wrapping ledger.ErrInvalidConfig before anything is read.
func (s *Store) CheckWithKey(ctx context.Context, logKey string) error {
	v, err := note.NewVerifier(logKey)
	if err != nil {
		return fmt.Errorf("%w: tilestore: malformed log key", ledger.ErrInvalidConfig)
	}
	tv, err := ledger.NewCosignatureVerifier(logKey)
	if err != nil {
		return fmt.Errorf("%w: tilestore: malformed log key", ledger.ErrInvalidConfig)
	}
	return s.check(ctx, v, tv)
}

func (s *Store) check(ctx context.Context, v note.Verifier, tv *ledger.CosignatureVerifier) error {
	release, err := s.enter()
	if err != nil {
		return err
	}
	defer release()
	var problems []Problem
	report := func(p Problem) bool {
		problems = append(problems, p)
		return len(problems) < maxProblems
	}
	head, cp, err := s.backend.ReadHead(ctx)
	if errors.Is(err, ledger.ErrEmptyLog) {
		return nil
	}
	if err != nil {
		return &CorruptionError{Problems: []Problem{{What: "head", Detail: err.Error()}}}
	}
	app, _ := merkle.NewAppender(0, nil)
	checkTiles := func(tiles []*merkle.Tile, final bool) bool {
		for _, t := range tiles {
			if !t.Full() && !final {
				continue
			}
			stored, err := s.backend.ReadTile(ctx, t.ID())
			want := EncodeTile(t)
			switch {
			case err != nil:
				if !report(Problem{What: "tile", Tile: t.ID(), Detail: "missing: " + err.Error()}) || failed(err) {
					return false
				}
			case !bytes.Equal(stored, want):
				if !report(Problem{What: "tile", Tile: t.ID(), Detail: "differs from the tile recomputed from the leaves"}) {
					return false
				}
			}
		}
		return true
	}
	const chunk = merkle.TileWidth
	hashes := make([]merkle.Hash, 0, chunk)
	for i := uint64(0); i < head.Size; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, ok := s.checkLeaf(ctx, i, report)
		if !ok {
			return &CorruptionError{Problems: problems}
		}
		hashes = append(hashes, h)
		if len(hashes) == chunk || i == head.Size-1 {
			if !checkTiles(app.Append(hashes), false) {
				return &CorruptionError{Problems: problems}
			}
			hashes = hashes[:0]
		}
	}
	checkTiles(app.EdgeTiles(), true)
	if root := app.Root(); root != head.Root {
		report(Problem{What: "head", Detail: fmt.Sprintf("root of the leaves is %v, head says %v", root, head.Root)})
	}
	s.checkCheckpoint(head, cp, v, tv, report)
	if len(problems) > 0 {
		return &CorruptionError{Problems: problems}
	}
	return nil
}

// checkLeaf checks leaf i and its index entries and returns its leaf hash;
// ok is false when the report is full.
func (s *Store) checkLeaf(ctx context.Context, i uint64, report func(Problem) bool) (h merkle.Hash, ok bool) {
	leaf, err := s.backend.ReadLeaf(ctx, i)
	if err != nil {
		return h, report(Problem{What: "leaf", Index: i, Detail: "unreadable: " + err.Error()}) && !failed(err)
	}
	h = merkle.HashLeaf(leaf)
	var inTree [1]merkle.Hash
	if err := s.readHashes(ctx, []merkle.NodeID{merkle.NewNodeID(0, i)}, inTree[:]); err != nil || inTree[0] != h {
		if !report(Problem{What: "leaf", Index: i, Detail: "does not match its hash in the tree"}) || failed(err) {
			return h, false
		}
	}
	e, err := ledger.UnmarshalEntry(leaf)
	if err != nil {
		if !report(Problem{What: "leaf", Index: i, Detail: "does not decode: " + err.Error()}) {
			return h, false
		}
	} else {
		got, err := s.backend.ScanSubject(ctx, e.Subject, i, 1)
		if err != nil || len(got) != 1 || got[0] != i {
			if !report(Problem{What: "subject-index", Index: i, Detail: "entry missing from its subject's index"}) || failed(err) {
				return h, false
			}
		}
	}
	idx, err := s.backend.ReadIndex(ctx, h)
	if err != nil || idx != i {
		// A flipped leaf byte shows up here (its hash is indexed nowhere)
		// and again as a tile mismatch.
		if !report(Problem{What: "hash-index", Index: i, Detail: "leaf hash not indexed at this index"}) || failed(err) {
			return h, false
		}
	}
	return h, true
}

// failed reports whether a backend read failed outright (other than
// ErrNotFound), which ends Check's walk: the backend has found its own
// corruption or cannot read, and reading on would repeat it for every
// record near the damage (Pebble spends up to a second of CPU on each
// read of a damaged block, looking for the flipped bit).
func failed(err error) bool {
	return err != nil && !errors.Is(err, ledger.ErrNotFound)
}

func (s *Store) checkCheckpoint(head ledger.TreeHead, cp []byte, v note.Verifier, tv *ledger.CosignatureVerifier, report func(Problem) bool) {
	if err := checkpointFor(head, cp); err != nil {
		report(Problem{What: "checkpoint", Detail: err.Error()})
	}
	if v != nil {
		if _, err := note.Open(cp, note.VerifierList(v)); err != nil {
			report(Problem{What: "checkpoint", Detail: "signature does not verify: " + err.Error()})
		}
	}
	if tv != nil {
		cs, err := ledger.VerifyCosignatures(cp, []*ledger.CosignatureVerifier{tv})
		switch {
		case err != nil:
			report(Problem{What: "checkpoint", Detail: "timestamp line does not verify: " + err.Error()})
		case len(cs) == 0:
			report(Problem{What: "checkpoint", Detail: "no valid timestamp line by the log's key"})
		}
	}
}
