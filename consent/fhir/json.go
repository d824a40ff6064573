package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/healthledger/healthledger/consent"
)

// object is one decoded JSON object whose members must each be consumed:
// done reports the first member nobody took as unsupported.
type object struct {
	path   string
	keys   []string
	fields map[string]json.RawMessage
	used   map[string]bool
}

func malformed(path string) error {
	return &consent.ValidationError{Path: path, Err: consent.ErrMalformed}
}

func unsupported(path, reason string) error {
	return &consent.UnsupportedElementError{Element: path, Reason: reason}
}

func parseObject(raw json.RawMessage, path string) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, malformed(path)
	}
	o := &object{path: path, fields: map[string]json.RawMessage{}, used: map[string]bool{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(path)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, malformed(path)
		}
		if _, dup := o.fields[key]; dup {
			return nil, malformed(o.member(key))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, malformed(o.member(key))
		}
		o.keys = append(o.keys, key)
		o.fields[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, malformed(path)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed(path)
	}
	return o, nil
}

func (o *object) has(key string) bool { _, ok := o.fields[key]; return ok }

func (o *object) take(key string) (json.RawMessage, bool) {
	v, ok := o.fields[key]
	if ok {
		o.used[key] = true
	}
	return v, ok
}

// skip consumes informational members that do not take part in decisions.
func (o *object) skip(keys ...string) {
	for _, k := range keys {
		o.take(k)
	}
}

// done fails on the first member that was not consumed. The error names
// the member only when it is an element the FHIR specification defines
// for the object's type (and then by the spec's own spelling, from
// specElements); any other member name is attacker-chosen text and is
// reported by its position only.
func (o *object) done() error {
	for i, k := range o.keys {
		if o.used[k] {
			continue
		}
		if name, ok := strings.CutPrefix(k, "_"); ok {
			if el, known := o.specElement(name); known {
				return unsupported(o.path+"."+el+".extension", "primitive extensions are not supported")
			}
			return unsupported(o.path, "primitive extension of an element unknown to FHIR, member "+strconv.Itoa(i+1))
		}
		el, known := o.specElement(k)
		switch {
		case !known:
			return unsupported(o.path, "element unknown to FHIR, member "+strconv.Itoa(i+1))
		case el == "extension" || el == "modifierExtension":
			return unsupported(o.path+"."+el, "extensions are not supported")
		}
		return unsupported(o.path+"."+el, "")
	}
	return nil
}

// member returns the path of o's member key for an error: o.path.key if
// key is an element FHIR defines for o's type, else o.path alone.
func (o *object) member(key string) string {
	if el, ok := o.specElement(key); ok {
		return o.path + "." + el
	}
	return o.path
}

// specElement returns the spec's spelling of key when key is an element
// of o's FHIR type.
func (o *object) specElement(key string) (string, bool) {
	typ := o.path[strings.LastIndexByte(o.path, '.')+1:]
	for _, el := range specElements[typ] {
		if el == key {
			return el, true
		}
	}
	for _, el := range baseElements {
		if el == key {
			return el, true
		}
	}
	return "", false
}

// baseElements are the elements every FHIR element and resource may have.
var baseElements = [...]string{"id", "extension", "modifierExtension"}

// specElements lists, for the last segment of an object's element path,
// the elements FHIR R4 and R5 define for the type found there.
var specElements = map[string][]string{
	"Consent": {"meta", "implicitRules", "language", "text", "contained", "identifier", "status",
		"scope", "category", "patient", "subject", "dateTime", "date", "period", "performer", "grantor",
		"grantee", "manager", "controller", "organization", "sourceAttachment", "sourceReference",
		"regulatoryBasis", "policy", "policyBasis", "policyText", "policyRule", "verification", "decision",
		"provision", "resourceType"},
	"meta":      {"versionId", "lastUpdated", "source", "profile", "security", "tag"},
	"provision": {"type", "period", "actor", "action", "securityLabel", "purpose", "class", "documentType", "resourceType", "code", "dataPeriod", "data", "expression", "provision"},
	"actor":     {"role", "reference"},
	"data":      {"meaning", "reference"},
	"policy":    {"authority", "uri"},
	// R5 Consent.policyBasis.
	"policyBasis": {"reference", "url"},
	// Reference.
	"subject": referenceElements, "patient": referenceElements, "grantor": referenceElements,
	"grantee": referenceElements, "performer": referenceElements, "reference": referenceElements,
	"identifier": {"use", "type", "system", "value", "period", "assigner"},
	"period":     periodElements, "dataPeriod": periodElements,
	// CodeableConcept.
	"scope": conceptElements, "policyRule": conceptElements, "role": conceptElements,
	"action": conceptElements, "code": conceptElements,
	// Coding.
	"coding": codingElements, "securityLabel": codingElements, "purpose": codingElements,
	"class": codingElements, "resourceType": codingElements,
}

