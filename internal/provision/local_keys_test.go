package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

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
	"github.com/s3crr/s3crr/internal/spec"
)

// liveKeys lists the keys of an account and region that are not pending deletion.
func (e *localEnv) liveKeys(t *testing.T, ep spec.Endpoint) []string {
	t.Helper()
	ctx := context.Background()
	c := awsclient.KMS(e.root(ep.Account, ep.Region))
	out, err := c.ListKeys(ctx, &kms.ListKeysInput{})
	must(t, err)
	var live []string
	for _, k := range out.Keys {
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyArn})
		must(t, err)
		if d.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion {
			live = append(live, aws.ToString(k.KeyArn))
		}
	}
	return live
}

// Duplicate runs of one request at once (at-least-once Lambda retries, a double start, two
// operators) end with one key per side, the alias on it, and no error: the run that lost
// the alias race adopts the winner's key and schedules deletion of its own.
func TestConcurrentDuplicateRunsConvergeOnOneKey(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			env := newLocalEnv(t, localaws.Options{})
			reqJSON := sampleRequest(t)
			req := mustParse(t, reqJSON)
			ctx := context.Background()
			// Every run has passed the alias lookup and created its key before the first
			// CreateAlias is served, so the race is certain, not a matter of timing.
			var (
				mu      sync.Mutex
				arrived int
				all     = make(chan struct{})
			)
			const runs = 3
			for _, ep := range []spec.Endpoint{req.Source, req.Destination} {
				env.srv.InjectFault(localaws.Fault{Account: ep.Account, Service: "kms", Operation: "CreateAlias", Times: runs, Before: func() {
					mu.Lock()
					arrived++
					if arrived == runs {
						close(all)
					}
					mu.Unlock()
					<-all
				}})
			}
			var wg sync.WaitGroup
			errs := make([]error, runs)
			for i := range runs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = env.svc.Run(ctx, Event{Stage: names.StageKey, Side: SideSource, Request: reqJSON})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("run %d: %v", i, err)
				}
			}
			live := env.liveKeys(t, req.Source)
			if len(live) != 1 {
				t.Fatalf("%d live source keys after %d duplicate runs, want 1: %v", len(live), runs, live)
			}
			d, err := awsclient.KMS(env.root(req.Source.Account, req.Source.Region)).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(req.Source.KMSKeyAlias)})
			must(t, err)
			if got := aws.ToString(d.KeyMetadata.Arn); got != live[0] {
				t.Errorf("alias %s names %s, want the one live key %s", req.Source.KMSKeyAlias, got, live[0])
			}
			env.srv.ClearFaults()
			// The whole pair, applied by three runs at once, still ends with one key a side.
			var wg2 sync.WaitGroup
			for i := range runs {
				wg2.Add(1)
				go func() {
					defer wg2.Done()
					_, errs[i] = env.svc.Apply(ctx, reqJSON)
				}()
			}
			wg2.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("apply %d: %v", i, err)
				}
			}
			for _, ep := range []spec.Endpoint{req.Source, req.Destination} {
				if live := env.liveKeys(t, ep); len(live) != 1 {
					t.Errorf("%d live keys in %s/%s, want 1: %v", len(live), ep.Account, ep.Region, live)
				}
			}
		})
	}
}

// A key the request brings that its owner did not tag for s3crr can never be changed by
// the provisioner: the run fails at once, naming the tag, instead of being retried for
// minutes as alias propagation.
func TestBroughtKeyWithoutTheTagFailsFast(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	req := mustParse(t, sampleRequest(t))
	ctx := context.Background()
	c := awsclient.KMS(env.root(req.Destination.Account, req.Destination.Region))
	key, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("the owner's key, not tagged for s3crr")})
	must(t, err)
	must(t, call(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(req.Destination.KMSKeyAlias), TargetKeyId: key.KeyMetadata.KeyId})))
	_, err = env.svc.Apply(ctx, sampleRequest(t))
	var pf *PreflightFailed
	if !errors.As(err, &pf) || !strings.Contains(err.Error(), names.BroughtKeyTagKey) {
		t.Fatalf("apply = %v, want PreflightFailed naming %s", err, names.BroughtKeyTagKey)
	}
}

