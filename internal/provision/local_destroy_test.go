package provision

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// Foreign configuration the owners of the accounts added next to a pair's; destroy must
// leave every piece of it.
const (
	foreignBucketSid = "TeamAnalyticsRead"
	foreignKeySid    = "TeamAuditors"
	foreignRuleID    = "team-archive"
	foreignNotifyID  = "team-object-created"
)

// addForeignConfiguration adds, as the accounts' owners, a statement to the destination
// bucket policy and key policy, a replication rule to the source bucket, and a
// notification to the source bucket.
func addForeignConfiguration(t *testing.T, env *localEnv, req spec.Request) {
	t.Helper()
	ctx := context.Background()
	dst := env.root(req.Destination.Account, req.Destination.Region)
	src := env.root(req.Source.Account, req.Source.Region)

	dstS3 := awsclient.S3(dst)
	bp, err := dstS3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)})
	must(t, err)
	doc, err := policy.ParseDocument([]byte(aws.ToString(bp.Policy)))
	must(t, err)
	doc.Statement = append(doc.Statement, policy.Statement{Sid: foreignBucketSid, Effect: policy.Allow,
		Principal: policy.AWSPrincipal(policy.AccountRootARN(req.Destination.Account)), Action: []string{"s3:GetObject"},
		Resource: []string{"arn:aws:s3:::" + req.Destination.Bucket + "/*"}})
	must(t, call(dstS3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket), Policy: aws.String(string(doc.JSON()))})))

	dstKMS := awsclient.KMS(dst)
	km, err := dstKMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(req.Destination.KMSKeyAlias)})
	must(t, err)
	kp, err := dstKMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: km.KeyMetadata.Arn, PolicyName: aws.String("default")})
	must(t, err)
	kdoc, err := policy.ParseDocument([]byte(aws.ToString(kp.Policy)))
	must(t, err)
	kdoc.Statement = append(kdoc.Statement, policy.Statement{Sid: foreignKeySid, Effect: policy.Allow,
		Principal: policy.AWSPrincipal(policy.AccountRootARN(req.Destination.Account)), Action: []string{"kms:DescribeKey"}, Resource: []string{"*"}})
	must(t, call(dstKMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: km.KeyMetadata.Arn, PolicyName: aws.String("default"), Policy: aws.String(string(kdoc.JSON()))})))

	srcS3 := awsclient.S3(src)
	rc, err := srcS3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	cfg := rc.ReplicationConfiguration
	theirs := cfg.Rules[0]
	theirs.ID = aws.String(foreignRuleID)
	theirs.Priority = aws.Int32(aws.ToInt32(theirs.Priority) + 100)
	theirs.Filter = &s3types.ReplicationRuleFilter{Prefix: aws.String("team/")}
	cfg.Rules = append(cfg.Rules, theirs)
	must(t, call(srcS3.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(req.Source.Bucket), ReplicationConfiguration: cfg})))

	nc, err := srcS3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	queueARN := "arn:aws:sqs:" + req.Source.Region + ":" + req.Source.Account + ":" + names.EventsQueueName
	nc.QueueConfigurations = append(nc.QueueConfigurations, s3types.QueueConfiguration{Id: aws.String(foreignNotifyID), QueueArn: aws.String(queueARN), Events: []s3types.Event{"s3:ObjectCreated:*"}})
	must(t, call(srcS3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(req.Source.Bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: nc.QueueConfigurations}})))
}

// objectVersions lists every version and delete marker of a bucket, as "key@version".
func objectVersions(t *testing.T, env *localEnv, ep spec.Endpoint) []string {
	t.Helper()
	out, err := awsclient.S3(env.root(ep.Account, ep.Region)).ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(ep.Bucket)})
	must(t, err)
	var all []string
	for _, v := range out.Versions {
		all = append(all, aws.ToString(v.Key)+"@"+aws.ToString(v.VersionId))
	}
	for _, d := range out.DeleteMarkers {
		all = append(all, aws.ToString(d.Key)+"@"+aws.ToString(d.VersionId)+"(marker)")
	}
	slices.Sort(all)
	return all
}

