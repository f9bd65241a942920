package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// The end-to-end test of replication, driven only through the SDK clients, as s3crr and a
// person checking by hand would drive AWS. Account A (111111111111) owns the source bucket
// in ap-south-1, account B (222222222222) the destination in us-east-1; both buckets are
// versioned with default SSE-KMS and Bucket Keys. The replication role and every policy are
// written here by hand from docs/aws-facts.md (F-REPL-ROLE-PERMS, F-KMS-REPL-CONDITIONS),
// never taken from internal/policy: the
// simulator must not share code with what it judges.

const (
	e2eSrcRegion = "ap-south-1"
	e2eDstRegion = "us-east-1"
	e2eSrcBucket = "payments-src"
	e2eDstBucket = "payments-dst"
	e2eRoleName  = "s3crr-replication"
	e2eRoleARN   = "arn:aws:iam::111111111111:role/s3crr-replication"
	e2eQueueARN  = "arn:aws:sqs:ap-south-1:111111111111:s3crr-replication-events"
)

// e2eVariant breaks one thing in the otherwise correct setup.
type e2eVariant struct {
	trustService      string   // principal the trust policy names; default s3.amazonaws.com
	srcObjectActions  []string // the role's actions on source objects
	noSrcKeyStatement bool     // the role may not kms:Decrypt with the source key
	dstKeyRoleActions []string // what B's key policy grants the role
	noDstBucketPolicy bool
	noOwnerOverride   bool                                        // B's bucket policy does not grant s3:ObjectOwnerOverrideToBucketOwner
	rules             func(env *e2eEnv) []s3types.ReplicationRule // replaces the default rule
	// before runs after the setup and before the test writes objects.
	before func(t *testing.T, env *e2eEnv)
}

// e2eEnv is one simulator with the pair set up, and SDK clients for both accounts.
type e2eEnv struct {
	srv        *Server
	s3A, s3B   *s3.Client
	kmsA, kmsB *kms.Client
	iamA       *iam.Client
	srcKeyARN  string
	dstKeyARN  string
	mu         sync.Mutex
	delivered  []Event // what reached the EventSink
	endpoint   string
}

func (env *e2eEnv) sinkEvents() []Event {
	env.mu.Lock()
	defer env.mu.Unlock()
	return append([]Event(nil), env.delivered...)
}

