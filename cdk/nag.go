package cdk

import (
	"sort"
	"strings"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/s3crr/s3crr/internal/policy"
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

// wildcardFindings lists the AwsSolutions-IAM5 findings a policy document produces
// ("Resource::<arn with *>", "Action::<action with *>"), so a suppression can name
// exactly the wildcards the document's builder justifies in internal/policy.
func wildcardFindings(docs ...policy.Document) []string {
	seen := map[string]bool{}
	for _, d := range docs {
		for _, st := range d.Statement {
			if st.Effect != policy.Allow {
				continue
			}
			for _, r := range st.Resource {
				if strings.Contains(r, "*") {
					seen["Resource::"+r] = true
				}
			}
			for _, a := range st.Action {
				if strings.Contains(a, "*") {
					seen["Action::"+a] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
