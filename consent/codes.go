package consent

import "strings"

// Code systems of the fixed vocabularies, as FHIR writes them.
const (
	// SystemActReason is HL7 v3 ActReason, the system of purposes of use.
	SystemActReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	// SystemConfidentiality is HL7 v3 Confidentiality (U, L, M, N, R, V).
	SystemConfidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	// SystemActCode is HL7 v3 ActCode, the system of sensitivity labels.
	SystemActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	// SystemConsentAction is the FHIR consent action code system.
	SystemConsentAction = "http://terminology.hl7.org/CodeSystem/consentaction"
	// SystemResourceTypes is the FHIR resource type code system.
	SystemResourceTypes = "http://hl7.org/fhir/resource-types"
)

// Effect is the answer of a consent or a decision.
type Effect uint8

// Effects. The zero value is NoConsent: nothing applies.
const (
	// NoConsent means no active consent applies to the request.
	NoConsent Effect = iota
	// Permit means the consents permit the request.
	Permit
	// Deny means the consents deny the request.
	Deny
)

// String returns "no-consent", "permit" or "deny".
func (e Effect) String() string {
	switch e {
	case NoConsent:
		return "no-consent"
	case Permit:
		return "permit"
	case Deny:
		return "deny"
	}
	return "invalid"
}

func (e Effect) flip() Effect {
	if e == Permit {
		return Deny
	}
	return Permit
}

func parseEffect(s string) (Effect, bool) {
	switch s {
	case "permit":
		return Permit, true
	case "deny":
		return Deny, true
	case "no-consent":
		return NoConsent, true
	}
	return 0, false
}

// Status is the FHIR Consent.status. Only StatusActive consents take part
// in decisions. The zero value is invalid.
type Status uint8

// Statuses of FHIR R4 and R5 Consent.
const (
	StatusDraft Status = iota + 1
	StatusProposed
	StatusActive
	StatusRejected
	StatusInactive
	StatusNotDone
	StatusEnteredInError
	// StatusUnknown is R5's "unknown": the consent is in an indeterminate
	// state. Like every status but active, it takes no part in decisions.
	StatusUnknown
)

const statusCodes = "draft proposed active rejected inactive not-done entered-in-error unknown"

// String returns the FHIR code of the status.
func (s Status) String() string { return nameOf(statusCodes, int(s)) }

func (s Status) valid() bool { return s != 0 && s <= StatusUnknown }

// ParseStatus parses a FHIR Consent.status code.
func ParseStatus(code string) (Status, error) {
	if i := indexOf(statusCodes, code); i > 0 {
		return Status(i), nil
	}
	return 0, invalid("status", ErrUnknownCode)
}

// Action is a FHIR consent action (code system consentaction).
// The zero value is invalid.
type Action uint8

// Actions.
const (
	ActionAccess Action = iota + 1
	ActionCollect
	ActionUse
	ActionDisclose
	ActionCorrect
)

const actionCodes = "access collect use disclose correct"

// String returns the FHIR code of the action.
func (a Action) String() string { return nameOf(actionCodes, int(a)) }

// ParseAction parses a consentaction code.
func ParseAction(code string) (Action, error) {
	if i := indexOf(actionCodes, code); i > 0 {
		return Action(i), nil
	}
	return 0, invalid("action", ErrUnknownCode)
}

func (a Action) valid() bool { return a != 0 && a <= ActionCorrect }

// Purpose is a purpose of use from HL7 v3 ActReason. The zero value means
// "missing", which no request may have.
type Purpose uint8

// Purposes of use supported by the evaluator.
const (
	PurposeTreat                 Purpose = iota + 1 // TREAT: treatment
	PurposeEmergencyTreat                           // ETREAT: emergency treatment
	PurposeBreakTheGlass                            // BTG: break the glass
	PurposeCareManagement                           // CAREMGT
	PurposePayment                                  // HPAYMT: healthcare payment
	PurposeClaimAttachment                          // CLMATTCH
	PurposeCoverageAuth                             // COVAUTH
	PurposeOperations                               // HOPERAT: healthcare operations
	PurposeSystemAdmin                              // HSYSADMIN
	PurposeQualityImprovement                       // HQUALIMP
	PurposeAccreditation                            // HACCRED
	PurposeResearch                                 // HRESCH: healthcare research
	PurposeClinicalTrialResearch                    // CLINTRCH
	PurposePublicHealth                             // PUBHLTH
	PurposeDisaster                                 // DISASTER
	PurposeThreat                                   // THREAT
	PurposeMarketing                                // HMARKT
	PurposeLegal                                    // HLEGAL
	PurposePatientRequested                         // PATRQT
	PurposeFamilyRequested                          // FAMRQT
	PurposePowerOfAttorney                          // PWATRNY
	PurposeSupportNetwork                           // SUPNWK
	PurposeTraining                                 // TRAIN
	PurposeDirectory                                // HDIRECT
	numPurposes
)

const purposeCodes = "TREAT ETREAT BTG CAREMGT HPAYMT CLMATTCH COVAUTH HOPERAT HSYSADMIN HQUALIMP HACCRED " +
	"HRESCH CLINTRCH PUBHLTH DISASTER THREAT HMARKT HLEGAL PATRQT FAMRQT PWATRNY SUPNWK TRAIN HDIRECT"