func e2eSetup(t testing.TB, variant e2eVariant) *e2eEnv {
	t.Helper()
	ctx := context.Background()
	env := &e2eEnv{}
	env.srv = New(Options{EventSink: func(e Event) {
		env.mu.Lock()
		defer env.mu.Unlock()
		env.delivered = append(env.delivered, e)
	}})
	endpoint, stop := env.srv.Start()
	t.Cleanup(stop)
	checkContextKeys(t, env.srv)
	env.endpoint = endpoint
	// MemberStack's events queue: S3 refuses a notification to a queue that does not exist.
	createQueue(t, endpoint, SourceAccount, e2eSrcRegion, "s3crr-replication-events")

	pathStyle := func(o *s3.Options) { o.UsePathStyle = true }
	env.s3A = s3.NewFromConfig(RootConfig(endpoint, SourceAccount, e2eSrcRegion), pathStyle)
	env.s3B = s3.NewFromConfig(RootConfig(endpoint, DestinationAccount, e2eDstRegion), pathStyle)
	env.kmsA = kms.NewFromConfig(RootConfig(endpoint, SourceAccount, e2eSrcRegion))
	env.kmsB = kms.NewFromConfig(RootConfig(endpoint, DestinationAccount, e2eDstRegion))
	env.iamA = iam.NewFromConfig(RootConfig(endpoint, SourceAccount, "us-east-1"))

	for _, acct := range []string{SourceAccount, DestinationAccount} {
		id, err := sts.NewFromConfig(RootConfig(endpoint, acct, "us-east-1")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		e2eMust(t, "get caller identity", err)
		if aws.ToString(id.Account) != acct {
			t.Fatalf("caller identity account %s, want %s", aws.ToString(id.Account), acct)
		}
	}

	// The replication role in A. Created first: B's key and bucket policies name it, and
	// KMS and S3 reject policies naming principals that do not exist.
	trust := variant.trustService
	if trust == "" {
		trust = "s3.amazonaws.com"
	}
	_, err := env.iamA.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(e2eRoleName),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Service":"` + trust + `"},"Action":"sts:AssumeRole"}]}`),
	})
	e2eMust(t, "create role", err)

	// Keys: A's with the default policy (A's IAM policies decide), B's naming the role.
	srcKey, err := env.kmsA.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("source")})
	e2eMust(t, "create source key", err)
	env.srcKeyARN = aws.ToString(srcKey.KeyMetadata.Arn)
	dstKey, err := env.kmsB.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("destination")})
	e2eMust(t, "create destination key", err)
	env.dstKeyARN = aws.ToString(dstKey.KeyMetadata.Arn)

	dstKeyActions := variant.dstKeyRoleActions
	if dstKeyActions == nil {
		dstKeyActions = []string{"kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"}
	}
	_, err = env.kmsB.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{
		KeyId:      aws.String(env.dstKeyARN),
		PolicyName: aws.String("default"),
		Policy: aws.String(e2eJSON(t, map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{
				map[string]any{"Sid": "AccountRoot", "Effect": "Allow",
					"Principal": map[string]any{"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:*", "Resource": "*"},
				map[string]any{"Sid": "ReplicaEncryption", "Effect": "Allow",
					"Principal": map[string]any{"AWS": e2eRoleARN}, "Action": dstKeyActions, "Resource": "*",
					"Condition": e2eKMSConditions(e2eDstRegion, e2eDstBucket)},
			},
		})),
	})
	e2eMust(t, "put destination key policy", err)

	// The role's permissions (docs/aws-facts.md#F-REPL-ROLE-PERMS).
	srcObjectActions := variant.srcObjectActions
	if srcObjectActions == nil {
		srcObjectActions = []string{"s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"}
	}
	statements := []any{
		map[string]any{"Sid": "SourceBucket", "Effect": "Allow",
			"Action": []string{"s3:GetReplicationConfiguration", "s3:ListBucket"}, "Resource": "arn:aws:s3:::" + e2eSrcBucket},
		map[string]any{"Sid": "SourceObjects", "Effect": "Allow",
			"Action": srcObjectActions, "Resource": "arn:aws:s3:::" + e2eSrcBucket + "/*"},
		map[string]any{"Sid": "DestinationObjects", "Effect": "Allow",
			"Action":   []string{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"},
			"Resource": "arn:aws:s3:::" + e2eDstBucket + "/*"},
		map[string]any{"Sid": "DestinationKey", "Effect": "Allow",
			"Action": []string{"kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"}, "Resource": env.dstKeyARN,
			"Condition": e2eKMSConditions(e2eDstRegion, e2eDstBucket)},
	}
	if !variant.noSrcKeyStatement {
		statements = append(statements, map[string]any{"Sid": "SourceKey", "Effect": "Allow",
			"Action": "kms:Decrypt", "Resource": env.srcKeyARN,
			"Condition": e2eKMSConditions(e2eSrcRegion, e2eSrcBucket)})
	}
	_, err = env.iamA.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName:       aws.String(e2eRoleName),
		PolicyName:     aws.String("replication"),
		PolicyDocument: aws.String(e2eJSON(t, map[string]any{"Version": "2012-10-17", "Statement": statements})),
	})
	e2eMust(t, "put role policy", err)

	// Buckets: versioned, default SSE-KMS with Bucket Keys.
	e2eBucket(t, env.s3A, e2eSrcBucket, e2eSrcRegion, env.srcKeyARN)
	e2eBucket(t, env.s3B, e2eDstBucket, e2eDstRegion, env.dstKeyARN)

	if !variant.noDstBucketPolicy {
		bucketStatements := []any{
			map[string]any{"Sid": "ReplicaWrites", "Effect": "Allow", "Principal": map[string]any{"AWS": e2eRoleARN},
				"Action":   []string{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"},
				"Resource": "arn:aws:s3:::" + e2eDstBucket + "/*"},
			map[string]any{"Sid": "Versioning", "Effect": "Allow", "Principal": map[string]any{"AWS": e2eRoleARN},
				"Action":   []string{"s3:GetBucketVersioning", "s3:PutBucketVersioning"},
				"Resource": "arn:aws:s3:::" + e2eDstBucket},
		}
		if !variant.noOwnerOverride {
			bucketStatements = append(bucketStatements, map[string]any{"Sid": "OwnerOverride", "Effect": "Allow",
				"Principal": map[string]any{"AWS": "arn:aws:iam::111111111111:root"},
				"Action":    "s3:ObjectOwnerOverrideToBucketOwner", "Resource": "arn:aws:s3:::" + e2eDstBucket + "/*"})
		}
		_, err = env.s3B.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{
			Bucket: aws.String(e2eDstBucket),
			Policy: aws.String(e2eJSON(t, map[string]any{"Version": "2012-10-17", "Statement": bucketStatements})),
		})
		e2eMust(t, "put destination bucket policy", err)
	}

	rules := []s3types.ReplicationRule{e2eRule(env, "pair", 1, "", "")}
	if variant.rules != nil {
		rules = variant.rules(env)
	}
	_, err = env.s3A.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{
		Bucket:                   aws.String(e2eSrcBucket),
		ReplicationConfiguration: &s3types.ReplicationConfiguration{Role: aws.String(e2eRoleARN), Rules: rules},
	})
	e2eMust(t, "put bucket replication", err)

	_, err = env.s3A.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(e2eSrcBucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{
			QueueConfigurations: []s3types.QueueConfiguration{{
				Id:       aws.String("replication-failures"),
				QueueArn: aws.String(e2eQueueARN),
				Events:   []s3types.Event{"s3:Replication:*"},
			}},
		},
	})
	e2eMust(t, "put bucket notification configuration", err)

	if variant.before != nil {
		variant.before(t.(*testing.T), env)
	}
	return env
}

