package trillianstore

import (
	"context"
	"fmt"

	"github.com/google/trillian"
	"github.com/google/trillian/client"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// CreateTree creates and initializes a Trillian tree for mode through the
// admin and log services on cc, and returns its ID (what the createtree
// tool does). It retries while the server is unavailable, until ctx ends.
func CreateTree(ctx context.Context, cc grpc.ClientConnInterface, mode Mode) (int64, error) {
	typ := trillian.TreeType_LOG
	if mode == ModePreordered {
		typ = trillian.TreeType_PREORDERED_LOG
	}
	tree, err := client.CreateAndInitTree(ctx, &trillian.CreateTreeRequest{Tree: &trillian.Tree{
		TreeState:       trillian.TreeState_ACTIVE,
		TreeType:        typ,
		DisplayName:     "healthledger",
		MaxRootDuration: durationpb.New(0),
	}}, trillian.NewTrillianAdminClient(cc), trillian.NewTrillianLogClient(cc))
	if err != nil {
		return 0, fmt.Errorf("trillianstore: creating %v tree: %w", mode, err)
	}
	return tree.TreeId, nil
}
