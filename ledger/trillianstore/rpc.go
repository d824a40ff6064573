package trillianstore

import (
	"context"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// transient reports whether an RPC that failed with code may succeed when
// retried. Every RPC this store makes is idempotent: QueueLeaf deduplicates
// by leaf identity hash, and AddSequencedLeaves by (index, leaf hash).
func transient(code codes.Code) bool {
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}

// call runs rpc with a per-attempt timeout, retrying transient failures with
// exponential backoff and jitter. It returns an *RPCError when the attempts
// are spent or the failure is permanent, and the context's error (wrapped
// as ErrClosed when the store was closed) when ctx ends.
func (s *Store) call(ctx context.Context, op string, rpc func(ctx context.Context) error) error {
	wait := s.cfg.MinBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, s.cfg.RPCTimeout)
		err := rpc(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return s.ctxErr(ctx)
		}
		code := status.Code(err)
		if !transient(code) || attempt >= s.cfg.MaxAttempts {
			return &RPCError{Op: op, Code: code, Attempts: attempt, Err: err}
		}
		s.cfg.Logger.Debug("trillianstore: retrying", "op", op, "code", code.String(), "attempt", attempt)
		if err := s.sleep(ctx, wait/2+rand.N(wait/2+1)); err != nil {
			return err
		}
		wait = min(2*wait, s.cfg.MaxBackoff)
	}
}

// sleep waits for d or until ctx ends.
func (s *Store) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return s.ctxErr(ctx)
	}
}

// fanOut runs f(ctx, i) for i in [0, n) with at most Config.Concurrency
// calls in flight, and returns the first error.
func (s *Store) fanOut(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	if n == 1 {
		return f(ctx, 0)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for i := range n {
		g.Go(func() error { return f(gctx, i) })
	}
	return g.Wait()
}
