package provision

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// validate is the first stage: the request parsed (Run already did), defaults applied.
func (st *stage) validate(ctx context.Context) error {
	r := st.req
	st.res.Request = &r
	st.res.Outputs["executionName"] = r.ExecutionName()
	st.res.Outputs["requestHash"] = r.Hash()
	legs := st.svc.cfg.specOptions().Legs(r)
	if err := st.adoptLegacyRoles(ctx, legs); err != nil {
		return err
	}
	if err := st.checkRoleCapacity(ctx, legs); err != nil {
		return err
	}
	st.res.Legs = legs
	st.res.Outputs["replicationRoleArn"] = legs[0].ReplicationRoleARN()
	st.res.Outputs["ruleId"] = legs[0].RuleID()
	if len(legs) > 1 {
		ids := make([]string, len(legs))
		for i, l := range legs {
			ids[i] = l.PairID
		}
		st.res.Outputs["legs"] = strings.Join(ids, ",")
	}
	return nil
}

// adoptLegacyRoles keeps, for each leg, the replication role its source bucket already
// replicates through when that is a role s3crr made per pair (s3crr-repl-<pairId>, before
// roles were per source bucket): switching the configuration to the bucket's new role
// would need the destination grants moved first, and objects written in between would
// fail to replicate. The adopted role then takes every leg's statements like a new one
// (the role stage checks its tags). Anything else in the configuration (no
// configuration, a role that is not s3crr's) is preflight's and the replication stage's
// business, as before.
func (st *stage) adoptLegacyRoles(ctx context.Context, legs []spec.Request) error {
	adopted := map[string]string{} // account/bucket -> role name ("" when none)
	for i := range legs {
		leg := &legs[i]
		if leg.ReplicationRole != "" {
			continue
		}
		k := leg.Source.Account + "/" + leg.Source.Bucket
		name, done := adopted[k]
		if !done {
			m, err := st.sessionFor(ctx, leg.Source)
			if err != nil {
				return err
			}
			out, err := m.s3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(leg.Source.Bucket)})
			switch {
			case assumeRoleError(err) != nil:
				// Preflight reports an account it cannot reach, naming the fix, as it did
				// before legs; and it refuses a legacy role this stage did not adopt.
			case awsclient.IsNotFound(err) || awsclient.ErrorCode(err) == "NoSuchBucket":
			case err != nil:
				return m.classify("s3:GetReplicationConfiguration "+leg.Source.Bucket, err)
			case out.ReplicationConfiguration != nil:
				name = legacyRoleName(aws.ToString(out.ReplicationConfiguration.Role), leg.Source.Account, leg.ReplicationRoleName())
			}
			adopted[k] = name
		}
		leg.ReplicationRole = name
	}
	return nil
}

// legacyRoleName is the name of roleARN when it is an s3crr replication role of the
// account other than want, or "".
func legacyRoleName(roleARN, account, want string) string {
	prefix := names.RoleARN(account, names.ReplicationRoleNamePrefix)
	if !strings.HasPrefix(roleARN, prefix) {
		return ""
	}
	name := strings.TrimPrefix(roleARN, names.RoleARN(account, ""))
	if name == want || strings.Contains(name, "/") {
		return ""
	}
	return name
}