var (
	referenceElements = []string{"reference", "type", "identifier", "display"}
	periodElements    = []string{"start", "end"}
	conceptElements   = []string{"coding", "text"}
	codingElements    = []string{"system", "version", "code", "display", "userSelected"}
)

func (o *object) str(key string) (string, bool, error) {
	raw, ok := o.take(key)
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s == "" {
		return "", false, malformed(o.path + "." + key)
	}
	return s, true, nil
}

func (o *object) array(key string) ([]json.RawMessage, error) {
	raw, ok := o.take(key)
	if !ok {
		return nil, nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil || len(a) == 0 {
		return nil, malformed(o.path + "." + key)
	}
	return a, nil
}

func (o *object) child(key string) (*object, error) {
	raw, ok := o.take(key)
	if !ok {
		return nil, nil
	}
	return parseObject(raw, o.path+"."+key)
}

// coding decodes a FHIR Coding: system and code, display allowed.
func coding(raw json.RawMessage, path string) (consent.Coding, error) {
	o, err := parseObject(raw, path)
	if err != nil {
		return consent.Coding{}, err
	}
	sys, _, err := o.str("system")
	if err != nil {
		return consent.Coding{}, err
	}
	code, ok, err := o.str("code")
	if err != nil {
		return consent.Coding{}, err
	}
	if !ok {
		return consent.Coding{}, &consent.ValidationError{Path: path + ".code", Err: consent.ErrInvalidConsent}
	}
	o.skip("display", "version", "userSelected")
	return consent.Coding{System: sys, Code: code}, o.done()
}

// codeableConcept decodes the codings of a CodeableConcept (text allowed).
func codeableConcept(raw json.RawMessage, path string) ([]consent.Coding, error) {
	o, err := parseObject(raw, path)
	if err != nil {
		return nil, err
	}
	arr, err := o.array("coding")
	if err != nil {
		return nil, err
	}
	if len(arr) == 0 {
		return nil, &consent.ValidationError{Path: path + ".coding", Err: consent.ErrInvalidConsent}
	}
	o.skip("text")
	out := make([]consent.Coding, 0, len(arr))
	for _, a := range arr {
		c, err := coding(a, path+".coding")
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, o.done()
}

// dateTime parses a FHIR date or dateTime. FHIR reads a value at its
// precision: "2026-05-01" is the whole day, "2026-05-01T12:00:00Z" the
// whole second, "2026-05-01T12:00:00.250Z" the whole millisecond. A start
// is the first instant of that span. An end (FHIR Period.end is inclusive)
// becomes the first instant after the span, because consent.Period is
// half-open. Dates without a time have no time zone in FHIR; they are read
// in UTC.
func dateTime(s, path string, end bool) (time.Time, error) {
	layouts := []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{time.RFC3339Nano, func(t time.Time) time.Time { return t.Add(secondPrecision(s)) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
	}
	for _, l := range layouts {
		t, err := time.Parse(l.layout, s)
		if err != nil {
			continue
		}
		if end {
			t = l.next(t)
		}
		return t.UTC(), nil
	}
	return time.Time{}, malformed(path)
}

// secondPrecision returns the span a FHIR dateTime with a time stands
// for: one second, or one unit of its last fractional digit.
func secondPrecision(s string) time.Duration {
	_, frac, ok := strings.Cut(s, ".")
	if !ok {
		return time.Second
	}
	unit := time.Second
	for i := 0; i < len(frac) && frac[i] >= '0' && frac[i] <= '9' && unit > 1; i++ {
		unit /= 10
	}
	return unit
}

func period(o *object, key string) (consent.Period, error) {
	p, err := o.child(key)
	if err != nil || p == nil {
		return consent.Period{}, err
	}
	var out consent.Period
	if s, ok, err := p.str("start"); err != nil {
		return out, err
	} else if ok {
		if out.Start, err = dateTime(s, p.path+".start", false); err != nil {
			return out, err
		}
	}
	if s, ok, err := p.str("end"); err != nil {
		return out, err
	} else if ok {
		if out.End, err = dateTime(s, p.path+".end", true); err != nil {
			return out, err
		}
	}
	if !out.Start.IsZero() && !out.End.IsZero() && !out.Start.Before(out.End) {
		return out, &consent.ValidationError{Path: p.path, Err: consent.ErrInvalidPeriod}
	}
	return out, p.done()
}