// e2eKMSConditions are the key-use conditions of docs/aws-facts.md#F-KMS-REPL-CONDITIONS: through S3 in the key's
// Region, for objects of the bucket in either encryption-context form (object ARN, or the
// bucket ARN with Bucket Keys).
func e2eKMSConditions(region, bucketName string) map[string]any {
	return map[string]any{
		"StringEquals": map[string]any{"kms:ViaService": "s3." + region + ".amazonaws.com"},
		"StringLike": map[string]any{"kms:EncryptionContext:aws:s3:arn": []string{
			"arn:aws:s3:::" + bucketName + "/*", "arn:aws:s3:::" + bucketName}},
	}
}

// e2eRule is the pair's rule: Metrics, RTC, delete markers, owner override, SSE-KMS.
func e2eRule(env *e2eEnv, id string, priority int32, prefix, storageClass string) s3types.ReplicationRule {
	if storageClass == "" {
		storageClass = "STANDARD"
	}
	return s3types.ReplicationRule{
		ID:                      aws.String(id),
		Priority:                aws.Int32(priority),
		Status:                  s3types.ReplicationRuleStatusEnabled,
		Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String(prefix)},
		DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusEnabled},
		SourceSelectionCriteria: &s3types.SourceSelectionCriteria{
			SseKmsEncryptedObjects: &s3types.SseKmsEncryptedObjects{Status: s3types.SseKmsEncryptedObjectsStatusEnabled},
		},
		Destination: &s3types.Destination{
			Bucket:                   aws.String("arn:aws:s3:::" + e2eDstBucket),
			Account:                  aws.String(DestinationAccount),
			StorageClass:             s3types.StorageClass(storageClass),
			AccessControlTranslation: &s3types.AccessControlTranslation{Owner: s3types.OwnerOverrideDestination},
			EncryptionConfiguration:  &s3types.EncryptionConfiguration{ReplicaKmsKeyID: aws.String(env.dstKeyARN)},
			ReplicationTime: &s3types.ReplicationTime{Status: s3types.ReplicationTimeStatusEnabled,
				Time: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}},
			Metrics: &s3types.Metrics{Status: s3types.MetricsStatusEnabled,
				EventThreshold: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}},
		},
	}
}

// e2eBucket creates a versioned bucket with default SSE-KMS and Bucket Keys.
func e2eBucket(t testing.TB, c *s3.Client, name, region, keyARN string) {
	t.Helper()
	ctx := context.Background()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	_, err := c.CreateBucket(ctx, in)
	e2eMust(t, "create bucket "+name, err)
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(name),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	})
	e2eMust(t, "enable versioning of "+name, err)
	_, err = c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: aws.String(name),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
				SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(keyARN)},
			BucketKeyEnabled: aws.Bool(true),
		}}},
	})
	e2eMust(t, "put default encryption of "+name, err)
}

func e2eMust(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func e2eJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal policy: %v", err)
	}
	return string(b)
}

// put writes an object to A's source bucket and returns its version ID.
func (env *e2eEnv) put(t testing.TB, key, body string, tagging string) string {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(e2eSrcBucket), Key: aws.String(key), Body: strings.NewReader(body),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"origin": "e2e"}}
	if tagging != "" {
		in.Tagging = aws.String(tagging)
	}
	out, err := env.s3A.PutObject(context.Background(), in)
	e2eMust(t, "put object "+key, err)
	if aws.ToString(out.VersionId) == "" {
		t.Fatalf("put object %s returned no version ID", key)
	}
	return aws.ToString(out.VersionId)
}

func (env *e2eEnv) waitIdle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e2eMust(t, "wait for replication", env.srv.WaitIdle(ctx))
}

