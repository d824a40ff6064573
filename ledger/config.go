package ledger

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
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
	// Signer signs checkpoints (see NewSigner, NewSignerFunc and package
	// ledger/tinksigner). Required.
	// Its name is the key name of the signature lines; by convention it
	// equals Origin. A store whose checkpoint was signed by another key is
	// refused (ErrWrongKey): a log's identity is its origin and key, so a
	// new key means a new log (a new origin), never a silent change.
	Signer CheckpointSigner
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
	// MaxClockSkew bounds how far an entry's Time may be from the log's
	// clock, in either direction, for Append to accept it (ErrClockSkew
	// otherwise). Default DefaultMaxClockSkew; negative is invalid.
	MaxClockSkew time.Duration
	// Now is the log's clock: it checks entry times and timestamps
	// checkpoints. Default time.Now.
	Now func() time.Time
	// Guard keeps the latest checkpoint the log signed apart from the
	// store (see CheckpointGuard). Default: a FileGuard at GuardFile; if
	// GuardFile is empty, at the file the store suggests (a store that
	// implements GuardFiler, such as pebblestore: "<Dir>.checkpoint",
	// beside its directory); for other stores (memstore, trillianstore) a
	// guard in memory that protects only this Log's lifetime: a durable
	// deployment on such a store SHOULD set Guard or GuardFile. A Guard set
	// here is not closed by Log.Close.
	Guard CheckpointGuard
	// GuardFile is the path of the default FileGuard (see Guard). Its
	// fdatasync, one per batch, overlaps the next batch's store commit but
	// is a second disk flush beside the store's: on the same device it
	// slows the store's syncs (6-13% fewer Pebble appends with 256
	// writers on the benchmark machine than with a guard in memory, in two
	// runs), on another device it does not.
	GuardFile string
	// Witnesses, if set, cosign every checkpoint before its receipts are
	// released (C2SP tlog-witness): after a batch is committed and its
	// checkpoint is in the guard, the Log asks every witness in parallel,
	// each from the size it last cosigned, and puts the cosignature lines
	// that verify under the witness's key into the receipts' checkpoint
	// and into what Log.Checkpoint serves. If the quorum (WitnessPolicy or
	// WitnessThreshold) is not met within WitnessTimeout, the batch's
	// appends fail with a *WitnessQuorumError (ErrWitnessQuorum): the
	// entries stay stored, and appending them again returns their
	// receipts (Existed) once the witnesses cosign. Default: none; receipts
	// then carry only the log's signature.
	Witnesses []LogWitness
	// WitnessPolicy, if set, is the quorum of Witnesses a checkpoint
	// needs (C2SP tlog-policy, see ParsePolicy); every witness of
	// Witnesses must be one of its witnesses. Default: WitnessThreshold.
	WitnessPolicy *Policy
	// WitnessThreshold is the number of Witnesses that must cosign when
	// WitnessPolicy is nil. Zero means all of them.
	WitnessThreshold int
	// WitnessTimeout bounds one round of asking the witnesses to cosign a
	// checkpoint. Default DefaultWitnessTimeout.
	WitnessTimeout time.Duration
	// Logger receives operational logs (never entry contents). Nil is silent.
	Logger *slog.Logger
	// MeterProvider receives the Log's metrics (OpenTelemetry metric API,
	// see MetricAppendDuration and the others). Nil: none. The Log uses
	// no global provider.
	MeterProvider metric.MeterProvider
}

// GuardFiler is implemented by durable stores that name a default location
// for the checkpoint guard of a Log over them (see Config.Guard). The file
// MUST be outside what the store writes, so that losing or restoring the
// store does not lose or restore the guard with it.
type GuardFiler interface {
	GuardFile() string
}
