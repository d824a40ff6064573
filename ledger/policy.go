package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Limits of a witness policy. C2SP tlog-policy recommends supporting at
// least 32 logs, 32 witnesses and 32 groups.
const (
	// MaxPolicySize is the largest policy text ParsePolicy reads.
	MaxPolicySize = 64 << 10
	// MaxPolicyLogs, MaxPolicyWitnesses and MaxPolicyGroups bound the
	// number of log, witness and group lines of a policy.
	MaxPolicyLogs      = 256
	MaxPolicyWitnesses = 256
	MaxPolicyGroups    = 256
)

// PolicyLog is a log line of a [Policy].
type PolicyLog struct {
	// Key is the log's note verifier key; its name is the log's origin.
	Key string
	// URL is the optional URL, empty if none.
	URL string
}

// PolicyWitness is a witness line of a [Policy].
type PolicyWitness struct {
	// Name is the witness's name in the policy (not its key name).
	Name string
	// Key is the witness's cosigner verifier key.
	Key string
	// URL is the optional URL (by convention the witness's tlog-witness
	// submission prefix), empty if none.
	URL string
}

// Policy is a C2SP tlog-policy (https://c2sp.org/tlog-policy): the logs
// and witnesses a party knows and the quorum of witness cosignatures a
// checkpoint needs. It is immutable after ParsePolicy and safe for
// concurrent use. Evaluating it is pure: no clock, no I/O.
//
// Witness keys are Ed25519 cosigner keys (tlog-cosignature v1: vkeys of
// type 0x04, or a standard Ed25519 note key of type 0x01). ML-DSA-44
// witness keys (type 0x06) are refused: Go 1.26's standard library has no
// public ML-DSA (only crypto/internal/fips140/mldsa), so verifying them
// would need a new dependency; see SPEC.md, "Witness policies".
type Policy struct {
	logs      []PolicyLog
	witnesses []PolicyWitness
	verifiers []*CosignatureVerifier // parallel to witnesses
	groups    []policyGroup
	quorum    policyRef
}

// policyRef names a witness or a group of a policy, or "none".
type policyRef struct {
	kind  byte // refNone, refWitness or refGroup
	index int
}

const (
	refNone = iota
	refWitness
	refGroup
)

type policyGroup struct {
	name    string
	k       int
	members []policyRef
}

// ParsePolicy parses a tlog-policy text. It is strict where the
// specification is: every name is defined once before it is used, a group
// lists each member at most once and has 1 <= k <= n, there is exactly one
// quorum line, no two logs or witnesses share a public key, and only tab,
// newline, 0x20-0x7E and 0x80-0xFF bytes occur. Names are opaque octet
// strings. A missing newline after the last line is accepted. Errors are
// *FieldError values (field "policy") wrapping ErrMalformed or
// ErrTooLarge, naming the line number.
func ParsePolicy(text []byte) (*Policy, error) {
	if len(text) > MaxPolicySize {
		return nil, fieldErr(ErrTooLarge, "policy", fmt.Sprintf("longer than %d bytes", MaxPolicySize))
	}
	for _, b := range text {
		if b < 0x20 && b != '\t' && b != '\n' || b == 0x7f {
			return nil, fieldErr(ErrMalformed, "policy", "contains a control character other than tab and newline")
		}
	}
	p := &Policy{}
	names := map[string]policyRef{}
	quorums := 0
	lineNo := 0
	for line := range bytes.Lines(text) {
		lineNo++
		fields := strings.FieldsFunc(string(bytes.TrimSuffix(line, []byte{'\n'})), func(r rune) bool { return r == ' ' || r == '\t' })
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		var err error
		switch fields[0] {
		case "log":
			err = p.parseLog(fields[1:])
		case "witness":
			err = p.parseWitness(fields[1:], names)
		case "group":
			err = p.parseGroup(fields[1:], names)
		case "quorum":
			quorums++
			if quorums > 1 {
				err = fmt.Errorf("a second quorum line")
			} else {
				err = p.parseQuorum(fields[1:], names)
			}
		default:
			err = fmt.Errorf("unknown keyword")
		}
		if err != nil {
			return nil, fieldErr(ErrMalformed, "policy", fmt.Sprintf("line %d: %v", lineNo, err))
		}
	}
	if quorums == 0 {
		return nil, fieldErr(ErrMalformed, "policy", "no quorum line")
	}
	return p, nil
}