// headStatus is A's view of a source version's replication status.
func (env *e2eEnv) headStatus(t testing.TB, key, versionID string) string {
	t.Helper()
	out, err := env.s3A.HeadObject(context.Background(), &s3.HeadObjectInput{
		Bucket: aws.String(e2eSrcBucket), Key: aws.String(key), VersionId: aws.String(versionID)})
	e2eMust(t, "head source object "+key, err)
	return string(out.ReplicationStatus)
}

func TestE2EReplication(t *testing.T) {
	env := e2eSetup(t, e2eVariant{})
	ctx := context.Background()
	body := "payment batch 2025-03-01"
	vid := env.put(t, "docs/batch.csv", body, "class=finance")
	env.waitIdle(t)

	if got := env.headStatus(t, "docs/batch.csv", vid); got != "COMPLETED" {
		_, code, detail, _ := env.srv.ObjectReplication(e2eSrcBucket, "docs/batch.csv", vid)
		t.Fatalf("source status %q (%s: %s), want COMPLETED", got, code, detail)
	}

	// B's root sees the replica under the same version ID, encrypted with B's key.
	head, err := env.s3B.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(e2eDstBucket), Key: aws.String("docs/batch.csv"), VersionId: aws.String(vid)})
	e2eMust(t, "head replica", err)
	if string(head.ReplicationStatus) != "REPLICA" {
		t.Errorf("replica status %q, want REPLICA", head.ReplicationStatus)
	}
	if got := aws.ToString(head.SSEKMSKeyId); got != env.dstKeyARN {
		t.Errorf("replica SSEKMSKeyId %q, want B's key %q", got, env.dstKeyARN)
	}
	if head.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms {
		t.Errorf("replica encryption %q, want aws:kms", head.ServerSideEncryption)
	}
	if !aws.ToBool(head.BucketKeyEnabled) {
		t.Errorf("replica BucketKeyEnabled false, want true")
	}
	if head.Metadata["origin"] != "e2e" || aws.ToString(head.ContentType) != "text/plain" {
		t.Errorf("replica metadata %v content type %q", head.Metadata, aws.ToString(head.ContentType))
	}

	get, err := env.s3B.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e2eDstBucket), Key: aws.String("docs/batch.csv")})
	e2eMust(t, "get replica", err)
	data, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if string(data) != body {
		t.Errorf("replica body %q, want %q", data, body)
	}
	if aws.ToString(get.VersionId) != vid {
		t.Errorf("latest replica version %q, want the source's %q", aws.ToString(get.VersionId), vid)
	}
	if n := aws.ToInt32(head.TagCount); n != 1 {
		t.Errorf("replica has %d tags, want 1 (class=finance)", n)
	}
	// The owner override makes B the owner of the replica.
	list, err := env.s3B.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(e2eDstBucket)})
	e2eMust(t, "list replica versions", err)
	if len(list.Versions) != 1 {
		t.Fatalf("%d versions in B, want 1", len(list.Versions))
	}
	buckets, err := env.s3B.ListBuckets(ctx, &s3.ListBucketsInput{})
	e2eMust(t, "list B's buckets", err)
	if owner := list.Versions[0].Owner; owner == nil || buckets.Owner == nil || aws.ToString(owner.ID) != aws.ToString(buckets.Owner.ID) {
		t.Errorf("replica owner %+v, want B (%+v) by the owner override", owner, buckets.Owner)
	}
	if n := len(env.sinkEvents()); n != 0 {
		t.Errorf("%d events after a successful replication, want 0", n)
	}
}

