package trillianstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/trillian"
	"github.com/google/trillian/storage"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// lockedStorage wraps Trillian's storage/memory so that it can be tested
// with -race: memory storage clones its B-trees from concurrent snapshots
// without a lock, and the sequencer mutates leaf protos that QueueLeaves
// and reads returned to RPC handlers still marshalling them. This wrapper
// runs one transaction at a time and hands out copies of leaves. It also
// deduplicates queued leaves by leaf identity hash, as Trillian's durable
// storages (MySQL, PostgreSQL, CockroachDB, Spanner) do and storage/memory
// does not.
type lockedStorage struct {
	storage.LogStorage
	mu     sync.Mutex
	queued map[string]*trillian.LogLeaf // by tree ID and identity hash; guarded by mu
}

func (l *lockedStorage) GetActiveLogIDs(ctx context.Context) ([]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.LogStorage.GetActiveLogIDs(ctx)
}

func (l *lockedStorage) SnapshotForTree(ctx context.Context, tree *trillian.Tree) (storage.ReadOnlyLogTreeTX, error) {
	l.mu.Lock()
	tx, err := l.LogStorage.SnapshotForTree(ctx, tree)
	if err != nil {
		l.mu.Unlock()
		return nil, err
	}
	return &lockedTX{ReadOnlyLogTreeTX: tx, unlock: sync.OnceFunc(l.mu.Unlock)}, nil
}

func (l *lockedStorage) ReadWriteTransaction(ctx context.Context, tree *trillian.Tree, f storage.LogTXFunc) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.LogStorage.ReadWriteTransaction(ctx, tree, f)
}

func (l *lockedStorage) QueueLeaves(ctx context.Context, tree *trillian.Tree, leaves []*trillian.LogLeaf, ts time.Time) ([]*trillian.QueuedLogLeaf, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.queued == nil {
		l.queued = make(map[string]*trillian.LogLeaf)
	}
	res := make([]*trillian.QueuedLogLeaf, len(leaves))
	var fresh []*trillian.LogLeaf
	var at []int
	for i, leaf := range leaves {
		key := fmt.Sprintf("%d/%x", tree.TreeId, leaf.LeafIdentityHash)
		if old, ok := l.queued[key]; ok {
			res[i] = &trillian.QueuedLogLeaf{
				Leaf:   proto.Clone(old).(*trillian.LogLeaf),
				Status: status.New(codes.AlreadyExists, "duplicate leaf").Proto(),
			}
			continue
		}
		l.queued[key] = proto.Clone(leaf).(*trillian.LogLeaf)
		fresh, at = append(fresh, proto.Clone(leaf).(*trillian.LogLeaf)), append(at, i)
	}
	if len(fresh) > 0 {
		got, err := l.LogStorage.QueueLeaves(ctx, tree, fresh, ts)
		if err != nil {
			return nil, err
		}
		for j, r := range got {
			res[at[j]] = &trillian.QueuedLogLeaf{Leaf: proto.Clone(leaves[at[j]]).(*trillian.LogLeaf), Status: r.GetStatus()}
		}
	}
	return res, nil
}

// lockedTX releases the storage lock when the snapshot ends.
type lockedTX struct {
	storage.ReadOnlyLogTreeTX
	unlock func()
}

func (t *lockedTX) Commit(ctx context.Context) error {
	return t.ReadOnlyLogTreeTX.Commit(ctx)
}

func (t *lockedTX) Close() error {
	defer t.unlock()
	return t.ReadOnlyLogTreeTX.Close()
}

func (t *lockedTX) GetLeavesByRange(ctx context.Context, start, count int64) ([]*trillian.LogLeaf, error) {
	l, err := t.ReadOnlyLogTreeTX.GetLeavesByRange(ctx, start, count)
	return cloneLeaves(l), err
}

func (t *lockedTX) GetLeavesByHash(ctx context.Context, hashes [][]byte, bySeq bool) ([]*trillian.LogLeaf, error) {
	l, err := t.ReadOnlyLogTreeTX.GetLeavesByHash(ctx, hashes, bySeq)
	return cloneLeaves(l), err
}

func cloneLeaves(in []*trillian.LogLeaf) []*trillian.LogLeaf {
	out := make([]*trillian.LogLeaf, len(in))
	for i, l := range in {
		out[i] = proto.Clone(l).(*trillian.LogLeaf)
	}
	return out
}