// A tagged key whose policy does not delegate to IAM denies the provisioner for good too.
func TestBroughtKeyWithoutIAMDelegationFailsFast(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	req := mustParse(t, sampleRequest(t))
	ctx := context.Background()
	c := awsclient.KMS(env.root(req.Destination.Account, req.Destination.Region))
	// The owner's admin role manages the key; the account's IAM policies grant nothing.
	admin := policy.RoleARN(req.Destination.Account, "/", "key-admin")
	iamc := awsclient.IAM(env.root(req.Destination.Account, req.Destination.Region))
	_, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("key-admin"),
		AssumeRolePolicyDocument: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"sts:AssumeRole"}]}`, policy.AccountRootARN(req.Destination.Account)))})
	must(t, err)
	kp := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Principal":{"AWS":%q},"Action":"kms:*","Resource":"*"},`+
		`{"Sid":"Read","Effect":"Allow","Principal":{"AWS":%q},"Action":["kms:DescribeKey","kms:GetKeyPolicy","kms:ListResourceTags","kms:GetKeyRotationStatus","kms:CreateAlias"],"Resource":"*"}]}`,
		admin, policy.AccountRootARN(req.Destination.Account))
	key, err := c.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(kp), BypassPolicyLockoutSafetyCheck: true,
		Tags: []kmstypes.Tag{{TagKey: aws.String(names.BroughtKeyTagKey), TagValue: aws.String(names.BroughtKeyTagValue)}}})
	must(t, err)
	must(t, call(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(req.Destination.KMSKeyAlias), TargetKeyId: key.KeyMetadata.KeyId})))
	_, err = env.svc.Apply(ctx, sampleRequest(t))
	var pf *PreflightFailed
	if !errors.As(err, &pf) || !strings.Contains(err.Error(), "Enable IAM User Permissions") {
		t.Fatalf("apply = %v, want PreflightFailed saying the key policy does not delegate to IAM", err)
	}
}

// The provisioner may write the inline policy of a role under /s3crr/ only if that role
// carries the boundary: a role someone made there without it gets nothing from it.
func TestProvisionerCannotWritePoliciesOfUnboundedRoles(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	req := mustParse(t, sampleRequest(t))
	ctx := context.Background()
	root := awsclient.IAM(env.root(req.Source.Account, req.Source.Region))
	_, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("s3crr-repl-unbounded"), Path: aws.String(names.RolePath),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	must(t, err)
	prov, err := env.svc.connect.Connect(ctx, req.Source.Account, req.Source.Region, req.PairID)
	must(t, err)
	_, err = prov.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("s3crr-repl-unbounded"), PolicyName: aws.String("anything"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
	if !awsclient.IsAccessDenied(err) {
		t.Errorf("PutRolePolicy on a role without the boundary = %v, want AccessDenied", err)
	}
}

// A request for a bucket or alias outside the deployment's prefixes is refused before any
// call: the simulator serves no request at all.
func TestOutOfScopeRequestIsRefusedBeforeAnyCall(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	base := env.svc.connect
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"bucket", Config{ExternalID: testExternalID, BucketNamePrefix: "acme-"}, "source.bucket"},
		{"alias", Config{ExternalID: testExternalID, KMSAliasPrefix: "alias/s3crr-acme"}, "source.kmsKeyAlias"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc := &Service{cfg: tt.cfg.WithDefaults(), connect: base}
			before := env.srv.Calls()
			_, err := svc.Run(context.Background(), Event{Stage: names.StagePreflight, Request: sampleRequest(t)})
			var is *InvalidSpec
			if !errors.As(err, &is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want InvalidSpec naming %s", err, tt.want)
			}
			if after := env.srv.Calls(); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("the simulator served requests for an out-of-scope request: %v → %v", before, after)
			}
		})
	}
	// "*" is the explicit setting for every bucket.
	svc := &Service{cfg: Config{ExternalID: testExternalID, BucketNamePrefix: names.AnyBucket}.WithDefaults(), connect: base}
	if _, err := svc.Run(context.Background(), Event{Stage: names.StageValidate, Request: sampleRequest(t)}); err != nil {
		t.Errorf("with bucket prefix %q: %v", names.AnyBucket, err)
	}
}