func TestE2EReplicationFailures(t *testing.T) {
	tests := []struct {
		name    string
		variant e2eVariant
		want    string
	}{
		{
			name:    "no trust for s3.amazonaws.com",
			variant: e2eVariant{trustService: "ec2.amazonaws.com"},
			want:    "AssumeRoleNotPermitted",
		},
		{
			name:    "no s3:GetObjectVersionForReplication",
			variant: e2eVariant{srcObjectActions: []string{"s3:GetObjectVersion", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"}},
			want:    "SrcGetObjectNotPermitted",
		},
		{
			name:    "no destination bucket policy",
			variant: e2eVariant{noDstBucketPolicy: true},
			want:    "DstPutObjectNotPermitted",
		},
		{
			// The current [UG] replication-failure-codes lists this permission under
			// DstPutObjectNotPermitted.
			name: "no owner override in the destination bucket policy",
			variant: e2eVariant{noOwnerOverride: true, before: func(t *testing.T, env *e2eEnv) {
				// New buckets enforce bucket-owner ownership, which needs no override.
				e2eOwnership(t, env, s3types.ObjectOwnershipBucketOwnerPreferred)
			}},
			want: "DstPutObjectNotPermitted",
		},
		{
			// [UG] replication-change-owner: the option needs the permission in the
			// destination bucket policy; BucketOwnerEnforced (the default ownership of a
			// new bucket) is an alternative to the option, not a waiver while it is set.
			name:    "owner override against a BucketOwnerEnforced destination without the permission",
			variant: e2eVariant{noOwnerOverride: true},
			want:    "DstPutObjectNotPermitted",
		},
		{
			name:    "no kms:Decrypt on the source key",
			variant: e2eVariant{noSrcKeyStatement: true},
			want:    "SrcGetObjectNotPermitted",
		},
		{
			name:    "no kms:Encrypt on the destination key",
			variant: e2eVariant{dstKeyRoleActions: []string{"kms:GenerateDataKey", "kms:Decrypt"}},
			want:    "DstPutObjectNotPermitted",
		},
		{
			name: "destination key disabled",
			variant: e2eVariant{before: func(t *testing.T, env *e2eEnv) {
				_, err := env.kmsB.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(env.dstKeyARN)})
				e2eMust(t, "disable destination key", err)
			}},
			want: "DstKmsKeyInvalidState",
		},
		{
			name: "destination versioning suspended",
			variant: e2eVariant{before: func(t *testing.T, env *e2eEnv) {
				_, err := env.s3B.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{
					Bucket:                  aws.String(e2eDstBucket),
					VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended},
				})
				e2eMust(t, "suspend destination versioning", err)
			}},
			want: "DstBucketUnversioned",
		},
		{
			name: "destination bucket deleted",
			variant: e2eVariant{before: func(t *testing.T, env *e2eEnv) {
				_, err := env.s3B.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String(e2eDstBucket)})
				e2eMust(t, "delete destination bucket", err)
			}},
			want: "DstBucketNotFound",
		},
		{
			name: "destination key does not exist",
			variant: e2eVariant{rules: func(env *e2eEnv) []s3types.ReplicationRule {
				r := e2eRule(env, "pair", 1, "", "")
				r.Destination.EncryptionConfiguration.ReplicaKmsKeyID = aws.String(
					"arn:aws:kms:us-east-1:222222222222:key/00000000-0000-4000-8000-000000000000")
				return []s3types.ReplicationRule{r}
			}},
			want: "DstKmsKeyNotFound",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := e2eSetup(t, tt.variant)
			vid := env.put(t, "docs/batch.csv", "payment batch", "")
			env.waitIdle(t)

			if got := env.headStatus(t, "docs/batch.csv", vid); got != "FAILED" {
				t.Fatalf("source status %q, want FAILED", got)
			}
			_, code, detail, _ := env.srv.ObjectReplication(e2eSrcBucket, "docs/batch.csv", vid)
			if code != tt.want {
				t.Errorf("failure code %q (%s), want %q", code, detail, tt.want)
			}
			t.Logf("%s: %s", code, detail)
			if _, err := env.s3B.HeadObject(context.Background(), &s3.HeadObjectInput{
				Bucket: aws.String(e2eDstBucket), Key: aws.String("docs/batch.csv")}); err == nil {
				t.Errorf("a replica exists in B after a failed replication")
			}

			delivered := env.sinkEvents()
			if len(delivered) != 1 {
				t.Fatalf("%d events delivered to the sink, want 1", len(delivered))
			}
			e := delivered[0]
			if e.TargetARN != e2eQueueARN || e.EventName != EventReplicationFailed || e.Bucket != e2eSrcBucket ||
				e.Account != SourceAccount || e.Region != e2eSrcRegion {
				t.Errorf("event = %+v", e)
			}
			var msg events.S3Event
			e2eMust(t, "decode event", json.Unmarshal(e.Body, &msg))
			if len(msg.Records) != 1 || msg.Records[0].ReplicationEventData == nil {
				t.Fatalf("event body %s", e.Body)
			}
			r := msg.Records[0]
			if r.ReplicationEventData.FailureReason != tt.want || r.S3.Object.VersionID != vid ||
				r.S3.ConfigurationID != "replication-failures" || r.ReplicationEventData.ReplicationRuleID != "pair" {
				t.Errorf("event record %+v / %+v, want failureReason %s for version %s", r.S3, *r.ReplicationEventData, tt.want, vid)
			}
		})
	}
}

// e2eOwnership sets B's Object Ownership.
func e2eOwnership(t *testing.T, env *e2eEnv, o s3types.ObjectOwnership) {
	t.Helper()
	_, err := env.s3B.PutBucketOwnershipControls(context.Background(), &s3.PutBucketOwnershipControlsInput{
		Bucket:            aws.String(e2eDstBucket),
		OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: o}}},
	})
	e2eMust(t, "put destination ownership controls", err)
}

