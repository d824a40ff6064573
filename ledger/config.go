package ledger

import (
	"context"
	"log/slog"

	"golang.org/x/mod/sumdb/note"
)

// WriterVerifier checks an entry's writer signature before it is appended.
// Package identity provides one that resolves the writer's DID. It MUST be
// safe for concurrent use and MUST NOT append to the Log it guards.
type WriterVerifier interface {
	VerifyWriter(ctx context.Context, e *Entry) error
}

// Config configures a [Log]. The zero value of every optional field means
// the documented default.
type Config struct {
	// Store keeps the log. Required.
	Store Store
	// Signer signs checkpoints: an Ed25519 note signer (see NewSigner and
	// NewTinkSigner). Required. Its name is the key name of the signature
	// line; by convention it equals Origin.
	Signer note.Signer
	// Origin is the checkpoint origin line (the log's name, e.g.
	// "ledger.example-hospital.org/audit"). Required.
	Origin string
	// MaxBatch is the largest number of entries committed in one step.
	// Default 1024.
	MaxBatch int
	// MaxPending is the number of appends that may wait for a batch before
	// Append fails with ErrPushback. Default 8192.
	MaxPending int
	// WriterVerifier, if set, must accept every entry before it is queued.
	WriterVerifier WriterVerifier
	// Logger receives operational logs (never entry contents). Nil is silent.
	Logger *slog.Logger
}
