package consent

// The linear evaluator (the evaluator as it was before the index), kept as
// the reference of the differential test: it visits every consent and
// every provision, in order. Only combine and eval are its own; the
// compiled consents, the matching of one provision, break-glass and
// obligations are the evaluator's.

// refDecide is Evaluator.decide with the linear combine.
func (e *Evaluator) refDecide(r *Request, d *Decision) error {
	idx := e.patients[r.Patient]
	d.reset()
	if err := r.validate(); err != nil {
		return err
	}
	pr := preparedRequest{Request: r, action: 1 << r.Action, purpose: r.Purpose.bit(), labels: labelMask(r.Resource.Labels)}
	effect, reason := NoConsent, ReasonNoConsentDefault
	var redact uint64
	if idx != nil {
		effect, reason, redact = refCombine(idx, &pr, d)
	}
	d.Effect, d.Reason = effect, reason
	switch effect {
	case Permit:
		d.Allowed = true
	case NoConsent:
		d.Allowed = e.noConsent
	}
	e.breakGlass(r, d)
	if d.Allowed && !d.BreakGlass {
		for l := Label(1); l < numLabels; l++ {
			if redact&l.bit() != 0 {
				d.Obligations = append(d.Obligations, Obligation{Kind: ObligationRedact, Label: l})
			}
		}
	}
	return nil
}

func refCombine(idx *patientIndex, pr *preparedRequest, d *Decision) (Effect, Reason, uint64) {
	effect, reason := NoConsent, ReasonNoConsentDefault
	var redact uint64
	for i := range idx.consents {
		c := &idx.consents[i]
		if !c.applies(pr) {
			continue
		}
		var cr uint64
		res, by, ind := refEval(&c.root, pr, c.decision, &cr)
		b := Basis{Consent: c.id, Path: by.path, Effect: res}
		switch {
		case res == Deny && effect != Deny:
			d.Basis = append(d.Basis[:0], b)
			effect, reason = Deny, ReasonConsent
		case res == Deny || res == Permit && effect != Deny:
			d.Basis = append(d.Basis, b)
			if effect == NoConsent {
				effect, reason = Permit, ReasonConsent
			}
			redact |= cr
		}
		if ind {
			reason = ReasonIndeterminate
		}
	}
	return effect, reason, redact
}

func refEval(p *compiledProvision, r *preparedRequest, eff Effect, redact *uint64) (Effect, *compiledProvision, bool) {
	result, by := eff, p
	matchedAny := false
	for i := range p.children {
		ch := &p.children[i]
		m := ch.match(r)
		if m == indeterminate {
			return Deny, ch, true
		}
		if m == noMatch {
			if eff == Permit && ch.labels != 0 && ch.labels&r.labels == 0 &&
				(ch.actions == 0 || ch.actions&r.action != 0) &&
				(ch.purposes == 0 || ch.purposes&r.purpose != 0) &&
				ch.matchRest(r) != noMatch {
				*redact |= ch.labels
			}
			continue
		}
		res, b, ind := refEval(ch, r, eff.flip(), redact)
		if ind {
			return Deny, b, true
		}
		if !matchedAny || res == Deny && result != Deny {
			result, by = res, b
		}
		matchedAny = true
	}
	return result, by, false
}