// preflight checks, read-only, everything that would make provisioning fail halfway or
// take over something that is not s3crr's: who is behind each provisioner role, where
// existing buckets live and who owns them, Object Lock on both sides, existing keys'
// state, an existing role of the same name, rules already on the source bucket, and
// existing buckets' default encryption.
func (st *stage) preflight(ctx context.Context) error {
	var problems []string
	bucketState := map[string]bucketInfo{}
	keyARNs := map[string]string{} // each side's existing key, or the planned placeholder
	for _, side := range []string{SideSource, SideDestination} {
		m, err := st.session(ctx, side)
		if err != nil {
			return err
		}
		ep := st.endpoint(side)
		id, err := m.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return m.classify("sts:GetCallerIdentity", err)
		}
		if got := aws.ToString(id.Account); got != ep.Account {
			problems = append(problems, fmt.Sprintf("%s: the provisioner role reached account %s, not %s (fix: check the MemberStack deployment and %s.account)", side, got, ep.Account, side))
			continue
		}
		st.res.Outputs[side+"ProvisionerArn"] = aws.ToString(id.Arn)

		info, err := inspectBucket(ctx, m, ep.Bucket, ep.Region)
		if err != nil {
			return err
		}
		bucketState[side] = info
		switch {
		case info.exists && info.region != ep.Region:
			problems = append(problems, fmt.Sprintf("%s.bucket: %q is in %s, not %s (fix: set %s.region to %s)", side, ep.Bucket, info.region, ep.Region, side, info.region))
		}
		st.res.Outputs[side+"BucketExists"] = fmt.Sprint(info.exists)

		keyARN, err := st.preflightKey(ctx, m, side, &problems)
		if err != nil {
			return err
		}
		keyARNs[side] = keyARN
	}
	if len(problems) > 0 {
		return &PreflightFailed{Message: "preflight found problems:\n" + strings.Join(problems, "\n")}
	}

	src, dst := bucketState[SideSource], bucketState[SideDestination]
	srcM, _ := st.session(ctx, SideSource)
	dstM, _ := st.session(ctx, SideDestination)
	srcLock, dstLock := false, false
	var err error
	if src.exists {
		if srcLock, err = objectLockEnabled(ctx, srcM, st.req.Source.Bucket); err != nil {
			return err
		}
		empty, err := bucketEmpty(ctx, srcM, st.req.Source.Bucket, st.req.Rule.Prefix)
		if err != nil {
			return err
		}
		if !empty {
			st.warn("source bucket %s already holds objects under %q: replication applies to new writes only; copy existing objects with S3 Batch Replication", st.req.Source.Bucket, st.req.Rule.Prefix)
		}
		if err := st.checkExistingRules(ctx, srcM); err != nil {
			return err
		}
		if err := st.checkNotifications(ctx, srcM); err != nil {
			return err
		}
		if _, err := st.defaultEncryption(ctx, srcM, SideSource, keyARNs[SideSource]); err != nil {
			return err
		}
	}
	if err := st.checkEventsQueue(ctx, srcM); err != nil {
		return err
	}
	if dst.exists {
		if dstLock, err = objectLockEnabled(ctx, dstM, st.req.Destination.Bucket); err != nil {
			return err
		}
		if _, err := st.defaultEncryption(ctx, dstM, SideDestination, keyARNs[SideDestination]); err != nil {
			return err
		}
	}
	if srcLock && dst.exists && !dstLock {
		return &PreflightFailed{Message: fmt.Sprintf("the source bucket %s has Object Lock but the destination %s does not: S3 fails every replication with DstBucketObjectLockConfigMissing (fix: use a destination bucket created with Object Lock, or a new bucket name so s3crr creates one)", st.req.Source.Bucket, st.req.Destination.Bucket)}
	}
	st.res.Outputs["sourceObjectLock"] = fmt.Sprint(srcLock)

	// An existing role of the replication role's name must be one s3crr made for this pair.
	out, err := srcM.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(st.req.ReplicationRoleName())})
	switch {
	case awsclient.IsNotFound(err):
	case err != nil:
		return srcM.classify("iam:GetRole "+st.req.ReplicationRoleName(), err)
	default:
		if !st.replicationRoleIsOurs(out.Role.Tags) {
			return &Conflict{Message: fmt.Sprintf("role %s already exists in account %s and was not created by s3crr for the pairs from bucket %s (fix: delete or rename it, or use another source bucket)", aws.ToString(out.Role.Arn), st.req.Source.Account, st.req.Source.Bucket)}
		}
	}
	return nil
}

