package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// DefaultClientTimeout is the timeout of the http.Client a Client makes
// when ClientConfig.HTTPClient is nil.
const DefaultClientTimeout = 10 * time.Second

// MaxResponseSize bounds the response body a Client reads.
const MaxResponseSize = 16 << 10

// ClientConfig configures a [Client].
type ClientConfig struct {
	// URL is the witness's submission prefix (http or https);
	// "add-checkpoint" is appended to it (after a "/" if it has none).
	// Required.
	URL string
	// HTTPClient sends the requests. Default: a client with
	// DefaultClientTimeout. Contexts bound each call in any case.
	HTTPClient *http.Client
}

// Client asks one witness to cosign checkpoints over the C2SP tlog-witness
// protocol. It implements ledger.CheckpointCosigner. It is safe for
// concurrent use.
type Client struct {
	endpoint string
	hc       *http.Client
}

var _ ledger.CheckpointCosigner = (*Client)(nil)

// NewClient returns a Client for the witness at cfg.URL.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: ClientConfig.URL is not an http(s) URL", ledger.ErrInvalidConfig)
	}
	c := &Client{endpoint: strings.TrimSuffix(cfg.URL, "/") + "/add-checkpoint", hc: cfg.HTTPClient}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: DefaultClientTimeout}
	}
	return c, nil
}

// ResponseError is a refusal by the witness: a status code other than 200
// and 409. It wraps the ledger sentinel that matches the code (404:
// ledger.ErrUnknownLog, 403: ledger.ErrBadSignature, 422:
// ledger.ErrInvalidProof, 400: ledger.ErrMalformed, 413:
// ledger.ErrTooLarge), or ErrWitnessFailed for any other.
type ResponseError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Message is the start of the response body, printable ASCII only.
	Message string
}

// ErrWitnessFailed reports a witness response with an unexpected status
// code or body.
var ErrWitnessFailed = errors.New("witness: unexpected response")

func (e *ResponseError) Error() string {
	return fmt.Sprintf("%v: witness answered %d %s: %q", e.Unwrap(), e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Unwrap returns the sentinel matching the status code.
func (e *ResponseError) Unwrap() error {
	switch e.StatusCode {
	case http.StatusNotFound:
		return ledger.ErrUnknownLog
	case http.StatusForbidden:
		return ledger.ErrBadSignature
	case http.StatusUnprocessableEntity:
		return ledger.ErrInvalidProof
	case http.StatusBadRequest:
		return ledger.ErrMalformed
	case http.StatusRequestEntityTooLarge:
		return ledger.ErrTooLarge
	}
	return ErrWitnessFailed
}

// AddCheckpoint makes one add-checkpoint call and returns the cosignature
// lines of a 200 response. A 409 is a *ledger.WitnessConflictError holding
// the witness's size; other refusals are *ResponseError.
func (c *Client) AddCheckpoint(ctx context.Context, oldSize uint64, proof []merkle.Hash, signed []byte) ([]byte, error) {
	body, err := (&Request{OldSize: oldSize, Proof: proof, Checkpoint: signed}).MarshalText()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("witness: building request: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("witness: add-checkpoint: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("witness: reading response: %w", err)
	}
	if len(data) > MaxResponseSize {
		return nil, fmt.Errorf("%w: response longer than %d bytes", ErrWitnessFailed, MaxResponseSize)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if !signatureLines(data) {
			return nil, fmt.Errorf("%w: the response is not note signature lines", ErrWitnessFailed)
		}
		return data, nil
	case http.StatusConflict:
		size, ok := bytes.CutSuffix(data, []byte{'\n'})
		n, err := parseSize(size)
		if !ok || err != nil {
			return nil, fmt.Errorf("%w: 409 without a tree size", ErrWitnessFailed)
		}
		return nil, &ledger.WitnessConflictError{Latest: n}
	}
	return nil, &ResponseError{StatusCode: resp.StatusCode, Message: printable(data, 200)}
}

// ConsistencyProver returns consistency proofs of a log; *ledger.Log is
// one.
type ConsistencyProver interface {
	ConsistencyProof(ctx context.Context, m, n uint64) ([]merkle.Hash, error)
}

// Cosign has the witness cosign signed, starting from oldSize (the size
// the caller believes the witness last cosigned; 0 if unknown) with a
// proof from prover, and retrying once from the size a 409 reports. It
// returns the cosignature lines; the witness then holds the checkpoint's
// size. If the witness holds another root at the checkpoint's size, or a
// larger size, it fails with an error wrapping ledger.ErrInvalidProof.
func (c *Client) Cosign(ctx context.Context, prover ConsistencyProver, oldSize uint64, signed []byte) ([]byte, error) {
	cp, err := ledger.ParseSignedCheckpoint(signed)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if oldSize > cp.Size {
			return nil, fmt.Errorf("%w: the witness holds size %d, above the checkpoint's %d", ledger.ErrInvalidProof, oldSize, cp.Size)
		}
		var proof []merkle.Hash
		if oldSize != 0 && oldSize != cp.Size {
			if proof, err = prover.ConsistencyProof(ctx, oldSize, cp.Size); err != nil {
				return nil, fmt.Errorf("witness: consistency proof from %d: %w", oldSize, err)
			}
		}
		lines, err := c.AddCheckpoint(ctx, oldSize, proof, signed)
		var conflict *ledger.WitnessConflictError
		if !errors.As(err, &conflict) {
			return lines, err
		}
		if conflict.Latest == oldSize {
			return nil, fmt.Errorf("%w: the witness holds another root at size %d: %w", ledger.ErrInvalidProof, oldSize, err)
		}
		if attempt > 0 {
			return nil, err
		}
		oldSize = conflict.Latest
	}
}

// signatureLines reports whether b is one or more UTF-8 note signature
// lines ("— " ... "\n") without control characters.
func signatureLines(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for line := range bytes.Lines(b) {
		if !bytes.HasPrefix(line, []byte("\u2014 ")) || !bytes.HasSuffix(line, []byte{'\n'}) {
			return false
		}
		for _, c := range line[:len(line)-1] {
			if c < 0x20 || c == 0x7f {
				return false
			}
		}
	}
	return true
}

// printable returns up to n bytes of b with everything but printable ASCII
// replaced by '?'.
func printable(b []byte, n int) string {
	b = b[:min(len(b), n)]
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return strings.TrimSpace(string(out))
}
