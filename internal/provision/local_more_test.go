package provision

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// fakeClock is a settable clock for the simulator's propagation window.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (e *localEnv) run(t testing.TB, stage, side string, req []byte) (Result, error) {
	t.Helper()
	return e.svc.Run(context.Background(), Event{Stage: stage, Side: side, Request: req})
}

// TestPropagationWindowGivesPrincipalNotReadyThenConverges: KMS authorizes by a key's new
// alias only after a delay, and right after the replication role is created S3 rejects a
// replication configuration using it. The stages say
// PrincipalNotReady (which the state machine retries) and succeed once things propagated.
func TestPropagationWindowGivesPrincipalNotReadyThenConverges(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	env := newLocalEnv(t, localaws.Options{PropagationWindow: 2 * time.Minute, Now: clock.Now})
	clock.Advance(3 * time.Minute) // the provisioner roles themselves have propagated
	req := sampleRequest(t)
	type step struct{ stage, side string }
	runAll := func(steps []step, wantNotReady bool) {
		t.Helper()
		for _, s := range steps {
			_, err := env.run(t, s.stage, s.side, req)
			var pn *PrincipalNotReady
			switch {
			case wantNotReady && !errors.As(err, &pn):
				t.Errorf("%s(%s) inside the propagation window: err = %v (%T), want *PrincipalNotReady", s.stage, s.side, err, err)
			case !wantNotReady && err != nil:
				t.Fatalf("%s(%s): %v", s.stage, s.side, err)
			}
		}
	}

	runAll([]step{{names.StageValidate, ""}, {names.StagePreflight, ""}, {names.StageBucket, SideSource}, {names.StageBucket, SideDestination}}, false)
	// The key stage creates each key and its alias, then enables rotation, which the
	// provisioner may do only through the alias that KMS does not authorize by yet.
	keys := []step{{names.StageKey, SideSource}, {names.StageKey, SideDestination}}
	runAll(keys, true)
	clock.Advance(3 * time.Minute)
	runAll(keys, false)
	runAll([]step{{names.StageRole, SideSource}}, false)
	// The destination's shared grants name no role ARN (Principal "*" pinned by condition
	// keys), so KMS and S3 have no principal to validate: those stages work at once.
	runAll([]step{{names.StageKeyPolicy, SideDestination}, {names.StageBucketPolicy, SideDestination}}, false)
	runAll([]step{{names.StageReplication, SideSource}}, true)
	clock.Advance(3 * time.Minute)
	res := env.apply(t, req)
	if countChanges(res) == 0 {
		t.Error("after propagation the retried stages made no change")
	}
	if res := env.apply(t, req); countChanges(res) != 0 {
		t.Errorf("third run still changed things: %v", summarize(res))
	}
}