// checkEventsQueue makes sure the source region has MemberStack's events queue before
// anything is configured. S3 verifies that a notification's queue exists and refuses the
// configuration otherwise (docs/aws-facts.md#F-S3-NOTIFICATION-DESTINATION-CHECK), so
// without this check the events stage would fail after the replication rule is live.
// Every source region needs its own MemberStack: S3 notifies only queues in the bucket's
// region (docs/aws-facts.md#F-REPL-FAILURE-EVENTS).
func (st *stage) checkEventsQueue(ctx context.Context, m *member) error {
	src := st.req.Source
	name := st.svc.cfg.EventsQueueName
	_, err := m.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name), QueueOwnerAWSAccountId: aws.String(src.Account)})
	var missing *sqstypes.QueueDoesNotExist
	switch {
	case err == nil:
		return nil
	case errors.As(err, &missing):
		stack := names.MemberStackName(src.Account, src.Region)
		return &PreflightFailed{Message: fmt.Sprintf("source region %s of account %s has no events queue %s, so S3 would refuse to send the bucket's replication events there (fix: deploy the MemberStack %s, i.e. add %s to the account's regions in the deployment settings and run npx cdk deploy %s, or deploy the member StackSet to that region)",
			src.Region, src.Account, name, stack, src.Region, stack)}
	}
	return m.classify("sqs:GetQueueUrl "+name, err)
}

// preflightKey checks a side's key if it exists: enabled, symmetric, for encryption, and
// customer managed (AWS managed keys can't be shared across accounts). It returns the
// key's ARN, or the placeholder of a key the key stage will create.
func (st *stage) preflightKey(ctx context.Context, m *member, side string, problems *[]string) (string, error) {
	ep := st.endpoint(side)
	meta, found, err := describeKey(ctx, m, ep)
	if err != nil {
		return "", err
	}
	if !found {
		if ep.KMSKeyARN != "" {
			*problems = append(*problems, fmt.Sprintf("%s.kmsKeyArn: key %s does not exist in account %s region %s (fix: give the ARN of an existing key, or remove kmsKeyArn so s3crr creates one)", side, ep.KMSKeyARN, ep.Account, ep.Region))
		}
		return plannedKeyARN(ep), nil
	}
	field := side + ".kmsKeyAlias"
	if ep.KMSKeyARN != "" {
		field = side + ".kmsKeyArn"
	}
	if p := keyProblem(meta); p != "" {
		*problems = append(*problems, fmt.Sprintf("%s: key %s %s", field, aws.ToString(meta.Arn), p))
	}
	return aws.ToString(meta.Arn), nil
}

// keyProblem says why a key can't protect replicated objects, or "".
func keyProblem(meta *kmstypes.KeyMetadata) string {
	switch {
	case meta.KeyManager == kmstypes.KeyManagerTypeAws:
		return "is AWS managed; AWS managed keys can't be used across accounts (fix: use a customer managed key)"
	case meta.KeyState != kmstypes.KeyStateEnabled:
		return fmt.Sprintf("is %s (fix: enable it, or cancel its deletion)", meta.KeyState)
	case meta.KeySpec != kmstypes.KeySpecSymmetricDefault || meta.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt:
		return fmt.Sprintf("is %s/%s; S3 needs a symmetric encryption key (fix: use a SYMMETRIC_DEFAULT key with usage ENCRYPT_DECRYPT, or name no key so s3crr creates one)", meta.KeySpec, meta.KeyUsage)
	}
	return ""
}

// bucketInfo is what HeadBucket tells about a bucket name.
type bucketInfo struct {
	exists bool // exists and the caller's account can see it
	region string
}