func (p *Policy) parseLog(args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return fmt.Errorf("want log <vkey> [<url>]")
	}
	if len(p.logs) == MaxPolicyLogs {
		return fmt.Errorf("more than %d logs", MaxPolicyLogs)
	}
	if _, err := note.NewVerifier(args[0]); err != nil {
		return fmt.Errorf("log key is not an Ed25519 note verifier key")
	}
	pub := logPublicKey(args[0])
	for _, l := range p.logs {
		if bytes.Equal(logPublicKey(l.Key), pub) {
			return fmt.Errorf("duplicate log key")
		}
	}
	l := PolicyLog{Key: args[0]}
	if len(args) == 2 {
		l.URL = args[1]
	}
	p.logs = append(p.logs, l)
	return nil
}

func (p *Policy) parseWitness(args []string, names map[string]policyRef) error {
	if len(args) < 2 || len(args) > 3 {
		return fmt.Errorf("want witness <name> <vkey> [<url>]")
	}
	if len(p.witnesses) == MaxPolicyWitnesses {
		return fmt.Errorf("more than %d witnesses", MaxPolicyWitnesses)
	}
	if err := defineName(args[0], names); err != nil {
		return err
	}
	v, err := NewCosignatureVerifier(args[1])
	if err != nil {
		if vkeyType(args[1]) == mldsaCosignatureAlg {
			return fmt.Errorf("ML-DSA-44 witness keys are not supported (no ML-DSA in the Go standard library)")
		}
		return fmt.Errorf("witness key is not an Ed25519 cosigner verifier key")
	}
	for _, o := range p.verifiers {
		if bytes.Equal(o.pub, v.pub) {
			return fmt.Errorf("duplicate witness key")
		}
	}
	w := PolicyWitness{Name: args[0], Key: args[1]}
	if len(args) == 3 {
		w.URL = args[2]
	}
	names[w.Name] = policyRef{kind: refWitness, index: len(p.witnesses)}
	p.witnesses = append(p.witnesses, w)
	p.verifiers = append(p.verifiers, v)
	return nil
}

// mldsaCosignatureAlg is the vkey signature type of ML-DSA-44 cosigner
// keys (C2SP tlog-cosignature).
const mldsaCosignatureAlg = 0x06

// vkeyType returns the signature type byte of a vkey, or -1.
func vkeyType(vkey string) int {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return -1
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) == 0 {
		return -1
	}
	return int(raw[0])
}

func (p *Policy) parseGroup(args []string, names map[string]policyRef) error {
	if len(args) < 3 {
		return fmt.Errorf("want group <name> <k|all|any> <member>...")
	}
	if len(p.groups) == MaxPolicyGroups {
		return fmt.Errorf("more than %d groups", MaxPolicyGroups)
	}
	g := policyGroup{name: args[0]}
	n := len(args) - 2
	switch k := args[1]; k {
	case "all":
		g.k = n
	case "any":
		g.k = 1
	default:
		v, err := strconv.Atoi(k)
		if err != nil || v < 1 || v > n || strconv.Itoa(v) != k {
			return fmt.Errorf("group threshold must be all, any or a decimal between 1 and the number of members")
		}
		g.k = v
	}
	for _, m := range args[2:] {
		ref, ok := names[m]
		if !ok {
			return fmt.Errorf("group member is not a witness or group defined above")
		}
		if slices.Contains(g.members, ref) {
			return fmt.Errorf("group lists a member twice")
		}
		g.members = append(g.members, ref)
	}
	if err := defineName(g.name, names); err != nil {
		return err
	}
	names[g.name] = policyRef{kind: refGroup, index: len(p.groups)}
	p.groups = append(p.groups, g)
	return nil
}

func (p *Policy) parseQuorum(args []string, names map[string]policyRef) error {
	if len(args) != 1 {
		return fmt.Errorf("want quorum <name>")
	}
	if args[0] == "none" {
		p.quorum = policyRef{kind: refNone}
		return nil
	}
	ref, ok := names[args[0]]
	if !ok {
		return fmt.Errorf("quorum is not a witness or group defined above")
	}
	p.quorum = ref
	return nil
}