// TestE2EBucketOwnerEnforcedNeedsNoOwnerOverride: without the owner override option, a
// BucketOwnerEnforced destination owns every replica and no one needs
// s3:ObjectOwnerOverrideToBucketOwner ([UG] replication-change-owner).
func TestE2EBucketOwnerEnforcedNeedsNoOwnerOverride(t *testing.T) {
	env := e2eSetup(t, e2eVariant{noOwnerOverride: true,
		rules: func(env *e2eEnv) []s3types.ReplicationRule {
			r := e2eRule(env, "pair", 1, "", "")
			r.Destination.AccessControlTranslation = nil
			return []s3types.ReplicationRule{r}
		},
		before: func(t *testing.T, env *e2eEnv) {
			e2eOwnership(t, env, s3types.ObjectOwnershipBucketOwnerEnforced)
		}})
	vid := env.put(t, "docs/a.csv", "a", "")
	env.waitIdle(t)
	if got := env.headStatus(t, "docs/a.csv", vid); got != "COMPLETED" {
		_, code, detail, _ := env.srv.ObjectReplication(e2eSrcBucket, "docs/a.csv", vid)
		t.Fatalf("source status %q (%s: %s), want COMPLETED without the override permission", got, code, detail)
	}
	ctx := context.Background()
	list, err := env.s3B.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(e2eDstBucket)})
	e2eMust(t, "list replica versions", err)
	buckets, err := env.s3B.ListBuckets(ctx, &s3.ListBucketsInput{})
	e2eMust(t, "list B's buckets", err)
	if len(list.Versions) != 1 || list.Versions[0].Owner == nil || buckets.Owner == nil ||
		aws.ToString(list.Versions[0].Owner.ID) != aws.ToString(buckets.Owner.ID) {
		t.Errorf("replica versions %+v, want one owned by B (%+v) through BucketOwnerEnforced", list.Versions, buckets.Owner)
	}
}

// TestE2ESSES3SourceStaysSSES3: a source object encrypted with SSE-S3 gives an SSE-S3
// replica; neither ReplicaKmsKeyID nor B's default SSE-KMS applies to it, so the role needs
// nothing on B's key ([UG] replication-config-for-kms-objects, "How default bucket
// encryption affects replication"; docs/aws-facts.md#F-REPL-SSE-S3-SOURCE).
func TestE2ESSES3SourceStaysSSES3(t *testing.T) {
	env := e2eSetup(t, e2eVariant{dstKeyRoleActions: []string{"kms:DescribeKey"}})
	ctx := context.Background()
	out, err := env.s3A.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e2eSrcBucket), Key: aws.String("docs/s3.csv"),
		Body: strings.NewReader("sse-s3"), ServerSideEncryption: s3types.ServerSideEncryptionAes256})
	e2eMust(t, "put SSE-S3 object", err)
	vid := aws.ToString(out.VersionId)
	env.waitIdle(t)
	if got := env.headStatus(t, "docs/s3.csv", vid); got != "COMPLETED" {
		_, code, detail, _ := env.srv.ObjectReplication(e2eSrcBucket, "docs/s3.csv", vid)
		t.Fatalf("source status %q (%s: %s), want COMPLETED with no grant on B's key", got, code, detail)
	}
	head, err := env.s3B.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e2eDstBucket), Key: aws.String("docs/s3.csv"), VersionId: aws.String(vid)})
	e2eMust(t, "head replica", err)
	if head.ServerSideEncryption != s3types.ServerSideEncryptionAes256 || aws.ToString(head.SSEKMSKeyId) != "" {
		t.Errorf("replica encryption %q key %q, want AES256 without a KMS key, as its source", head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId))
	}

	// An SSE-KMS object of the same bucket still goes under ReplicaKmsKeyID, which this
	// variant's B key policy does not let the role use.
	vid = env.put(t, "docs/kms.csv", "sse-kms", "")
	env.waitIdle(t)
	if _, code, _, _ := env.srv.ObjectReplication(e2eSrcBucket, "docs/kms.csv", vid); code != "DstPutObjectNotPermitted" {
		t.Errorf("SSE-KMS object without a grant on B's key: failure %q, want DstPutObjectNotPermitted", code)
	}
}