func sidsOf(t *testing.T, raw string) []string {
	t.Helper()
	doc, err := policy.ParseDocument([]byte(raw))
	must(t, err)
	var out []string
	for _, s := range doc.Statement {
		out = append(out, s.Sid)
	}
	return out
}

func pairSids(sids []string, pairID string) []string {
	var out []string
	for _, s := range sids {
		if strings.HasPrefix(s, policy.SidFor(pairID, "")) {
			out = append(out, s)
		}
	}
	return out
}

func TestDestroyRemovesOnlyThePairsAndKeepsData(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	ctx := context.Background()
	env.apply(t, reqJSON)
	env.putAndWait(t, req, "invoices/a.csv", "")
	env.putAndWait(t, req, "invoices/a.csv", "")
	env.putAndWait(t, req, "invoices/b.csv", "class=invoice")
	_, err := awsclient.S3(env.root(req.Source.Account, req.Source.Region)).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(req.Source.Bucket), Key: aws.String("invoices/b.csv")})
	must(t, err)
	must(t, env.srv.WaitIdle(ctx))
	addForeignConfiguration(t, env, req)
	srcVersions, dstVersions := objectVersions(t, env, req.Source), objectVersions(t, env, req.Destination)
	if len(srcVersions) < 4 || len(dstVersions) < 4 {
		t.Fatalf("setup: source %v destination %v", srcVersions, dstVersions)
	}
	opts := DestroyOptions{DeleteKeys: true, DeleteBuckets: true}

	// --plan: reports, changes nothing.
	env.srv.ResetCalls()
	planned, err := env.svc.Destroy(ctx, reqJSON, opts, true)
	if err != nil {
		t.Fatalf("destroy --plan: %v", err)
	}
	if n := env.srv.MutatingCalls(""); n != 0 {
		t.Errorf("destroy --plan made %d mutating calls: %v", n, env.srv.Calls())
	}
	if countChanges(planned) == 0 {
		t.Error("destroy --plan reported nothing to remove")
	}

	done, err := env.svc.Destroy(ctx, reqJSON, opts, false)
	if err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if got, want := countChanges(done), countChanges(planned); got != want {
		t.Errorf("destroy made %d changes, the plan said %d:\nplan %v\ndone %v", got, want, planned, done)
	}

	// The foreign rule is kept; so is the role it uses, with a warning.
	src := awsclient.S3(env.root(req.Source.Account, req.Source.Region))
	rc, err := src.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	var ids []string
	for _, r := range rc.ReplicationConfiguration.Rules {
		ids = append(ids, aws.ToString(r.ID))
	}
	if !slices.Equal(ids, []string{foreignRuleID}) {
		t.Errorf("replication rules after destroy = %v, want only %s", ids, foreignRuleID)
	}
	if _, err := awsclient.IAM(env.root(req.Source.Account, "us-east-1")).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(req.ReplicationRoleName())}); err != nil {
		t.Errorf("the role the foreign rule uses was deleted: %v", err)
	}
	if !strings.Contains(strings.Join(warningsOf(done), "\n"), "still the replication role") {
		t.Errorf("no warning says why the role was kept: %v", warningsOf(done))
	}
	// The destination bucket policy and key policy keep the foreign statements only.
	bp, err := awsclient.S3(env.root(req.Destination.Account, req.Destination.Region)).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)})
	must(t, err)
	if sids := sidsOf(t, aws.ToString(bp.Policy)); !slices.Contains(sids, foreignBucketSid) || len(pairSids(sids, req.PairID)) > 0 {
		t.Errorf("destination bucket policy Sids after destroy = %v", sids)
	}
	dstKMS := awsclient.KMS(env.root(req.Destination.Account, req.Destination.Region))
	key, err := dstKMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(req.Destination.KMSKeyAlias)})
	if err == nil {
		t.Errorf("destination alias %s still exists after --delete-keys (key %s)", req.Destination.KMSKeyAlias, aws.ToString(key.KeyMetadata.Arn))
	}
	dstKeyARN := outputOfKey(t, env, req)
	meta, err := dstKMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(dstKeyARN)})
	must(t, err)
	if meta.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion || aws.ToInt32(meta.KeyMetadata.PendingDeletionWindowInDays) != DefaultKeyPendingWindowDays {
		t.Errorf("destination key state %s window %d, want PendingDeletion in %d days", meta.KeyMetadata.KeyState, aws.ToInt32(meta.KeyMetadata.PendingDeletionWindowInDays), DefaultKeyPendingWindowDays)
	}
	kp, err := dstKMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(dstKeyARN), PolicyName: aws.String("default")})
	must(t, err)
	if sids := sidsOf(t, aws.ToString(kp.Policy)); !slices.Contains(sids, foreignKeySid) || len(pairSids(sids, req.PairID)) > 0 {
		t.Errorf("destination key policy Sids after destroy = %v", sids)
	}
	// The foreign notification is kept, s3crr's is gone; so is the alarm.
	nc, err := src.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	var nids []string
	for _, q := range nc.QueueConfigurations {
		nids = append(nids, aws.ToString(q.Id))
	}
	if !slices.Equal(nids, []string{foreignNotifyID}) {
		t.Errorf("notifications after destroy = %v, want only %s", nids, foreignNotifyID)
	}
	alarms, err := awsclient.CloudWatch(env.root(req.Source.Account, req.Source.Region)).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{names.FailedReplicationAlarmName(req.PairID)}})
	must(t, err)
	if len(alarms.MetricAlarms) != 0 {
		t.Errorf("the pair's alarm survived destroy")
	}
	// Every object version and delete marker survives; the buckets hold data, so they stay.
	if got := objectVersions(t, env, req.Source); !slices.Equal(got, srcVersions) {
		t.Errorf("source versions after destroy = %v, want %v", got, srcVersions)
	}
	if got := objectVersions(t, env, req.Destination); !slices.Equal(got, dstVersions) {
		t.Errorf("destination versions after destroy = %v, want %v", got, dstVersions)
	}

	// A second destroy is a no-op.
	env.srv.ResetCalls()
	again, err := env.svc.Destroy(ctx, reqJSON, opts, false)
	if err != nil {
		t.Fatalf("second destroy: %v", err)
	}
	if n := env.srv.MutatingCalls(""); n != 0 || countChanges(again) != 0 {
		t.Errorf("second destroy: %d mutating calls, %d changes: %v", n, countChanges(again), again)
	}
}

