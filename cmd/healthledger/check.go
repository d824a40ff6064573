package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/pebblestore"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"golang.org/x/mod/sumdb/note"
)

type checkResult struct {
	OK       bool     `json:"ok"`
	Size     uint64   `json:"size"`
	Problems []string `json:"problems"`
}

func cmdCheck(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("check")
	dir := fs.String("dir", "", "the Pebble ledger directory (required; it must not be open in another process)")
	logKeyArg := fs.String("log-key", "", "the log's public verifier key, or a file holding it (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := required([2]string{"dir", *dir}, [2]string{"log-key", *logKeyArg}); err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	logKey, err := keyArg(*logKeyArg)
	if err != nil {
		return err
	}
	if _, err := note.NewVerifier(logKey); err != nil {
		return usagef("--log-key: malformed verifier key")
	}
	if err := isPebbleDir(*dir); err != nil {
		return err
	}
	store, err := pebblestore.Open(ctx, pebblestore.Config{Dir: *dir})
	var res checkResult
	if err != nil {
		if !errors.Is(err, ledger.ErrCorrupt) {
			return &ioError{err}
		}
		res.Problems = []string{err.Error()}
	} else {
		defer store.Close()
		res.Size = store.Head().Size
		e.progress("checking %s: %d entries, every leaf, index and tile...", *dir, res.Size)
		err = store.CheckWithKey(ctx, logKey)
		var ce *tilestore.CorruptionError
		switch {
		case errors.As(err, &ce):
			for _, p := range ce.Problems {
				res.Problems = append(res.Problems, p.String())
			}
		case err != nil:
			return &ioError{err}
		}
	}
	res.OK = len(res.Problems) == 0
	if err := e.output(res, func(w io.Writer) {
		if res.OK {
			fmt.Fprintf(w, "OK: %s holds %d entries; every leaf, index and tile checks out and the checkpoint is signed by the log key\n", *dir, res.Size)
			return
		}
		for _, p := range res.Problems {
			fmt.Fprintln(w, p)
		}
	}); err != nil {
		return err
	}
	if !res.OK {
		return &failure{fmt.Sprintf("%d problem(s) in %s", len(res.Problems), *dir)}
	}
	return nil
}