// TestE2EReplicaKeepsSourceBucketKey: an object uploaded with an S3 Bucket Key keeps it in
// its replica even when neither bucket's default uses Bucket Keys, so B's key must allow
// the Bucket Key calls (kms:GenerateDataKey, kms:Decrypt) besides kms:Encrypt ([UG]
// bucket-key, "Using an S3 Bucket Key with replication"; docs/aws-facts.md#F-BUCKET-KEY).
func TestE2EReplicaKeepsSourceBucketKey(t *testing.T) {
	noBucketKeys := func(t *testing.T, env *e2eEnv) {
		for _, b := range []struct {
			c      *s3.Client
			bucket string
			key    string
		}{{env.s3A, e2eSrcBucket, env.srcKeyARN}, {env.s3B, e2eDstBucket, env.dstKeyARN}} {
			_, err := b.c.PutBucketEncryption(context.Background(), &s3.PutBucketEncryptionInput{
				Bucket: aws.String(b.bucket),
				ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
					ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
						SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(b.key)},
					BucketKeyEnabled: aws.Bool(false),
				}}},
			})
			e2eMust(t, "put default encryption without Bucket Keys", err)
		}
	}
	putWithBucketKey := func(t *testing.T, env *e2eEnv, key string) string {
		out, err := env.s3A.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(e2eSrcBucket), Key: aws.String(key),
			Body: strings.NewReader("bk"), BucketKeyEnabled: aws.Bool(true)})
		e2eMust(t, "put object with a Bucket Key", err)
		env.waitIdle(t)
		return aws.ToString(out.VersionId)
	}
	t.Run("B's key allows only kms:Encrypt", func(t *testing.T) {
		env := e2eSetup(t, e2eVariant{dstKeyRoleActions: []string{"kms:Encrypt"}, before: noBucketKeys})
		plain := env.put(t, "docs/plain.csv", "no bucket key", "")
		env.waitIdle(t)
		if got := env.headStatus(t, "docs/plain.csv", plain); got != "COMPLETED" {
			t.Errorf("object without a Bucket Key: %s, want COMPLETED with kms:Encrypt alone", got)
		}
		vid := putWithBucketKey(t, env, "docs/bk.csv")
		if _, code, _, _ := env.srv.ObjectReplication(e2eSrcBucket, "docs/bk.csv", vid); code != "DstPutObjectNotPermitted" {
			t.Errorf("object with a Bucket Key: failure %q, want DstPutObjectNotPermitted", code)
		}
	})
	t.Run("B's key allows the Bucket Key calls", func(t *testing.T) {
		env := e2eSetup(t, e2eVariant{before: noBucketKeys})
		vid := putWithBucketKey(t, env, "docs/bk.csv")
		if got := env.headStatus(t, "docs/bk.csv", vid); got != "COMPLETED" {
			t.Fatalf("object with a Bucket Key: %s, want COMPLETED", got)
		}
		head, err := env.s3B.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(e2eDstBucket), Key: aws.String("docs/bk.csv"), VersionId: aws.String(vid)})
		e2eMust(t, "head replica", err)
		if !aws.ToBool(head.BucketKeyEnabled) {
			t.Errorf("replica BucketKeyEnabled false, want the source object's true")
		}
	})
}

func TestE2EDeleteMarkerReplication(t *testing.T) {
	env := e2eSetup(t, e2eVariant{})
	ctx := context.Background()
	env.put(t, "docs/old.csv", "old", "")
	env.waitIdle(t)

	del, err := env.s3A.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(e2eSrcBucket), Key: aws.String("docs/old.csv")})
	e2eMust(t, "delete source object", err)
	if !aws.ToBool(del.DeleteMarker) {
		t.Fatalf("delete created no delete marker")
	}
	marker := aws.ToString(del.VersionId)
	env.waitIdle(t)

	if status, code, detail, _ := env.srv.ObjectReplication(e2eSrcBucket, "docs/old.csv", marker); status != "COMPLETED" {
		t.Fatalf("delete marker status %q (%s: %s), want COMPLETED", status, code, detail)
	}
	list, err := env.s3B.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(e2eDstBucket)})
	e2eMust(t, "list destination versions", err)
	if len(list.DeleteMarkers) != 1 || aws.ToString(list.DeleteMarkers[0].VersionId) != marker || !aws.ToBool(list.DeleteMarkers[0].IsLatest) {
		t.Fatalf("destination delete markers %+v, want the source's %s as latest", list.DeleteMarkers, marker)
	}
	var nf *smithy.GenericAPIError
	_, err = env.s3B.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e2eDstBucket), Key: aws.String("docs/old.csv")})
	if err == nil {
		t.Errorf("HeadObject in B found the deleted object")
	} else if errors.As(err, &nf) && nf.Code != "NotFound" {
		t.Errorf("HeadObject in B: %v, want NotFound", err)
	}
}

