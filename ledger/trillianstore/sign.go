package trillianstore

import (
	"github.com/healthledger/healthledger/ledger"
	"time"
)

// SignWith returns the SignFunc that signs tree heads as C2SP checkpoints of
// the given origin with signer, the same way a [ledger.Log] with that Signer
// and Origin does. Use it for Config.Sign.
func SignWith(signer ledger.CheckpointSigner, origin string) ledger.SignFunc {
	return func(h ledger.TreeHead) ([]byte, error) {
		return ledger.SignCheckpoint(signer, ledger.Checkpoint{Origin: origin, Size: h.Size, Root: h.Root}, time.Now())
	}
}