// outputOfKey finds the destination key by its creation tags, since its alias is gone.
func outputOfKey(t *testing.T, env *localEnv, req spec.Request) string {
	t.Helper()
	c := awsclient.KMS(env.root(req.Destination.Account, req.Destination.Region))
	keys, err := c.ListKeys(context.Background(), &kms.ListKeysInput{})
	must(t, err)
	for _, k := range keys.Keys {
		tags, err := c.ListResourceTags(context.Background(), &kms.ListResourceTagsInput{KeyId: k.KeyArn})
		must(t, err)
		for _, tag := range tags.Tags {
			if aws.ToString(tag.TagKey) == names.AliasTagKey && aws.ToString(tag.TagValue) == req.Destination.KMSKeyAlias {
				return aws.ToString(k.KeyArn)
			}
		}
	}
	t.Fatal("no destination key tagged with its alias")
	return ""
}

func warningsOf(res []Result) []string {
	var out []string
	for _, r := range res {
		out = append(out, r.Warnings...)
	}
	return out
}

func TestDestroyEmptyPairThenReapplyConverges(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	ctx := context.Background()
	env.apply(t, reqJSON)

	// Without options: configuration goes, keys and buckets stay.
	res, err := env.svc.Destroy(ctx, reqJSON, DestroyOptions{}, false)
	if err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if _, err := awsclient.IAM(env.root(req.Source.Account, "us-east-1")).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(req.ReplicationRoleName())}); !awsclient.IsNotFound(err) {
		t.Errorf("GetRole of the pair's role after destroy: %v, want NoSuchEntity", err)
	}
	for _, ep := range []spec.Endpoint{req.Source, req.Destination} {
		if _, err := awsclient.S3(env.root(ep.Account, ep.Region)).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(ep.Bucket)}); err != nil {
			t.Errorf("bucket %s deleted without --delete-buckets: %v", ep.Bucket, err)
		}
		meta, err := awsclient.KMS(env.root(ep.Account, ep.Region)).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ep.KMSKeyAlias)})
		if err != nil || meta.KeyMetadata.KeyState != kmstypes.KeyStateEnabled {
			t.Errorf("key %s changed without --delete-keys: %v", ep.KMSKeyAlias, err)
		}
	}
	if w := strings.Join(warningsOf(res), "\n"); !strings.Contains(w, "--delete-keys") || !strings.Contains(w, "--delete-buckets") {
		t.Errorf("the kept keys and buckets are not said: %s", w)
	}

	// With both options: the empty buckets s3crr created go, the keys are scheduled.
	if _, err := env.svc.Destroy(ctx, reqJSON, DestroyOptions{DeleteKeys: true, DeleteBuckets: true, PendingWindowInDays: 7}, false); err != nil {
		t.Fatalf("destroy --delete-keys --delete-buckets: %v", err)
	}
	for _, ep := range []spec.Endpoint{req.Source, req.Destination} {
		if _, err := awsclient.S3(env.root(ep.Account, ep.Region)).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(ep.Bucket)}); !awsclient.IsNotFound(err) {
			t.Errorf("empty bucket %s after --delete-buckets: %v", ep.Bucket, err)
		}
	}
	env.srv.ResetCalls()
	if again, err := env.svc.Destroy(ctx, reqJSON, DestroyOptions{DeleteKeys: true, DeleteBuckets: true}, false); err != nil || countChanges(again) != 0 || env.srv.MutatingCalls("") != 0 {
		t.Errorf("second destroy: %v, %d changes, %d mutating calls", err, countChanges(again), env.srv.MutatingCalls(""))
	}

	// Applying the same request provisions the pair again (new keys), and converges.
	env.apply(t, reqJSON)
	env.srv.ResetCalls()
	if res := env.apply(t, reqJSON); countChanges(res) != 0 || env.srv.MutatingCalls("") != 0 {
		t.Errorf("re-apply after destroy did not converge: %d changes, %d mutating calls", countChanges(res), env.srv.MutatingCalls(""))
	}
	put := env.putAndWait(t, req, "after-destroy.csv", "")
	if status, code, _, _ := env.srv.ObjectReplication(req.Source.Bucket, "after-destroy.csv", aws.ToString(put.VersionId)); status != "COMPLETED" {
		t.Errorf("replication after re-apply: %s %s", status, code)
	}
}

