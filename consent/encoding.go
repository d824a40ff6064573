package consent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Domain-separation strings of the consent encodings (see SPEC.md).
const (
	// ConsentEncodingPrefix starts every canonical consent encoding.
	ConsentEncodingPrefix = "healthledger/consent/v1\n"
	// consentIDDomain prefixes the hash that names a consent.
	consentIDDomain = "healthledger/consent/id/v1\x00"
)

// ID names a consent: SHA-256 of a domain-separation string and the
// consent's canonical encoding (see SPEC.md).
type ID [32]byte

// String returns the hex encoding of the ID.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID parses the hex encoding of an ID.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, invalid("id", ErrMalformed)
	}
	copy(id[:], b)
	return id, nil
}

func idOf(encoding []byte) ID {
	h := sha256.New()
	h.Write([]byte(consentIDDomain))
	h.Write(encoding)
	var id ID
	h.Sum(id[:0])
	return id
}

// ID returns the consent's ID. It fails if the consent does not validate.
func (c *Consent) ID() (ID, error) {
	b, err := c.MarshalBinary()
	if err != nil {
		return ID{}, err
	}
	return idOf(b), nil
}

type wirePeriod struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type wireActor struct {
	Reference    string `json:"reference,omitempty"`
	Role         string `json:"role,omitempty"`
	Organization string `json:"organization,omitempty"`
}

type wireCoding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type wireRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type wireProvision struct {
	Actors      []wireActor     `json:"actor,omitempty"`
	Actions     []string        `json:"action,omitempty"`
	Purposes    []string        `json:"purpose,omitempty"`
	DataClasses []string        `json:"class,omitempty"`
	Labels      []string        `json:"securityLabel,omitempty"`
	Codes       []wireCoding    `json:"code,omitempty"`
	Period      *wirePeriod     `json:"period,omitempty"`
	DataPeriod  *wirePeriod     `json:"dataPeriod,omitempty"`
	Resources   []wireRef       `json:"data,omitempty"`
	Provisions  []wireProvision `json:"provision,omitempty"`
}

type wireConsent struct {
	Patient     string          `json:"patient"`
	Status      string          `json:"status"`
	Period      *wirePeriod     `json:"period,omitempty"`
	Grantors    []string        `json:"grantor,omitempty"`
	Grantees    []string        `json:"grantee,omitempty"`
	PolicyBasis string          `json:"policyBasis,omitempty"`
	Decision    string          `json:"decision"`
	Provisions  []wireProvision `json:"provision,omitempty"`
}

// MarshalBinary returns the canonical encoding of a valid consent:
// ConsentEncodingPrefix followed by compact JSON with a fixed field order,
// list order preserved, empty fields omitted and times in RFC 3339 UTC
// with nanoseconds (SPEC.md).
func (c *Consent) MarshalBinary() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w := wireConsent{
		Patient:     c.Patient,
		Status:      c.Status.String(),
		Period:      toWirePeriod(c.Period),
		Grantors:    c.Grantors,
		Grantees:    c.Grantees,
		PolicyBasis: c.PolicyBasis,
		Decision:    c.Decision.String(),
		Provisions:  toWireProvisions(c.Provisions),
	}
	return marshalPrefixed(ConsentEncodingPrefix, &w)
}

func marshalPrefixed(prefix string, v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(prefix)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, invalid("", ErrMalformed)
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // drop the encoder's newline
}

func unmarshalPrefixed(prefix string, b []byte, v any) error {
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return invalid("prefix", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(b[len(prefix):]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("json", ErrMalformed)
	}
	if dec.More() {
		return invalid("json", ErrMalformed)
	}
	return nil
}

// UnmarshalConsent decodes a canonical consent encoding. It rejects any
// input that is not exactly the canonical encoding of a valid consent.
func UnmarshalConsent(b []byte) (*Consent, error) {
	var w wireConsent
	if err := unmarshalPrefixed(ConsentEncodingPrefix, b, &w); err != nil {
		return nil, err
	}
	c, err := fromWireConsent(&w)
	if err != nil {
		return nil, err
	}
	again, err := c.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, invalid("", ErrMalformed)
	}
	return c, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s, path string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid(path, ErrMalformed)
	}
	return t.UTC(), nil
}

