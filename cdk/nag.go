package cdk

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// A nagWaiver is one cdk-nag suppression: the rule, why the finding is accepted, and
// (for the IAM rules) exactly which findings, so a new wildcard still fails the check.
type nagWaiver struct {
	id        string
	reason    string
	appliesTo []string
}

// waive suppresses findings on c and its children (a role and its default policy, a
// function and its generated parts).
func waive(c constructs.IConstruct, ws ...nagWaiver) {
	list := make([]*cdknag.NagPackSuppression, 0, len(ws))
	for _, w := range ws {
		s := &cdknag.NagPackSuppression{Id: jsii.String(w.id), Reason: jsii.String(w.reason)}
		if len(w.appliesTo) > 0 {
			applies := make([]any, 0, len(w.appliesTo))
			for _, a := range w.appliesTo {
				applies = append(applies, a)
			}
			s.AppliesTo = &applies
		}
		list = append(list, s)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &list, jsii.Bool(true))
}

// Findings of AwsSolutions-IAM5 that the CDK constructs themselves produce.
const (
	// findingAnyResource is how cdk-nag reports Resource "*".
	findingAnyResource = "Resource::*"
)

// iam5Waiver accepts exactly the listed AwsSolutions-IAM5 findings on one construct.
// All of a construct's IAM5 findings go in one suppression, with every reason, because
// cdk-nag matches a finding against the first suppression with its rule ID.
func iam5Waiver(reason, more string, findings ...string) nagWaiver {
	if more != "" {
		reason += " " + more
	}
	seen := map[string]bool{}
	var applies []string
	for _, f := range findings {
		if !seen[f] {
			seen[f] = true
			applies = append(applies, f)
		}
	}
	return nagWaiver{id: "AwsSolutions-IAM5", reason: reason, appliesTo: applies}
}