// TestMeasureDestroyCalls prints (scripts/measure-destroy.sh) the API calls per service of
// a destroy of the sample pair with every option, and of a second destroy, and fails if a
// mutating call is not a reported change or the second destroy mutates anything.
func TestMeasureDestroyCalls(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	env.apply(t, reqJSON)
	opts := DestroyOptions{DeleteKeys: true, DeleteBuckets: true}
	for run := 1; run <= 2; run++ {
		env.srv.ResetCalls()
		res, err := env.svc.Destroy(context.Background(), reqJSON, opts, false)
		if err != nil {
			t.Fatalf("destroy %d: %v", run, err)
		}
		perService := map[string][2]int{} // read, mutating
		for _, c := range env.srv.Calls() {
			if c.Account == localaws.HubAccount {
				continue // the hub role's own AssumeRole calls
			}
			v := perService[c.Service]
			if c.Mutating {
				v[1] += c.Count
			} else {
				v[0] += c.Count
			}
			perService[c.Service] = v
		}
		t.Logf("destroy %d: changes reported %d", run, countChanges(res))
		for _, svc := range []string{"sts", "s3", "kms", "iam", "cloudwatch"} {
			t.Logf("destroy %d: %-10s read %3d mutating %3d", run, svc, perService[svc][0], perService[svc][1])
		}
		if run == 1 {
			for _, c := range env.srv.Calls() {
				if c.Mutating && c.Account != localaws.HubAccount {
					t.Logf("destroy 1:   %s %-10s %-36s x%d", c.Account, c.Service, c.Operation, c.Count)
				}
			}
		}
		if got, want := env.srv.MutatingCalls(""), countChanges(res); got != want {
			t.Errorf("destroy %d: %d mutating calls but %d reported changes", run, got, want)
		}
		if run == 2 && env.srv.MutatingCalls("") != 0 {
			t.Errorf("the second destroy made %d mutating calls, want 0", env.srv.MutatingCalls(""))
		}
	}
}