// Another tool's notification for replication events on the source bucket is refused at
// preflight, naming it, before replication is configured; S3 would refuse s3crr's
// overlapping configuration (the simulator applies S3's overlap rule), and overwriting it
// would cut the other tool off. The same events already sent to s3crr's queue under
// another ID are a subscription made another way, and are kept.
func TestForeignReplicationNotificationIsRefusedAtPreflight(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	req := mustParse(t, sampleRequest(t))
	ctx := context.Background()
	src := awsclient.S3(env.root(req.Source.Account, req.Source.Region))
	must(t, call(src.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(req.Source.Bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(req.Source.Region)}})))
	must(t, call(src.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(req.Source.Bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})))
	foreign := "arn:aws:sns:" + req.Source.Region + ":" + req.Source.Account + ":other-tool"
	must(t, call(src.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(req.Source.Bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{TopicConfigurations: []s3types.TopicConfiguration{{
			Id: aws.String("other-tool-failures"), TopicArn: aws.String(foreign), Events: []s3types.Event{"s3:Replication:OperationFailedReplication"}}}}})))

	_, err := env.svc.Apply(ctx, sampleRequest(t))
	var c *Conflict
	if !errors.As(err, &c) || !strings.Contains(err.Error(), "preflight") || !strings.Contains(err.Error(), "other-tool-failures") {
		t.Fatalf("apply = %v, want a preflight Conflict naming other-tool-failures", err)
	}
	if _, err := src.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(req.Source.Bucket)}); err == nil {
		t.Errorf("replication was configured although the pair cannot get its failure events")
	}
	n, err := src.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	if len(n.TopicConfigurations) != 1 || aws.ToString(n.TopicConfigurations[0].TopicArn) != foreign {
		t.Errorf("the other tool's configuration changed: %+v", n.TopicConfigurations)
	}

	// Pointed at s3crr's queue with all of s3crr's events, it is kept and the pair applies.
	queue := "arn:aws:sqs:" + req.Source.Region + ":" + req.Source.Account + ":" + names.EventsQueueName
	must(t, call(src.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(req.Source.Bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			Id: aws.String("made-by-hand"), QueueArn: aws.String(queue), Events: []s3types.Event{"s3:Replication:*"}}}}})))
	env.apply(t, sampleRequest(t))
	n, err = src.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	if len(n.QueueConfigurations) != 1 || aws.ToString(n.QueueConfigurations[0].Id) != "made-by-hand" {
		t.Errorf("queue configurations %+v, want only the hand-made subscription, kept", n.QueueConfigurations)
	}
}

// The other side of the duplicate-run race: a run adopts, by its s3crr:alias tag, a key a
// duplicate run has just created; that run loses the alias to a third and schedules its
// key's deletion before the adopter's CreateAlias is served, which KMS then refuses as
// KMSInvalidStateException. The adopter converges on the alias's key instead of failing.
func TestAdoptedKeyDiscardedMeanwhileConvergesOnTheWinner(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	ctx := context.Background()
	root := awsclient.KMS(env.root(req.Source.Account, req.Source.Region))
	duplicateKey := func() string {
		out, err := root.CreateKey(ctx, &kms.CreateKeyInput{Tags: []kmstypes.Tag{
			{TagKey: aws.String(names.ManagedByTagKey), TagValue: aws.String(names.ManagedByTagValue)},
			{TagKey: aws.String(names.PairIDTagKey), TagValue: aws.String(req.PairID)},
			{TagKey: aws.String(names.AliasTagKey), TagValue: aws.String(req.Source.KMSKeyAlias)},
		}})
		must(t, err)
		return aws.ToString(out.KeyMetadata.Arn)
	}
	adopted := duplicateKey()
	var winner string
	env.srv.InjectFault(localaws.Fault{Account: req.Source.Account, Service: "kms", Operation: "CreateAlias", Times: 1, Before: func() {
		winner = duplicateKey()
		_, err := root.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(req.Source.KMSKeyAlias), TargetKeyId: aws.String(winner)})
		must(t, err)
		_, err = root.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(adopted), PendingWindowInDays: aws.Int32(7)})
		must(t, err)
	}})
	res, err := env.svc.Run(ctx, Event{Stage: names.StageKey, Side: SideSource, Request: reqJSON})
	if err != nil {
		t.Fatalf("key stage: %v", err)
	}
	if got := res.Outputs["keyArn"]; got != winner {
		t.Errorf("the run uses key %v, want the alias's key %s", got, winner)
	}
	if live := env.liveKeys(t, req.Source); len(live) != 1 || live[0] != winner {
		t.Errorf("live keys %v, want only the winner %s", live, winner)
	}
}
