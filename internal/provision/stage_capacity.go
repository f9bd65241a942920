package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// checkRoleCapacity refuses, in the validate stage and so before any stage writes, a
// request whose legs would take the inline policy of their source bucket's shared role
// past IAM's limit (docs/aws-facts.md#F-IAM-QUOTAS): the role stage would refuse the leg
// that overflows, but only after the earlier stages of the run (and the earlier legs) had
// created buckets and keys. The policy is sized as the role stage would write it: the
// role's s3crr statements as they are now, the request's legs' own replaced by what each
// needs, with a key that does not exist yet counted at the length of a key ARN. Reads
// only; an account it cannot reach yet is left to preflight, which names the fix.
func (st *stage) checkRoleCapacity(ctx context.Context, legs []spec.Request) error {
	type group struct {
		first spec.Request
		legs  []spec.Request
	}
	var order []string
	groups := map[string]*group{}
	for _, leg := range legs {
		k := leg.Source.Account + "/" + leg.Source.Bucket
		if groups[k] == nil {
			groups[k] = &group{first: leg}
			order = append(order, k)
		}
		groups[k].legs = append(groups[k].legs, leg)
	}
	for _, k := range order {
		g := groups[k]
		doc, err := st.sizedRolePolicy(ctx, g.first, g.legs)
		var denied *AccessDenied
		if assumeRoleError(err) != nil || (errors.As(err, &denied) && denied.Action == "sts:AssumeRole") {
			continue // preflight reports the account it cannot reach, with the fix
		}
		if err != nil {
			return err
		}
		if n := policyChars(doc); n > maxRolePolicyChars {
			ids := make([]string, len(g.legs))
			for i, l := range g.legs {
				ids[i] = l.PairID
			}
			field, fix := "destination", ""
			if len(st.req.Destinations) > 0 {
				field, fix = "destinations", "put fewer entries in destinations, "
			}
			return &PreflightFailed{Message: fmt.Sprintf("%s: the inline policy of role %s, which every pair from bucket %s shares, would be %d characters with this request's pairs %s (%d statements in all), over IAM's %d for a role's inline policies (docs/aws-facts.md#F-IAM-QUOTAS); nothing was created "+
				"(fix: %sdestroy a pair from bucket %s, or replicate from another source bucket)",
				field, g.first.ReplicationRoleARN(), g.first.Source.Bucket, n, strings.Join(ids, ", "), len(doc.Statement), maxRolePolicyChars, fix, g.first.Source.Bucket)}
		}
	}
	return nil
}

// sizedRolePolicy is the shared role's inline policy as the role stages of legs would
// leave it.
func (st *stage) sizedRolePolicy(ctx context.Context, first spec.Request, legs []spec.Request) (policy.Document, error) {
	m, err := st.sessionFor(ctx, first.Source)
	if err != nil {
		return policy.Document{}, err
	}
	current := policy.Document{Version: policy.Version}
	name := first.ReplicationRoleName()
	// GetRole first: a role that does not exist has no policy, and asking for it could
	// be denied rather than NoSuchEntity (see rolePolicyLeft).
	_, err = m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	switch {
	case awsclient.IsNotFound(err):
	case err != nil:
		return policy.Document{}, m.classify("iam:GetRole "+name, err)
	default:
		out, err := m.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(names.ReplicationPolicyName)})
		switch {
		case awsclient.IsNotFound(err):
		case err != nil:
			return policy.Document{}, m.classify("iam:GetRolePolicy "+name, err)
		default:
			if current, err = decodePolicyDocument(aws.ToString(out.PolicyDocument)); err != nil {
				return policy.Document{}, fmt.Errorf("parse policy %s of %s: %w", names.ReplicationPolicyName, name, err)
			}
		}
	}
	doc := ourStatements(current)
	for _, leg := range legs {
		doc, _ = policy.RemovePair(doc, leg.PairID)
	}
	for _, leg := range legs {
		// A stage of the leg's own, planning: it only reads, and plans a key that does
		// not exist yet.
		src, err := st.sessionFor(ctx, leg.Source)
		if err != nil {
			return policy.Document{}, err
		}
		dst, err := st.sessionFor(ctx, leg.Destination)
		if err != nil {
			return policy.Document{}, err
		}
		ls := &stage{svc: st.svc, req: leg, plan: true, res: Result{Outputs: map[string]string{}},
			sessions: map[string]*member{SideSource: src, SideDestination: dst}}
		p, err := ls.params(ctx)
		if err != nil {
			return policy.Document{}, err
		}
		p.SourceKeyARN = sizedKeyARN(p.SourceKeyARN, leg.Source)
		p.DestinationKeyARN = sizedKeyARN(p.DestinationKeyARN, leg.Destination)
		doc, _ = policy.Merge(doc, policy.ReplicationRolePolicy(p).Statement)
	}
	return doc, nil
}

// sizedKeyARN stands a key ARN of the real length for a planned one: KMS key IDs are
// 36 characters (a UUID, or mrk- and 32 hex digits for a multi-Region key).
func sizedKeyARN(arn string, ep spec.Endpoint) string {
	if arn != plannedKeyARN(ep) {
		return arn
	}
	return fmt.Sprintf("arn:%s:kms:%s:%s:key/%s", names.Partition, ep.Region, ep.Account, strings.Repeat("0", 36))
}
