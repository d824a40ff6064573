//go:build unix

package ledger_test

import (
	"syscall"
	"time"
)

// processCPU returns the user and system CPU time this process has used
// so far, or ok=false if it cannot be read.
func processCPU() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