func TestE2EReplicaIsNotReplicatedBack(t *testing.T) {
	env := e2eSetup(t, e2eVariant{})
	ctx := context.Background()

	// B replicates everything back to A. A replica that were scheduled again would leave
	// the REPLICA status (PENDING, then COMPLETED or FAILED).
	iamB := iam.NewFromConfig(RootConfig(env.endpoint, DestinationAccount, "us-east-1"))
	_, err := iamB.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("back"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	e2eMust(t, "create B's role", err)
	_, err = iamB.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("back"), PolicyName: aws.String("all"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","kms:*"],"Resource":"*"}]}`)})
	e2eMust(t, "put B's role policy", err)
	_, err = env.s3B.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{
		Bucket: aws.String(e2eDstBucket),
		ReplicationConfiguration: &s3types.ReplicationConfiguration{
			Role: aws.String("arn:aws:iam::222222222222:role/back"),
			Rules: []s3types.ReplicationRule{{
				ID: aws.String("back"), Priority: aws.Int32(1), Status: s3types.ReplicationRuleStatusEnabled,
				Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
				DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusDisabled},
				SourceSelectionCriteria: &s3types.SourceSelectionCriteria{
					SseKmsEncryptedObjects: &s3types.SseKmsEncryptedObjects{Status: s3types.SseKmsEncryptedObjectsStatusEnabled}},
				Destination: &s3types.Destination{Bucket: aws.String("arn:aws:s3:::" + e2eSrcBucket),
					EncryptionConfiguration: &s3types.EncryptionConfiguration{ReplicaKmsKeyID: aws.String(env.srcKeyARN)}},
			}},
		},
	})
	e2eMust(t, "put B's replication back to A", err)

	vid := env.put(t, "docs/a.csv", "a", "")
	env.waitIdle(t)
	if got := env.headStatus(t, "docs/a.csv", vid); got != "COMPLETED" {
		t.Fatalf("source status %q, want COMPLETED (not overwritten by a replica of its replica)", got)
	}
	if status, _, _, _ := env.srv.ObjectReplication(e2eDstBucket, "docs/a.csv", vid); status != "REPLICA" {
		t.Errorf("replica status %q, want REPLICA", status)
	}
	versions, err := env.s3A.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(e2eSrcBucket)})
	e2eMust(t, "list source versions", err)
	if len(versions.Versions) != 1 {
		t.Errorf("%d versions in A, want 1", len(versions.Versions))
	}

	// B's rule is live: B's own objects are selected by it.
	out, err := env.s3B.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e2eDstBucket), Key: aws.String("b-own.csv"), Body: strings.NewReader("b")})
	e2eMust(t, "put B's own object", err)
	env.waitIdle(t)
	if status, _, _, _ := env.srv.ObjectReplication(e2eDstBucket, "b-own.csv", aws.ToString(out.VersionId)); status == "" {
		t.Errorf("B's own object got no replication status: B's rule is not active, so the test proves nothing")
	}
}

func TestE2ERulePriorityAndPrefix(t *testing.T) {
	env := e2eSetup(t, e2eVariant{rules: func(env *e2eEnv) []s3types.ReplicationRule {
		return []s3types.ReplicationRule{
			e2eRule(env, "docs", 1, "docs/", "STANDARD"),
			e2eRule(env, "docs-logs", 2, "docs/logs/", "STANDARD_IA"),
		}
	}})
	ctx := context.Background()
	logs := env.put(t, "docs/logs/1.log", "log", "")
	doc := env.put(t, "docs/readme.txt", "doc", "")
	tmp := env.put(t, "tmp/scratch", "tmp", "")
	env.waitIdle(t)

	tests := []struct {
		key, vid, wantClass string
	}{
		{"docs/logs/1.log", logs, "STANDARD_IA"}, // both rules match: priority 2 wins
		{"docs/readme.txt", doc, "STANDARD"},
	}
	for _, tt := range tests {
		head, err := env.s3B.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e2eDstBucket), Key: aws.String(tt.key), VersionId: aws.String(tt.vid)})
		e2eMust(t, "head replica "+tt.key, err)
		class := string(head.StorageClass)
		if class == "" {
			class = "STANDARD" // S3 omits the header for STANDARD
		}
		if class != tt.wantClass {
			t.Errorf("replica of %s has storage class %q, want %q", tt.key, class, tt.wantClass)
		}
	}

	// No rule selects tmp/: no status, no replica.
	if got := env.headStatus(t, "tmp/scratch", tmp); got != "" {
		t.Errorf("unselected object status %q, want none", got)
	}
	if _, err := env.s3B.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e2eDstBucket), Key: aws.String("tmp/scratch")}); err == nil {
		t.Errorf("an object no rule selects was replicated")
	}
}
