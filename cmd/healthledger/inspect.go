package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
)

// ledgerSource is what inspect reads: a local store or a remote client.
type ledgerSource interface {
	Checkpoint(ctx context.Context) ([]byte, error)
	BySubject(ctx context.Context, s ledger.SubjectTag, start uint64, limit int) ([]uint64, error)
	Leaf(ctx context.Context, index uint64) ([]byte, error)
}

type inspectResult struct {
	Origin         string      `json:"origin"`
	Size           uint64      `json:"size"`
	Root           string      `json:"root"`
	CheckpointTime time.Time   `json:"checkpoint_time"`
	Checkpoint     string      `json:"checkpoint"`
	Subject        string      `json:"subject,omitempty"`
	Entries        []entryJSON `json:"entries,omitempty"`
}

func cmdInspect(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("inspect")
	var vf verifierFlags
	vf.register(fs, true)
	dir := fs.String("dir", "", "a Pebble ledger directory (not open in another process)")
	url := fs.String("url", "", "the URL of a log's read path")
	subject := fs.String("subject", "", "a subject tag in hex (64 digits): list its entries")
	limit := fs.Int("limit", 1000, "the most entries to list")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if (*dir == "") == (*url == "") || len(pos) > 0 {
		return usagef("give exactly one of --dir and --url")
	}
	var tag ledger.SubjectTag
	if *subject != "" {
		b, err := hex.DecodeString(*subject)
		if err != nil || len(b) != len(tag) {
			return usagef("--subject: want %d hex digits", 2*len(tag))
		}
		copy(tag[:], b)
	}
	v, _, err := vf.verifier()
	if err != nil {
		return err
	}
	var src ledgerSource
	if *dir != "" {
		store, _, err := openVerifiedStore(ctx, *dir, vf.origin, vf.logKey)
		if err != nil {
			return err
		}
		defer store.Close()
		src = store
	} else {
		c, err := client.New(client.Config{URL: *url, Verifier: v})
		if err != nil {
			return usagef("%v", err)
		}
		if _, err := c.Update(ctx); err != nil {
			if isVerificationError(err) {
				return err
			}
			return &ioError{err}
		}
		src = c
	}
	signed, err := src.Checkpoint(ctx)
	if err != nil {
		return &ioError{err}
	}
	cp, err := v.VerifyCheckpoint(signed)
	if err != nil {
		return err
	}
	t, err := v.CheckpointTime(signed)
	if err != nil {
		return err
	}
	res := inspectResult{Origin: cp.Origin, Size: cp.Size, Root: cp.Root.String(), CheckpointTime: t.UTC(), Checkpoint: string(signed)}
	if *subject != "" {
		res.Subject = tag.String()
		n := 0
		for start := uint64(0); n < *limit; {
			idx, err := src.BySubject(ctx, tag, start, min(*limit-n, 1000))
			if err != nil {
				return &ioError{err}
			}
			if len(idx) == 0 {
				break
			}
			for _, i := range idx {
				leaf, err := src.Leaf(ctx, i)
				if err != nil {
					return err
				}
				entry, err := ledger.UnmarshalEntry(leaf)
				if err != nil {
					return err
				}
				res.Entries = append(res.Entries, toEntryJSON(i, entry))
			}
			n += len(idx)
			start = idx[len(idx)-1] + 1
		}
	}
	return e.output(res, func(w io.Writer) {
		fmt.Fprintf(w, "origin %s\nsize %d\nroot %s\nsigned %s\n", res.Origin, res.Size, res.Root, t.UTC().Format(time.RFC3339))
		if *subject != "" {
			fmt.Fprintf(w, "%d entries of subject %s\n", len(res.Entries), res.Subject)
			for _, j := range res.Entries {
				j.text(w)
			}
		}
	})
}