func toWirePeriod(p Period) *wirePeriod {
	if p.IsZero() {
		return nil
	}
	w := &wirePeriod{}
	if !p.Start.IsZero() {
		w.Start = formatTime(p.Start)
	}
	if !p.End.IsZero() {
		w.End = formatTime(p.End)
	}
	return w
}

func fromWirePeriod(w *wirePeriod, path string) (Period, error) {
	if w == nil {
		return Period{}, nil
	}
	s, err := parseTime(w.Start, path+".start")
	if err != nil {
		return Period{}, err
	}
	e, err := parseTime(w.End, path+".end")
	return Period{Start: s, End: e}, err
}

func toWireProvisions(ps []Provision) []wireProvision {
	if len(ps) == 0 {
		return nil
	}
	out := make([]wireProvision, len(ps))
	for i := range ps {
		p := &ps[i]
		w := &out[i]
		for _, a := range p.Actors {
			w.Actors = append(w.Actors, wireActor(a))
		}
		for _, a := range p.Actions {
			w.Actions = append(w.Actions, a.String())
		}
		for _, u := range p.Purposes {
			w.Purposes = append(w.Purposes, u.String())
		}
		w.DataClasses = p.DataClasses
		for _, l := range p.Labels {
			w.Labels = append(w.Labels, l.String())
		}
		for _, c := range p.Codes {
			w.Codes = append(w.Codes, wireCoding(c))
		}
		w.Period = toWirePeriod(p.Period)
		w.DataPeriod = toWirePeriod(p.DataPeriod)
		for _, r := range p.Resources {
			w.Resources = append(w.Resources, wireRef(r))
		}
		w.Provisions = toWireProvisions(p.Provisions)
	}
	return out
}

func fromWireConsent(w *wireConsent) (*Consent, error) {
	c := &Consent{Patient: w.Patient, Grantors: w.Grantors, Grantees: w.Grantees, PolicyBasis: w.PolicyBasis}
	var err error
	if c.Status, err = ParseStatus(w.Status); err != nil {
		return nil, err
	}
	d, ok := parseEffect(w.Decision)
	if !ok || d == NoConsent {
		return nil, invalid("decision", ErrUnknownCode)
	}
	c.Decision = d
	if c.Period, err = fromWirePeriod(w.Period, "period"); err != nil {
		return nil, err
	}
	if c.Provisions, err = fromWireProvisions(w.Provisions, "", 1); err != nil {
		return nil, err
	}
	return c, nil
}

func fromWireProvisions(ws []wireProvision, path string, depth int) ([]Provision, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	if depth > MaxDepth {
		return nil, invalid(path, ErrTooDeep)
	}
	out := make([]Provision, len(ws))
	for i := range ws {
		w, p := &ws[i], &out[i]
		pp := path + "provision"
		for _, a := range w.Actors {
			p.Actors = append(p.Actors, ActorMatch(a))
		}
		for _, s := range w.Actions {
			a, err := ParseAction(s)
			if err != nil {
				return nil, invalid(pp+".action", ErrUnknownCode)
			}
			p.Actions = append(p.Actions, a)
		}
		for _, s := range w.Purposes {
			u, err := ParsePurpose(s)
			if err != nil {
				return nil, invalid(pp+".purpose", ErrUnknownCode)
			}
			p.Purposes = append(p.Purposes, u)
		}
		p.DataClasses = w.DataClasses
		for _, s := range w.Labels {
			l, err := ParseLabel("", s)
			if err != nil {
				return nil, invalid(pp+".securityLabel", ErrUnknownCode)
			}
			p.Labels = append(p.Labels, l)
		}
		for _, c := range w.Codes {
			p.Codes = append(p.Codes, Coding(c))
		}
		var err error
		if p.Period, err = fromWirePeriod(w.Period, pp+".period"); err != nil {
			return nil, err
		}
		if p.DataPeriod, err = fromWirePeriod(w.DataPeriod, pp+".dataPeriod"); err != nil {
			return nil, err
		}
		for _, r := range w.Resources {
			p.Resources = append(p.Resources, ResourceRef(r))
		}
		if p.Provisions, err = fromWireProvisions(w.Provisions, pp+".", depth+1); err != nil {
			return nil, err
		}
	}
	return out, nil
}
