package trillianstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBatchWaitDefaults: a Log over either tree mode holds small batches
// back (an Add waits for a signer run whatever its size) for
// DefaultBatchWait unless configured; negative disables.
func TestBatchWaitDefaults(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		set  time.Duration
		want time.Duration
	}{
		{ModeLog, 0, DefaultBatchWait},
		{ModeLog, time.Millisecond, time.Millisecond},
		{ModeLog, -1, 0},
		{ModePreordered, 0, DefaultBatchWait},
		{ModePreordered, 2 * time.Millisecond, 2 * time.Millisecond},
		{ModePreordered, -1, 0},
	} {
		t.Run(tc.mode.String()+"/"+tc.set.String(), func(t *testing.T) {
			cfg, err := Config{Address: "127.0.0.1:1", TreeID: 1, Mode: tc.mode, BatchWait: tc.set}.withDefaults()
			require.NoError(t, err)
			s := &Store{cfg: cfg}
			require.Equal(t, tc.want, s.BatchWait())
		})
	}
}