func defineName(name string, names map[string]policyRef) error {
	if name == "none" || name == "all" || name == "any" {
		return fmt.Errorf("%q is reserved", name)
	}
	if _, dup := names[name]; dup {
		return fmt.Errorf("name defined twice")
	}
	return nil
}

// Logs returns the policy's logs, in the order of the text.
func (p *Policy) Logs() []PolicyLog { return slices.Clone(p.logs) }

// Witnesses returns the policy's witnesses, in the order of the text.
func (p *Policy) Witnesses() []PolicyWitness { return slices.Clone(p.witnesses) }

// RequiresCosignatures reports whether the quorum needs any cosignature
// (false for "quorum none").
func (p *Policy) RequiresCosignatures() bool { return p.quorum.kind != refNone }

// Satisfied reports whether witnesses whose cosignatures verified meet the
// quorum. A cosignature counts for the policy witness whose key has its
// name and key ID; others are ignored.
func (p *Policy) Satisfied(cosigs []Cosignature) bool {
	return p.satisfied(p.cosigned(cosigs))
}

// cosigned returns which of the policy's witnesses made one of cosigs.
func (p *Policy) cosigned(cosigs []Cosignature) []bool {
	ok := make([]bool, len(p.witnesses))
	for _, c := range cosigs {
		for i, v := range p.verifiers {
			if v.name == c.Name && v.keyID == c.KeyHash {
				ok[i] = true
			}
		}
	}
	return ok
}

// satisfied evaluates the quorum given which witnesses cosigned. Groups
// only refer to earlier names, so one pass in order evaluates them all.
func (p *Policy) satisfied(witnessed []bool) bool {
	groupOK := make([]bool, len(p.groups))
	value := func(r policyRef) bool {
		switch r.kind {
		case refWitness:
			return witnessed[r.index]
		case refGroup:
			return groupOK[r.index]
		}
		return true
	}
	for i, g := range p.groups {
		n := 0
		for _, m := range g.members {
			if value(m) {
				n++
			}
		}
		groupOK[i] = n >= g.k
	}
	return value(p.quorum)
}

// MinCosignatures returns the smallest number of witnesses whose
// cosignatures can meet the quorum (0 for "quorum none").
func (p *Policy) MinCosignatures() int {
	mins := make([]int, len(p.groups))
	value := func(r policyRef) int {
		switch r.kind {
		case refWitness:
			return 1
		case refGroup:
			return mins[r.index]
		}
		return 0
	}
	for i, g := range p.groups {
		costs := make([]int, len(g.members))
		for j, m := range g.members {
			costs[j] = value(m)
		}
		slices.Sort(costs)
		for _, c := range costs[:g.k] {
			mins[i] += c
		}
	}
	return value(p.quorum)
}

// VerifyCosignatures verifies the cosignatures on a signed checkpoint
// against the policy's witnesses and returns those that verified, in the
// order of the policy. If they do not meet the quorum it returns them with
// a *QuorumError (wrapping ErrBadSignature). It does not check the log's
// signature (see [OpenCheckpoint] and [Verifier]).
func (p *Policy) VerifyCosignatures(signed []byte) ([]Cosignature, error) {
	cosigs, err := VerifyCosignatures(signed, p.verifiers)
	if err != nil {
		return nil, err
	}
	if !p.Satisfied(cosigs) {
		return cosigs, &QuorumError{Valid: len(cosigs), Required: p.MinCosignatures()}
	}
	return cosigs, nil
}

// hasLogKey reports whether the policy lists no logs, or a log with the
// public key of the note verifier key vkey.
func (p *Policy) hasLogKey(vkey string) bool {
	if len(p.logs) == 0 {
		return true
	}
	pub := logPublicKey(vkey)
	for _, l := range p.logs {
		if bytes.Equal(logPublicKey(l.Key), pub) {
			return true
		}
	}
	return false
}

// witnessIndex returns the index of the policy witness with public key
// pub, or -1.
func (p *Policy) witnessIndex(pub ed25519.PublicKey) int {
	for i, o := range p.verifiers {
		if bytes.Equal(o.pub, pub) {
			return i
		}
	}
	return -1
}