// TestForeignConfigurationSurvives: statements, rules, notifications and tags s3crr did
// not write are kept through provisioning and re-runs, and s3crr restores its own.
func TestForeignConfigurationSurvives(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	ctx := context.Background()
	srcS3 := awsclient.S3(env.root(req.Source.Account, req.Source.Region))
	dstS3 := awsclient.S3(env.root(req.Destination.Account, req.Destination.Region))
	dstKMS := awsclient.KMS(env.root(req.Destination.Account, req.Destination.Region))

	// The source bucket exists already, with its owner's policy, notifications and tags.
	must(t, call(srcS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(req.Source.Bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(req.Source.Region)}})))
	foreignBucketStmt := `{"Sid":"AuditorRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::payments-src/*"}`
	must(t, call(srcS3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(req.Source.Bucket),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[` + foreignBucketStmt + `]}`)})))
	must(t, call(srcS3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(req.Source.Bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{TopicConfigurations: []s3types.TopicConfiguration{{
			Id: aws.String("audit-uploads"), TopicArn: aws.String("arn:aws:sns:ap-south-1:111111111111:audit"), Events: []s3types.Event{"s3:ObjectCreated:*"}}}}})))
	must(t, call(srcS3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(req.Source.Bucket),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}}})))

	// The destination key exists already under the requested alias, with a foreign statement.
	// Its owner lets s3crr add the pair's statements with the documented tag.
	key, err := dstKMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("payments archive key"),
		Tags: []kmstypes.Tag{{TagKey: aws.String(names.BroughtKeyTagKey), TagValue: aws.String(names.BroughtKeyTagValue)}}})
	must(t, err)
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	must(t, call(dstKMS.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(req.Destination.KMSKeyAlias), TargetKeyId: key.KeyMetadata.KeyId})))
	keyPolicy := policy.DefaultKeyPolicy(req.Destination.Account)
	keyPolicy.Statement = append(keyPolicy.Statement, policy.Statement{Sid: "AuditorDescribe", Effect: policy.Allow,
		Principal: policy.AWSPrincipal("arn:aws:iam::333333333333:root"), Action: []string{"kms:DescribeKey"}, Resource: []string{"*"}})
	must(t, call(dstKMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyMetadata.KeyId, PolicyName: aws.String("default"), Policy: aws.String(string(keyPolicy.JSON()))})))

	res := env.apply(t, reqJSON)
	if got := outputOf(res, names.StageKey, SideDestination, "keyArn"); got != keyARN {
		t.Errorf("destination key = %s, want the existing key %s behind the alias", got, keyARN)
	}
	warned := false
	for _, r := range res {
		for _, w := range r.Warnings {
			warned = warned || strings.Contains(w, "public access")
		}
	}
	if !warned {
		t.Log("note: no Block Public Access warning for the existing source bucket (it had no configuration, so s3crr set one)")
	}

	// After provisioning, the owner adds a rule of their own (S3 allows one role per
	// bucket, so it uses the pair's) and changes nothing else.
	must(t, call(dstS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("payments-audit-copy")})))
	must(t, call(dstS3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("payments-audit-copy"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})))
	cur, err := srcS3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	cfg := cur.ReplicationConfiguration
	cfg.Rules = append(cfg.Rules, s3types.ReplicationRule{ID: aws.String("owner-audit-copy"), Priority: aws.Int32(7), Status: s3types.ReplicationRuleStatusEnabled,
		Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("audit/")},
		DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusDisabled},
		Destination:             &s3types.Destination{Bucket: aws.String("arn:aws:s3:::payments-audit-copy")}})
	must(t, call(srcS3.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(req.Source.Bucket), ReplicationConfiguration: cfg})))

	// And someone removes s3crr's grant from the destination bucket policy.
	pol, err := dstS3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)})
	must(t, err)
	doc, err := policy.ParseDocument([]byte(aws.ToString(pol.Policy)))
	must(t, err)
	stripped, removed := policy.Remove(doc, policy.SidReplicaWriteShared)
	if !removed {
		t.Fatalf("the destination bucket policy has no %s statement: %s", policy.SidReplicaWriteShared, aws.ToString(pol.Policy))
	}
	must(t, call(dstS3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket), Policy: aws.String(string(stripped.JSON()))})))

	res = env.apply(t, reqJSON)
	if got := summarize(res); len(got) != 1 || !strings.HasPrefix(got[0], "bucketPolicy/destination merge bucket policy") {
		t.Errorf("re-run changes = %q, want only the restored destination bucket policy grant", got)
	}

	// Everything foreign is still there.
	pol, err = srcS3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	if !strings.Contains(aws.ToString(pol.Policy), "AuditorRead") || !strings.Contains(aws.ToString(pol.Policy), policy.SidDenyInsecureTransport) {
		t.Errorf("source bucket policy lost a statement: %s", aws.ToString(pol.Policy))
	}
	kp, err := dstKMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default")})
	must(t, err)
	if !strings.Contains(aws.ToString(kp.Policy), "AuditorDescribe") || !strings.Contains(aws.ToString(kp.Policy), policy.SidReplicaEncryptShared) {
		t.Errorf("destination key policy lost a statement: %s", aws.ToString(kp.Policy))
	}
	notif, err := srcS3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	if len(notif.TopicConfigurations) != 1 || len(notif.QueueConfigurations) != 1 {
		t.Errorf("notifications: %d topic and %d queue configurations, want the owner's topic and s3crr's queue", len(notif.TopicConfigurations), len(notif.QueueConfigurations))
	}
	rep, err := srcS3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	if ids := ruleIDs(rep.ReplicationConfiguration); !equalStrings(ids, []string{req.RuleID(), "owner-audit-copy"}) {
		t.Errorf("rules = %v, want s3crr's and the owner's", ids)
	}
	tags, err := srcS3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	// The owner's tag is kept, and the pair adds none: the registry records who uses it.
	if !hasTag(tags.TagSet, "team", "payments") || len(tags.TagSet) != 1 {
		t.Errorf("source bucket tags = %v", tags.TagSet)
	}
}

func ruleIDs(c *s3types.ReplicationConfiguration) []string {
	var ids []string
	for _, r := range c.Rules {
		ids = append(ids, aws.ToString(r.ID))
	}
	return ids
}

func hasTag(set []s3types.Tag, k, v string) bool {
	for _, t := range set {
		if aws.ToString(t.Key) == k && aws.ToString(t.Value) == v {
			return true
		}
	}
	return false
}

// TestConflicts: s3crr refuses to take over a role it did not create, or to clash with
// another rule's priority, and says how to fix it.
func TestConflicts(t *testing.T) {
	t.Run("foreign role of the same name", func(t *testing.T) {
		env := newLocalEnv(t, localaws.Options{})
		reqJSON := sampleRequest(t)
		req := mustParse(t, reqJSON)
		c := awsclient.IAM(env.root(req.Source.Account, req.Source.Region))
		_, err := c.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String(req.ReplicationRoleName()), Path: aws.String("/s3crr/"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
		must(t, err)
		_, err = env.svc.Apply(context.Background(), reqJSON)
		var cf *Conflict
		if !errors.As(err, &cf) || !strings.Contains(err.Error(), "fix:") {
			t.Fatalf("err = %v (%T), want *Conflict with a fix", err, err)
		}
	})
	t.Run("priority clash", func(t *testing.T) {
		env := newLocalEnv(t, localaws.Options{})
		reqJSON := sampleRequest(t)
		req := mustParse(t, reqJSON)
		env.apply(t, reqJSON)
		srcS3 := awsclient.S3(env.root(req.Source.Account, req.Source.Region))
		ctx := context.Background()
		cur, err := srcS3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(req.Source.Bucket)})
		must(t, err)
		cfg := cur.ReplicationConfiguration
		// The owner renames s3crr's rule: to s3crr it is now a foreign rule with the
		// pair's priority.
		cfg.Rules[0].ID = aws.String("renamed-by-owner")
		must(t, call(srcS3.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(req.Source.Bucket), ReplicationConfiguration: cfg})))
		_, err = env.svc.Apply(ctx, reqJSON)
		var cf *Conflict
		if !errors.As(err, &cf) || !strings.Contains(err.Error(), "priority") {
			t.Fatalf("err = %v (%T), want *Conflict about the priority", err, err)
		}
	})
}

// TestRerunAfterFailureConverges: a stage that fails halfway (here S3 returning 500s on
// PutBucketReplication until the SDK gives up) leaves nothing half-done that a re-run
// does not finish, and the run after that changes nothing.
func TestRerunAfterFailureConverges(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	env.srv.InjectFault(localaws.Fault{Service: "s3", Operation: "PutBucketReplication", Status: http.StatusInternalServerError, Code: "InternalError", Message: "We encountered an internal error. Please try again."})
	if _, err := env.svc.Apply(context.Background(), reqJSON); err == nil || !strings.Contains(err.Error(), "InternalError") {
		t.Fatalf("apply with a failing PutBucketReplication: err = %v", err)
	}
	env.srv.ClearFaults()
	if res := env.apply(t, reqJSON); !strings.Contains(strings.Join(summarize(res), "\n"), "replication/source merge replication rule") {
		t.Errorf("the re-run did not finish the replication stage: %q", summarize(res))
	}
	if res := env.apply(t, reqJSON); countChanges(res) != 0 {
		t.Errorf("third run changed things: %q", summarize(res))
	}
}

// TestThrottlingIsRetriedBySDK: a throttled call is retried by the SDK's retryer, not by
// the stage, and the run succeeds.
func TestThrottlingIsRetriedBySDK(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	env.srv.InjectFault(localaws.Throttle("kms", "PutKeyPolicy", 1))
	env.srv.InjectFault(localaws.Throttle("s3", "PutBucketReplication", 1))
	env.apply(t, sampleRequest(t))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// call drops an SDK output, keeping the error.
func call[T any](_ T, err error) error { return err }