// inspectBucket classifies a bucket name with HeadBucket: 200 ours (region from the
// response), 404 free, 301 in another region (named by the redirect's header). S3 answers 403 both for a bucket of another
// account and for one of ours the role may not list; the error says both.
func inspectBucket(ctx context.Context, m *member, bucket, region string) (bucketInfo, error) {
	out, err := m.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		r := aws.ToString(out.BucketRegion)
		if r == "" {
			r = region
		}
		return bucketInfo{exists: true, region: r}, nil
	}
	if ad := m.sessionDenied(err); ad != nil {
		return bucketInfo{}, ad // the 403 is AssumeRole's, not the bucket's
	}
	switch status := awsclient.HTTPStatus(err); {
	case status == http.StatusNotFound || awsclient.IsNotFound(err):
		return bucketInfo{}, nil
	case status == http.StatusForbidden:
		return bucketInfo{}, &AccessDenied{Account: m.account, Role: m.roleARN, Action: "s3:ListBucket",
			Message: fmt.Sprintf("HeadBucket %s was denied (s3:ListBucket) in account %s: either the bucket name is taken by another account (fix: choose another name; bucket names are global) or the provisioner role %s lacks s3:ListBucket on it (fix: update the MemberStack)", bucket, m.account, m.roleARN)}
	case status == http.StatusMovedPermanently:
		// S3 names the bucket's region in the redirect, so the fix can say which it is.
		region := "another region"
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.Response != nil {
			if r := re.Response.Header.Get("X-Amz-Bucket-Region"); r != "" {
				region = r
			}
		}
		return bucketInfo{exists: true, region: region}, nil
	}
	return bucketInfo{}, m.classify("s3:ListBucket (HeadBucket) "+bucket, err)
}

// bucketEmpty reports whether a bucket has no object under prefix.
func bucketEmpty(ctx context.Context, m *member, bucket, prefix string) (bool, error) {
	out, err := m.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1)})
	if err != nil {
		return false, m.classify("s3:ListBucket "+bucket, err)
	}
	return len(out.Contents) == 0, nil
}

// checkExistingRules refuses a source bucket whose replication configuration can't take
// the pair's rule without changing someone else's rules.
func (st *stage) checkExistingRules(ctx context.Context, m *member) error {
	cfg, err := getReplication(ctx, m, st.req.Source.Bucket)
	if err != nil || cfg == nil {
		return err
	}
	// Conflicts depend on the rule's ID, priority and schema, not on its destination
	// settings, so the owner override decision (a read of the destination) is not needed.
	if legacy := legacyRoleName(aws.ToString(cfg.Role), st.req.Source.Account, st.req.ReplicationRoleName()); legacy != "" && len(cfg.Rules) > 0 {
		return &PreflightFailed{Message: fmt.Sprintf("the source bucket %s replicates through s3crr's role %s, which this run did not adopt: switching its rules to %s would stop them until the destinations grant the new role (fix: re-run; the validate stage adopts the role when it can read the bucket's replication configuration)", st.req.Source.Bucket, legacy, st.req.ReplicationRoleName())}
	}
	_, err = mergeRule(cfg, st.req.ReplicationRoleARN(), desiredRule(st.req, plannedKeyARN(st.req.Destination), false))
	var c *Conflict
	if errors.As(err, &c) {
		return err
	}
	return nil
}

// checkNotifications refuses, before anything is configured, a source bucket whose event
// notifications already send s3crr's replication events elsewhere: the events stage could
// not subscribe the hub's route without S3 rejecting it or overwriting another tool's.
func (st *stage) checkNotifications(ctx context.Context, m *member) error {
	out, err := m.s3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(st.req.Source.Bucket)})
	if err != nil {
		return m.classify("s3:GetBucketNotification "+st.req.Source.Bucket, err)
	}
	_, err = foreignReplicationEvents(st.req.Source.Bucket, st.eventsQueueARN(), &s3types.NotificationConfiguration{
		QueueConfigurations: out.QueueConfigurations, TopicConfigurations: out.TopicConfigurations, LambdaFunctionConfigurations: out.LambdaFunctionConfigurations,
	})
	return err
}