// parentPurpose is the ActReason specialization used for matching: a
// provision naming a purpose also matches its specializations.
func parentPurpose(p Purpose) Purpose {
	switch p {
	case PurposeEmergencyTreat, PurposeCareManagement:
		return PurposeTreat
	case PurposeBreakTheGlass:
		return PurposeEmergencyTreat
	case PurposeClaimAttachment, PurposeCoverageAuth:
		return PurposePayment
	case PurposeSystemAdmin, PurposeQualityImprovement, PurposeAccreditation:
		return PurposeOperations
	case PurposeClinicalTrialResearch:
		return PurposeResearch
	case PurposeDisaster, PurposeThreat:
		return PurposePublicHealth
	}
	return 0
}

// String returns the ActReason code.
func (p Purpose) String() string { return nameOf(purposeCodes, int(p)) }

func (p Purpose) valid() bool { return p != 0 && p < numPurposes }

// Parent returns the purpose p specializes, or 0.
func (p Purpose) Parent() Purpose {
	if p.valid() {
		return parentPurpose(p)
	}
	return 0
}

// ParsePurpose parses an ActReason purpose-of-use code.
func ParsePurpose(code string) (Purpose, error) {
	if i := indexOf(purposeCodes, code); i > 0 {
		return Purpose(i), nil
	}
	return 0, invalid("purpose", ErrUnknownCode)
}

// bit returns the bit of p in a purpose mask.
func (p Purpose) bit() uint64 { return 1 << p }

// closure returns the mask of p and every purpose that specializes it.
func (p Purpose) closure() uint64 {
	var m uint64
	for q := Purpose(1); q < numPurposes; q++ {
		for a := q; a != 0; a = parentPurpose(a) {
			if a == p {
				m |= q.bit()
				break
			}
		}
	}
	return m
}

// IsBreakGlass reports whether p is an emergency purpose (ETREAT or BTG)
// that an authorized role may use to override a denial.
func (p Purpose) IsBreakGlass() bool {
	return p == PurposeEmergencyTreat || p == PurposeBreakTheGlass
}

// Label is a security label: a confidentiality level (HL7 v3
// Confidentiality) or a sensitivity (HL7 v3 ActCode). Labels are matched
// exactly (R does not imply N). The zero value is invalid.
type Label uint8

// Security labels.
const (
	// Confidentiality levels.
	LabelUnrestricted   Label = iota + 1 // U
	LabelLow                             // L
	LabelModerate                        // M
	LabelNormal                          // N
	LabelRestricted                      // R
	LabelVeryRestricted                  // V
	// Sensitivities (ActCode ActInformationSensitivityPolicy).
	LabelSubstanceAbuse    // ETH (42 CFR Part 2)
	LabelSubstanceUse      // SUD (42 CFR Part 2)
	LabelHIV               // HIV
	LabelPsychiatry        // PSY
	LabelPsychotherapyNote // PSYTHPN
	LabelBehavioralHealth  // BH
	LabelDomesticViolence  // SDV
	LabelSexuality         // SEX
	LabelSTD               // STD
	LabelGeneticDisease    // GDIS
	LabelSickleCell        // SCA
	LabelMilitarySexTrauma // MST
	LabelTaboo             // TBOO
	numLabels
)

const firstSensitivity = LabelSubstanceAbuse

const labelCodes = "U L M N R V ETH SUD HIV PSY PSYTHPN BH SDV SEX STD GDIS SCA MST TBOO"

// String returns the label's code.
func (l Label) String() string { return nameOf(labelCodes, int(l)) }

// System returns the label's code system.
func (l Label) System() string {
	if l < firstSensitivity {
		return SystemConfidentiality
	}
	return SystemActCode
}

func (l Label) valid() bool { return l != 0 && l < numLabels }

func (l Label) bit() uint64 { return 1 << l }

// ParseLabel parses a security label code of the given system. An empty
// system accepts either vocabulary.
func ParseLabel(system, code string) (Label, error) {
	lo, hi := Label(1), numLabels
	switch system {
	case "":
	case SystemConfidentiality:
		hi = firstSensitivity
	case SystemActCode:
		lo = firstSensitivity
	default:
		return 0, invalid("securityLabel.system", ErrUnknownCode)
	}
	if l := Label(indexOf(labelCodes, code)); l >= lo && l < hi {
		return l, nil
	}
	return 0, invalid("securityLabel", ErrUnknownCode)
}

// nameOf returns the i-th (from 1) name of a space-separated list, or
// "invalid".
func nameOf(list string, i int) string {
	for n := 1; list != "" && i > 0; n++ {
		var name string
		name, list, _ = strings.Cut(list, " ")
		if n == i {
			return name
		}
	}
	return "invalid"
}

// indexOf returns the position (from 1) of name in a space-separated list,
// or 0.
func indexOf(list, name string) int {
	for n := 1; list != ""; n++ {
		var f string
		f, list, _ = strings.Cut(list, " ")
		if f == name && name != "" {
			return n
		}
	}
	return 0
}
