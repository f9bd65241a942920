package provision

// Hand-written in-memory fakes of the five member-account APIs the stages use. Each fake
// embeds its interface (left nil), so a call the fake does not implement panics and a test
// notices a stage making a call nobody expected. Every call is logged, in order, in one
// log shared by all accounts; any operation can be made to fail per account with an
// injected error (&smithy.GenericAPIError{Code: ...}, optionally behind an HTTP status).
//
// The fakes answer "does not exist" with the codes AWS uses (NoSuchBucketPolicy,
// NotFoundException, NoSuchEntity...), return copies (a stage that edits what it read
// must still call Put for the edit to count), and keep IAM documents URL-encoded as IAM
// returns them.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// fakeCall is one call a fake received.
type fakeCall struct {
	Account, Service, Op string
	Mutating             bool
}

func (c fakeCall) String() string { return c.Account + " " + c.Service + ":" + c.Op }

// callLog is the ordered log of every call the fakes of one test received.
type callLog struct{ calls []fakeCall }

func (l *callLog) add(account, service, op string) {
	l.calls = append(l.calls, fakeCall{Account: account, Service: service, Op: op, Mutating: awsclient.IsMutating(service, op)})
}

func (l *callLog) reset() { l.calls = nil }

// mutating lists the mutating calls, as "account service:Op".
func (l *callLog) mutating() []string {
	var out []string
	for _, c := range l.calls {
		if c.Mutating {
			out = append(out, c.String())
		}
	}
	return out
}

// count returns how many calls of op were made in any account.
func (l *callLog) count(op string) int {
	n := 0
	for _, c := range l.calls {
		if c.Op == op {
			n++
		}
	}
	return n
}

// fakeBase is what every fake shares: its account, the shared log, injected errors.
type fakeBase struct {
	account, service string
	log              *callLog
	errs             map[string]error
	hooks            map[string]func()
	all              error // when set, every call fails with it
}

// fail makes every later call of op in this fake's account return err.
func (f *fakeBase) fail(op string, err error) {
	if f.errs == nil {
		f.errs = map[string]error{}
	}
	f.errs[op] = err
}

// onCall makes every later call of op run do first: a test uses it to change the state
// behind a call, e.g. a create whose response was lost but which happened.
func (f *fakeBase) onCall(op string, do func()) {
	if f.hooks == nil {
		f.hooks = map[string]func(){}
	}
	f.hooks[op] = do
}

// enter logs a call, runs its hook and returns the error injected for it, if any.
func (f *fakeBase) enter(op string) error {
	f.log.add(f.account, f.service, op)
	if do := f.hooks[op]; do != nil {
		do()
	}
	if f.all != nil {
		return f.all
	}
	return f.errs[op]
}

// apiErr is an AWS error as the SDK returns it for code and message.
func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

// httpErr wraps err in the HTTP response error the SDK puts around service errors, for
// the calls (HeadBucket) whose meaning is in the status.
func httpErr(status int, err error) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}
}

// clone deep-copies an SDK value, so the fakes never share memory with a stage.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// equalJSON compares two values by their JSON form.
func equalJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}

// --- S3 ---------------------------------------------------------------------------

// fakeBucket is one bucket's state; nil fields are configurations the bucket does not have.
type fakeBucket struct {
	owner, region string
	versioning    s3types.BucketVersioningStatus
	pab           *s3types.PublicAccessBlockConfiguration
	ownership     *s3types.OwnershipControls
	policy        string
	tags          []s3types.Tag // nil: no tag set
	encryption    *s3types.ServerSideEncryptionConfiguration
	replication   *s3types.ReplicationConfiguration
	notification  *s3types.NotificationConfiguration
	lifecycle     []s3types.LifecycleRule // nil: no lifecycle configuration
	objectLock    bool
	objects       []string
}

// fakeS3World is the global bucket namespace shared by every account's S3 fake.
type fakeS3World struct{ buckets map[string]*fakeBucket }

// fakeS3 is S3 as one account sees it from one region.
type fakeS3 struct {
	bucketAPI // nil: a call the fake does not implement panics
	fakeBase
	region string
	world  *fakeS3World
}

// own returns a bucket of this account, or the error S3 gives for it.
func (f *fakeS3) own(name *string) (*fakeBucket, error) {
	b := f.world.buckets[aws.ToString(name)]
	switch {
	case b == nil:
		return nil, apiErr("NoSuchBucket", "The specified bucket does not exist")
	case b.owner != f.account:
		return nil, apiErr("AccessDenied", "Access Denied")
	}
	return b, nil
}

func (f *fakeS3) HeadBucket(_ context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	if err := f.enter("HeadBucket"); err != nil {
		return nil, err
	}
	b := f.world.buckets[aws.ToString(in.Bucket)]
	switch {
	case b == nil:
		return nil, httpErr(http.StatusNotFound, &s3types.NotFound{})
	case b.owner != f.account:
		return nil, httpErr(http.StatusForbidden, apiErr("Forbidden", "Forbidden"))
	}
	return &s3.HeadBucketOutput{BucketRegion: aws.String(b.region)}, nil
}

func (f *fakeS3) CreateBucket(_ context.Context, in *s3.CreateBucketInput, _ ...func(*s3.Options)) (*s3.CreateBucketOutput, error) {
	if err := f.enter("CreateBucket"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Bucket)
	if b := f.world.buckets[name]; b != nil {
		if b.owner == f.account {
			return nil, apiErr("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
		}
		return nil, apiErr("BucketAlreadyExists", "The requested bucket name is not available.")
	}
	var constraint string
	if in.CreateBucketConfiguration != nil {
		constraint = string(in.CreateBucketConfiguration.LocationConstraint)
	}
	// S3 requires the constraint everywhere but us-east-1, where it must be absent.
	if (f.region == "us-east-1" && constraint != "") || (f.region != "us-east-1" && constraint != f.region) {
		return nil, apiErr("IllegalLocationConstraintException", fmt.Sprintf("The %s location constraint is incompatible for the region specific endpoint this request was sent to.", constraint))
	}
	b := &fakeBucket{owner: f.account, region: f.region,
		// Every new bucket is encrypted with SSE-S3 by default (since January 2023).
		encryption: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
			BucketKeyEnabled:                   aws.Bool(false),
		}}},
		// And blocks all public access by default (since April 2023).
		pab: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
			BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)},
	}
	if in.ObjectOwnership != "" {
		b.ownership = &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: in.ObjectOwnership}}}
	}
	if aws.ToBool(in.ObjectLockEnabledForBucket) {
		b.objectLock = true
		b.versioning = s3types.BucketVersioningStatusEnabled
	}
	f.world.buckets[name] = b
	return &s3.CreateBucketOutput{}, nil
}

func (f *fakeS3) GetBucketVersioning(_ context.Context, in *s3.GetBucketVersioningInput, _ ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error) {
	if err := f.enter("GetBucketVersioning"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	return &s3.GetBucketVersioningOutput{Status: b.versioning}, nil
}

func (f *fakeS3) PutBucketVersioning(_ context.Context, in *s3.PutBucketVersioningInput, _ ...func(*s3.Options)) (*s3.PutBucketVersioningOutput, error) {
	if err := f.enter("PutBucketVersioning"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	b.versioning = in.VersioningConfiguration.Status
	return &s3.PutBucketVersioningOutput{}, nil
}

func (f *fakeS3) GetPublicAccessBlock(_ context.Context, in *s3.GetPublicAccessBlockInput, _ ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error) {
	if err := f.enter("GetPublicAccessBlock"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	if b.pab == nil {
		return nil, apiErr("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
	}
	return &s3.GetPublicAccessBlockOutput{PublicAccessBlockConfiguration: clone(b.pab)}, nil
}

func (f *fakeS3) PutPublicAccessBlock(_ context.Context, in *s3.PutPublicAccessBlockInput, _ ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error) {
	if err := f.enter("PutPublicAccessBlock"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	b.pab = clone(in.PublicAccessBlockConfiguration)
	return &s3.PutPublicAccessBlockOutput{}, nil
}

func (f *fakeS3) GetBucketOwnershipControls(_ context.Context, in *s3.GetBucketOwnershipControlsInput, _ ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error) {
	if err := f.enter("GetBucketOwnershipControls"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	if b.ownership == nil {
		return nil, apiErr("OwnershipControlsNotFoundError", "The bucket ownership controls were not found")
	}
	return &s3.GetBucketOwnershipControlsOutput{OwnershipControls: clone(b.ownership)}, nil
}

func (f *fakeS3) PutBucketOwnershipControls(_ context.Context, in *s3.PutBucketOwnershipControlsInput, _ ...func(*s3.Options)) (*s3.PutBucketOwnershipControlsOutput, error) {
	if err := f.enter("PutBucketOwnershipControls"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	b.ownership = clone(in.OwnershipControls)
	return &s3.PutBucketOwnershipControlsOutput{}, nil
}

func (f *fakeS3) GetBucketLifecycleConfiguration(_ context.Context, in *s3.GetBucketLifecycleConfigurationInput, _ ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error) {
	if err := f.enter("GetBucketLifecycleConfiguration"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	if b.lifecycle == nil {
		return nil, apiErr("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")
	}
	return &s3.GetBucketLifecycleConfigurationOutput{Rules: *clone(&b.lifecycle)}, nil
}

func (f *fakeS3) PutBucketLifecycleConfiguration(_ context.Context, in *s3.PutBucketLifecycleConfigurationInput, _ ...func(*s3.Options)) (*s3.PutBucketLifecycleConfigurationOutput, error) {
	if err := f.enter("PutBucketLifecycleConfiguration"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	b.lifecycle = *clone(&in.LifecycleConfiguration.Rules)
	return &s3.PutBucketLifecycleConfigurationOutput{}, nil
}

func (f *fakeS3) DeleteBucketLifecycle(_ context.Context, in *s3.DeleteBucketLifecycleInput, _ ...func(*s3.Options)) (*s3.DeleteBucketLifecycleOutput, error) {
	if err := f.enter("DeleteBucketLifecycle"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	b.lifecycle = nil
	return &s3.DeleteBucketLifecycleOutput{}, nil
}

func (f *fakeS3) GetBucketPolicy(_ context.Context, in *s3.GetBucketPolicyInput, _ ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error) {
	if err := f.enter("GetBucketPolicy"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	if b.policy == "" {
		return nil, apiErr("NoSuchBucketPolicy", "The bucket policy does not exist")
	}
	return &s3.GetBucketPolicyOutput{Policy: aws.String(b.policy)}, nil
}

func (f *fakeS3) PutBucketPolicy(_ context.Context, in *s3.PutBucketPolicyInput, _ ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error) {
	if err := f.enter("PutBucketPolicy"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	if _, err := policy.ParseDocument([]byte(aws.ToString(in.Policy))); err != nil {
		return nil, apiErr("MalformedPolicy", "Policies must be valid JSON")
	}
	b.policy = aws.ToString(in.Policy)
	return &s3.PutBucketPolicyOutput{}, nil
}

func (f *fakeS3) GetBucketTagging(_ context.Context, in *s3.GetBucketTaggingInput, _ ...func(*s3.Options)) (*s3.GetBucketTaggingOutput, error) {
	if err := f.enter("GetBucketTagging"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	if b.tags == nil {
		return nil, apiErr("NoSuchTagSet", "The TagSet does not exist")
	}
	return &s3.GetBucketTaggingOutput{TagSet: clone(b.tags)}, nil
}

func (f *fakeS3) PutBucketTagging(_ context.Context, in *s3.PutBucketTaggingInput, _ ...func(*s3.Options)) (*s3.PutBucketTaggingOutput, error) {
	if err := f.enter("PutBucketTagging"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	b.tags = clone(in.Tagging.TagSet)
	return &s3.PutBucketTaggingOutput{}, nil
}

func (f *fakeS3) GetBucketEncryption(_ context.Context, in *s3.GetBucketEncryptionInput, _ ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error) {
	if err := f.enter("GetBucketEncryption"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	if b.encryption == nil {
		return nil, apiErr("ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found")
	}
	return &s3.GetBucketEncryptionOutput{ServerSideEncryptionConfiguration: clone(b.encryption)}, nil
}

func (f *fakeS3) PutBucketEncryption(_ context.Context, in *s3.PutBucketEncryptionInput, _ ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error) {
	if err := f.enter("PutBucketEncryption"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	b.encryption = clone(in.ServerSideEncryptionConfiguration)
	return &s3.PutBucketEncryptionOutput{}, nil
}

func (f *fakeS3) GetBucketReplication(_ context.Context, in *s3.GetBucketReplicationInput, _ ...func(*s3.Options)) (*s3.GetBucketReplicationOutput, error) {
	if err := f.enter("GetBucketReplication"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	if b.replication == nil {
		return nil, apiErr("ReplicationConfigurationNotFoundError", "The replication configuration was not found")
	}
	return &s3.GetBucketReplicationOutput{ReplicationConfiguration: clone(b.replication)}, nil
}

func (f *fakeS3) PutBucketReplication(_ context.Context, in *s3.PutBucketReplicationInput, _ ...func(*s3.Options)) (*s3.PutBucketReplicationOutput, error) {
	if err := f.enter("PutBucketReplication"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	if b.versioning != s3types.BucketVersioningStatusEnabled {
		return nil, apiErr("InvalidRequest", "Versioning must be 'Enabled' on the bucket to apply a replication configuration")
	}
	seen := map[int32]bool{}
	for _, r := range in.ReplicationConfiguration.Rules {
		p := aws.ToInt32(r.Priority)
		if seen[p] {
			return nil, apiErr("InvalidRequest", "Found duplicate priority "+fmt.Sprint(p)+" when priority is used")
		}
		seen[p] = true
	}
	b.replication = clone(in.ReplicationConfiguration)
	return &s3.PutBucketReplicationOutput{}, nil
}

func (f *fakeS3) GetBucketNotificationConfiguration(_ context.Context, in *s3.GetBucketNotificationConfigurationInput, _ ...func(*s3.Options)) (*s3.GetBucketNotificationConfigurationOutput, error) {
	if err := f.enter("GetBucketNotificationConfiguration"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	out := &s3.GetBucketNotificationConfigurationOutput{} // S3 answers an empty configuration, not an error
	if n := b.notification; n != nil {
		n = clone(n)
		out.QueueConfigurations = n.QueueConfigurations
		out.TopicConfigurations = n.TopicConfigurations
		out.LambdaFunctionConfigurations = n.LambdaFunctionConfigurations
		out.EventBridgeConfiguration = n.EventBridgeConfiguration
	}
	return out, nil
}

func (f *fakeS3) PutBucketNotificationConfiguration(_ context.Context, in *s3.PutBucketNotificationConfigurationInput, _ ...func(*s3.Options)) (*s3.PutBucketNotificationConfigurationOutput, error) {
	if err := f.enter("PutBucketNotificationConfiguration"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	b.notification = clone(in.NotificationConfiguration)
	return &s3.PutBucketNotificationConfigurationOutput{}, nil
}

func (f *fakeS3) GetObjectLockConfiguration(_ context.Context, in *s3.GetObjectLockConfigurationInput, _ ...func(*s3.Options)) (*s3.GetObjectLockConfigurationOutput, error) {
	if err := f.enter("GetObjectLockConfiguration"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	if !b.objectLock {
		return nil, apiErr("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket")
	}
	return &s3.GetObjectLockConfigurationOutput{ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled}}, nil
}

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if err := f.enter("ListObjectsV2"); err != nil {
		return nil, err
	}
	b, err := f.own(in.Bucket)
	if err != nil {
		return nil, err
	}
	out := &s3.ListObjectsV2Output{}
	for _, k := range b.objects {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) && (in.MaxKeys == nil || int32(len(out.Contents)) < *in.MaxKeys) {
			out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k)})
		}
	}
	return out, nil
}

// --- KMS --------------------------------------------------------------------------

type fakeKey struct {
	meta     kmstypes.KeyMetadata
	policy   string
	rotation bool
	tags     []kmstypes.Tag
	// denied models a key policy that does not delegate to IAM and does not name the
	// provisioner: every call on the key is AccessDeniedException (ListKeys still lists it).
	denied bool
}

// fakeKMS is KMS in one account and region.
type fakeKMS struct {
	keyAPI // nil: a call the fake does not implement panics
	fakeBase
	region   string
	keys     map[string]*fakeKey // by key ID
	order    []string            // key IDs in creation order, as ListKeys lists them
	aliases  map[string]string   // alias name → key ID
	pageSize int                 // ListKeys page size; 0 lists all keys in one page
}

// resolve finds a key by ID, key ARN, alias name or alias ARN, as KMS does.
func (f *fakeKMS) resolve(id *string) (*fakeKey, error) {
	s := aws.ToString(id)
	if i := strings.Index(s, ":alias/"); strings.HasPrefix(s, "arn:") && i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "alias/") {
		s = f.aliases[s]
	}
	if i := strings.Index(s, ":key/"); strings.HasPrefix(s, "arn:") && i >= 0 {
		if !strings.HasPrefix(s, "arn:aws:kms:"+f.region+":"+f.account+":") {
			return nil, apiErr("NotFoundException", "Invalid arn "+s)
		}
		s = s[i+len(":key/"):]
	}
	k := f.keys[s]
	if k == nil {
		return nil, apiErr("NotFoundException", fmt.Sprintf("Key '%s' does not exist", aws.ToString(id)))
	}
	if k.denied {
		return nil, apiErr("AccessDeniedException", "User: arn:aws:sts::"+f.account+":assumed-role/s3crr-provisioner/s3crr-test is not authorized to perform this operation on "+aws.ToString(k.meta.Arn)+" because no resource-based policy allows it")
	}
	return k, nil
}

// addKey puts a key into the fake directly (the owner's key, or one from an earlier run)
// and returns its ARN. edit may change its metadata before it is stored.
func (f *fakeKMS) addKey(edit func(*fakeKey)) string {
	n := len(f.order) + 1
	id := fmt.Sprintf("%08d-0000-4000-8000-%012d", n, n)
	arn := "arn:aws:kms:" + f.region + ":" + f.account + ":key/" + id
	k := &fakeKey{
		meta: kmstypes.KeyMetadata{
			KeyId: aws.String(id), Arn: aws.String(arn), AWSAccountId: aws.String(f.account),
			KeyManager: kmstypes.KeyManagerTypeCustomer, KeyState: kmstypes.KeyStateEnabled, Enabled: true,
			KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt,
			CreationDate: aws.Time(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		},
		policy: string(policy.DefaultKeyPolicy(f.account).JSON()),
	}
	if edit != nil {
		edit(k)
	}
	f.keys[id] = k
	f.order = append(f.order, id)
	return arn
}

// alias points alias at the key with arn, in the fake directly.
func (f *fakeKMS) alias(alias, arn string) {
	k, err := f.resolve(aws.String(arn))
	if err != nil {
		panic(err)
	}
	f.aliases[alias] = aws.ToString(k.meta.KeyId)
}

// key returns a key's state by any of its names, or nil.
func (f *fakeKMS) key(id string) *fakeKey {
	k, _ := f.resolve(aws.String(id))
	return k
}

// aliasTarget returns the ARN of the key an alias points to, or "".
func (f *fakeKMS) aliasTarget(alias string) string {
	if id, ok := f.aliases[alias]; ok {
		return aws.ToString(f.keys[id].meta.Arn)
	}
	return ""
}

func (f *fakeKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	if err := f.enter("DescribeKey"); err != nil {
		return nil, err
	}
	k, err := f.resolve(in.KeyId)
	if err != nil {
		return nil, err
	}
	meta := clone(k.meta)
	return &kms.DescribeKeyOutput{KeyMetadata: &meta}, nil
}

func (f *fakeKMS) CreateKey(_ context.Context, in *kms.CreateKeyInput, _ ...func(*kms.Options)) (*kms.CreateKeyOutput, error) {
	if err := f.enter("CreateKey"); err != nil {
		return nil, err
	}
	arn := f.addKey(func(k *fakeKey) {
		k.meta.Description = in.Description
		if in.KeySpec != "" {
			k.meta.KeySpec = in.KeySpec
		}
		if in.KeyUsage != "" {
			k.meta.KeyUsage = in.KeyUsage
		}
		if in.Policy != nil {
			k.policy = aws.ToString(in.Policy)
		}
		k.tags = clone(in.Tags)
	})
	meta := clone(f.key(arn).meta)
	return &kms.CreateKeyOutput{KeyMetadata: &meta}, nil
}

func (f *fakeKMS) CreateAlias(_ context.Context, in *kms.CreateAliasInput, _ ...func(*kms.Options)) (*kms.CreateAliasOutput, error) {
	if err := f.enter("CreateAlias"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.AliasName)
	if _, ok := f.aliases[name]; ok {
		return nil, apiErr("AlreadyExistsException", "An alias with the name "+name+" already exists")
	}
	k, err := f.resolve(in.TargetKeyId)
	if err != nil {
		return nil, err
	}
	f.aliases[name] = aws.ToString(k.meta.KeyId)
	return &kms.CreateAliasOutput{}, nil
}

func (f *fakeKMS) ListKeys(_ context.Context, in *kms.ListKeysInput, _ ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	if err := f.enter("ListKeys"); err != nil {
		return nil, err
	}
	start := 0
	if in.Marker != nil {
		if _, err := fmt.Sscan(aws.ToString(in.Marker), &start); err != nil {
			return nil, apiErr("InvalidMarkerException", "bad marker")
		}
	}
	end := len(f.order)
	if f.pageSize > 0 && start+f.pageSize < end {
		end = start + f.pageSize
	}
	out := &kms.ListKeysOutput{}
	for _, id := range f.order[start:end] {
		out.Keys = append(out.Keys, kmstypes.KeyListEntry{KeyId: aws.String(id), KeyArn: f.keys[id].meta.Arn})
	}
	if end < len(f.order) {
		out.Truncated = true
		out.NextMarker = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

func (f *fakeKMS) ListResourceTags(_ context.Context, in *kms.ListResourceTagsInput, _ ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error) {
	if err := f.enter("ListResourceTags"); err != nil {
		return nil, err
	}
	k, err := f.resolve(in.KeyId)
	if err != nil {
		return nil, err
	}
	return &kms.ListResourceTagsOutput{Tags: clone(k.tags)}, nil
}

func (f *fakeKMS) GetKeyPolicy(_ context.Context, in *kms.GetKeyPolicyInput, _ ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	if err := f.enter("GetKeyPolicy"); err != nil {
		return nil, err
	}
	k, err := f.resolve(in.KeyId)
	if err != nil {
		return nil, err
	}
	return &kms.GetKeyPolicyOutput{Policy: aws.String(k.policy), PolicyName: aws.String("default")}, nil
}

func (f *fakeKMS) PutKeyPolicy(_ context.Context, in *kms.PutKeyPolicyInput, _ ...func(*kms.Options)) (*kms.PutKeyPolicyOutput, error) {
	if err := f.enter("PutKeyPolicy"); err != nil {
		return nil, err
	}
	k, err := f.resolve(in.KeyId)
	if err != nil {
		return nil, err
	}
	if _, err := policy.ParseDocument([]byte(aws.ToString(in.Policy))); err != nil {
		return nil, apiErr("MalformedPolicyDocumentException", "The policy is not valid JSON")
	}
	k.policy = aws.ToString(in.Policy)
	return &kms.PutKeyPolicyOutput{}, nil
}

func (f *fakeKMS) GetKeyRotationStatus(_ context.Context, in *kms.GetKeyRotationStatusInput, _ ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error) {
	if err := f.enter("GetKeyRotationStatus"); err != nil {
		return nil, err
	}
	k, err := f.resolve(in.KeyId)
	if err != nil {
		return nil, err
	}
	return &kms.GetKeyRotationStatusOutput{KeyRotationEnabled: k.rotation}, nil
}

func (f *fakeKMS) EnableKeyRotation(_ context.Context, in *kms.EnableKeyRotationInput, _ ...func(*kms.Options)) (*kms.EnableKeyRotationOutput, error) {
	if err := f.enter("EnableKeyRotation"); err != nil {
		return nil, err
	}
	k, err := f.resolve(in.KeyId)
	if err != nil {
		return nil, err
	}
	k.rotation = true
	return &kms.EnableKeyRotationOutput{}, nil
}

// kmsTags builds a KMS tag list from key, value pairs.
func kmsTags(kv ...string) []kmstypes.Tag {
	var out []kmstypes.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, kmstypes.Tag{TagKey: aws.String(kv[i]), TagValue: aws.String(kv[i+1])})
	}
	return out
}

// --- IAM --------------------------------------------------------------------------

type fakeRole struct {
	role   iamtypes.Role     // AssumeRolePolicyDocument kept URL-encoded, as IAM returns it
	inline map[string]string // policy name → URL-encoded document
}

// fakeIAM is IAM in one account (a global service: one per account, not per region).
type fakeIAM struct {
	roleAPI // nil: a call the fake does not implement panics
	fakeBase
	roles map[string]*fakeRole
}

// addRole puts a role into the fake directly and returns it for further editing.
func (f *fakeIAM) addRole(name, path, trust string, tags map[string]string) *fakeRole {
	r := &fakeRole{role: iamtypes.Role{
		RoleName: aws.String(name), Path: aws.String(path), RoleId: aws.String("AROA" + strings.ToUpper(name)),
		Arn:                      aws.String("arn:aws:iam::" + f.account + ":role" + path + name),
		AssumeRolePolicyDocument: aws.String(url.QueryEscape(trust)),
		CreateDate:               aws.Time(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	}, inline: map[string]string{}}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.role.Tags = append(r.role.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	f.roles[name] = r
	return r
}

func noSuchEntity(name string) error {
	return apiErr("NoSuchEntity", "The role with name "+name+" cannot be found.")
}

func (f *fakeIAM) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	if err := f.enter("GetRole"); err != nil {
		return nil, err
	}
	r := f.roles[aws.ToString(in.RoleName)]
	if r == nil {
		return nil, noSuchEntity(aws.ToString(in.RoleName))
	}
	role := clone(r.role)
	return &iam.GetRoleOutput{Role: &role}, nil
}

func (f *fakeIAM) CreateRole(_ context.Context, in *iam.CreateRoleInput, _ ...func(*iam.Options)) (*iam.CreateRoleOutput, error) {
	if err := f.enter("CreateRole"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.RoleName)
	if f.roles[name] != nil {
		return nil, apiErr("EntityAlreadyExists", "Role with name "+name+" already exists.")
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	r := f.addRole(name, aws.ToString(in.Path), aws.ToString(in.AssumeRolePolicyDocument), tags)
	r.role.Description = in.Description
	if in.PermissionsBoundary != nil {
		r.role.PermissionsBoundary = &iamtypes.AttachedPermissionsBoundary{PermissionsBoundaryArn: in.PermissionsBoundary,
			PermissionsBoundaryType: iamtypes.PermissionsBoundaryAttachmentTypePolicy}
	}
	role := clone(r.role)
	return &iam.CreateRoleOutput{Role: &role}, nil
}

func (f *fakeIAM) UpdateAssumeRolePolicy(_ context.Context, in *iam.UpdateAssumeRolePolicyInput, _ ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error) {
	if err := f.enter("UpdateAssumeRolePolicy"); err != nil {
		return nil, err
	}
	r := f.roles[aws.ToString(in.RoleName)]
	if r == nil {
		return nil, noSuchEntity(aws.ToString(in.RoleName))
	}
	r.role.AssumeRolePolicyDocument = aws.String(url.QueryEscape(aws.ToString(in.PolicyDocument)))
	return &iam.UpdateAssumeRolePolicyOutput{}, nil
}

func (f *fakeIAM) GetRolePolicy(_ context.Context, in *iam.GetRolePolicyInput, _ ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error) {
	if err := f.enter("GetRolePolicy"); err != nil {
		return nil, err
	}
	r := f.roles[aws.ToString(in.RoleName)]
	if r == nil {
		return nil, noSuchEntity(aws.ToString(in.RoleName))
	}
	doc, ok := r.inline[aws.ToString(in.PolicyName)]
	if !ok {
		return nil, apiErr("NoSuchEntity", "The role policy with name "+aws.ToString(in.PolicyName)+" cannot be found.")
	}
	return &iam.GetRolePolicyOutput{RoleName: in.RoleName, PolicyName: in.PolicyName, PolicyDocument: aws.String(doc)}, nil
}

func (f *fakeIAM) PutRolePolicy(_ context.Context, in *iam.PutRolePolicyInput, _ ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error) {
	if err := f.enter("PutRolePolicy"); err != nil {
		return nil, err
	}
	r := f.roles[aws.ToString(in.RoleName)]
	if r == nil {
		return nil, noSuchEntity(aws.ToString(in.RoleName))
	}
	r.inline[aws.ToString(in.PolicyName)] = url.QueryEscape(aws.ToString(in.PolicyDocument))
	return &iam.PutRolePolicyOutput{}, nil
}

// --- STS --------------------------------------------------------------------------

// fakeSTS answers GetCallerIdentity with a settable account, so a test can put the wrong
// account behind a provisioner role.
type fakeSTS struct {
	identityAPI // nil: a call the fake does not implement panics
	fakeBase
	arn    string
	caller string // the account behind the role; "" is the fake's own account
}

func (f *fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if err := f.enter("GetCallerIdentity"); err != nil {
		return nil, err
	}
	caller := f.caller
	if caller == "" {
		caller = f.account
	}
	return &sts.GetCallerIdentityOutput{Account: aws.String(caller), Arn: aws.String(f.arn), UserId: aws.String("AROAPROVISIONER:s3crr")}, nil
}

// --- CloudWatch -------------------------------------------------------------------

// fakeCloudWatch is CloudWatch in one account and region: metric alarms by name.
type fakeCloudWatch struct {
	cloudwatchAPI // nil: a call the fake does not implement panics
	fakeBase
	region string
	alarms map[string]cwtypes.MetricAlarm
}

func (f *fakeCloudWatch) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	if err := f.enter("DescribeAlarms"); err != nil {
		return nil, err
	}
	if len(in.AlarmNames) == 0 {
		panic("the stages describe alarms by name only")
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, n := range in.AlarmNames {
		if a, ok := f.alarms[n]; ok {
			out.MetricAlarms = append(out.MetricAlarms, clone(a))
		}
	}
	return out, nil
}

func (f *fakeCloudWatch) PutMetricAlarm(_ context.Context, in *cloudwatch.PutMetricAlarmInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error) {
	if err := f.enter("PutMetricAlarm"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.AlarmName)
	// PutMetricAlarm replaces the whole alarm, keeping only its state.
	state := cwtypes.StateValueInsufficientData
	if old, ok := f.alarms[name]; ok {
		state = old.StateValue
	}
	f.alarms[name] = clone(cwtypes.MetricAlarm{
		AlarmName:               in.AlarmName,
		AlarmArn:                aws.String("arn:aws:cloudwatch:" + f.region + ":" + f.account + ":alarm:" + name),
		AlarmDescription:        in.AlarmDescription,
		ActionsEnabled:          aws.Bool(in.ActionsEnabled == nil || *in.ActionsEnabled),
		AlarmActions:            in.AlarmActions,
		OKActions:               in.OKActions,
		InsufficientDataActions: in.InsufficientDataActions,
		Namespace:               in.Namespace,
		MetricName:              in.MetricName,
		Metrics:                 in.Metrics,
		Dimensions:              in.Dimensions,
		Statistic:               in.Statistic,
		ExtendedStatistic:       in.ExtendedStatistic,
		Period:                  in.Period,
		Unit:                    in.Unit,
		EvaluationPeriods:       in.EvaluationPeriods,
		DatapointsToAlarm:       in.DatapointsToAlarm,
		Threshold:               in.Threshold,
		ThresholdMetricId:       in.ThresholdMetricId,
		ComparisonOperator:      in.ComparisonOperator,
		TreatMissingData:        in.TreatMissingData,
		StateValue:              state,
	})
	return &cloudwatch.PutMetricAlarmOutput{}, nil
}

// --- SQS --------------------------------------------------------------------------

// fakeSQS is SQS in one account and region: whether MemberStack's events queue exists
// there (it does unless a test removes it).
type fakeSQS struct {
	queueAPI // nil: a call the fake does not implement panics
	fakeBase
	region  string
	noQueue bool
}

func (f *fakeSQS) GetQueueUrl(_ context.Context, in *sqs.GetQueueUrlInput, _ ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	if err := f.enter("GetQueueUrl"); err != nil {
		return nil, err
	}
	if f.noQueue || aws.ToString(in.QueueName) != names.EventsQueueName {
		return nil, &sqstypes.QueueDoesNotExist{Message: aws.String("The specified queue does not exist.")}
	}
	return &sqs.GetQueueUrlOutput{QueueUrl: aws.String("https://sqs." + f.region + ".amazonaws.com/" + f.account + "/" + aws.ToString(in.QueueName))}, nil
}

// --- sessions ---------------------------------------------------------------------

// fakeSide is one endpoint's session: the fakes behind a member.
type fakeSide struct {
	account, region string
	s3              *fakeS3
	kms             *fakeKMS
	iam             *fakeIAM
	sts             *fakeSTS
	cloudwatch      *fakeCloudWatch
	sqs             *fakeSQS
	member          *member
}

// fakeConnector hands out the fake sessions and records the pair IDs it was asked for.
type fakeConnector struct {
	sides   map[string]*fakeSide // by account/region
	pairIDs []string
	err     error
}

func (c *fakeConnector) Connect(_ context.Context, account, region, pairID string) (*member, error) {
	c.pairIDs = append(c.pairIDs, pairID)
	if c.err != nil {
		return nil, c.err
	}
	s := c.sides[account+"/"+region]
	if s == nil {
		return nil, fmt.Errorf("no fake session for %s/%s", account, region)
	}
	return s.member, nil
}

// fakeEnv is a pair's two member accounts as fakes, and a Service using them.
type fakeEnv struct {
	log      *callLog
	world    *fakeS3World
	conn     *fakeConnector
	iams     map[string]*fakeIAM
	src, dst *fakeSide
	svc      *Service
}

// Endpoints of the fake pair: the sample pair's accounts and regions.
const (
	fakeSrcAccount = "111111111111"
	fakeSrcRegion  = "ap-south-1"
	fakeDstAccount = "222222222222"
	fakeDstRegion  = "us-east-1"
)

// newFakeEnv returns empty member accounts for the pair src → dst (account/region each).
func newFakeEnv(t testing.TB) *fakeEnv {
	t.Helper()
	return newFakeEnvFor(t, fakeSrcAccount, fakeSrcRegion, fakeDstAccount, fakeDstRegion)
}

func newFakeEnvFor(t testing.TB, srcAccount, srcRegion, dstAccount, dstRegion string) *fakeEnv {
	t.Helper()
	e := &fakeEnv{log: &callLog{}, world: &fakeS3World{buckets: map[string]*fakeBucket{}},
		conn: &fakeConnector{sides: map[string]*fakeSide{}}, iams: map[string]*fakeIAM{}}
	e.src = e.side(srcAccount, srcRegion)
	e.dst = e.side(dstAccount, dstRegion)
	e.svc = &Service{cfg: Config{ExternalID: "test-external-id"}.WithDefaults(), connect: e.conn}
	return e
}

// side returns (creating once) the fakes of one account and region.
func (e *fakeEnv) side(account, region string) *fakeSide {
	if s := e.conn.sides[account+"/"+region]; s != nil {
		return s
	}
	base := func(service string) fakeBase { return fakeBase{account: account, service: service, log: e.log} }
	roleARN := "arn:aws:iam::" + account + ":role/" + names.ProvisionerRoleName
	if e.iams[account] == nil {
		e.iams[account] = &fakeIAM{fakeBase: base("iam"), roles: map[string]*fakeRole{}}
	}
	s := &fakeSide{account: account, region: region,
		s3:         &fakeS3{fakeBase: base("s3"), region: region, world: e.world},
		kms:        &fakeKMS{fakeBase: base("kms"), region: region, keys: map[string]*fakeKey{}, aliases: map[string]string{}},
		iam:        e.iams[account],
		sts:        &fakeSTS{fakeBase: base("sts"), arn: "arn:aws:sts::" + account + ":assumed-role/" + names.ProvisionerRoleName + "/s3crr-test"},
		cloudwatch: &fakeCloudWatch{fakeBase: base("cloudwatch"), region: region, alarms: map[string]cwtypes.MetricAlarm{}},
		sqs:        &fakeSQS{fakeBase: base("sqs"), region: region},
	}
	s.member = &member{account: account, region: region, roleARN: roleARN, s3: s.s3, kms: s.kms, iam: s.iam, sts: s.sts, cloudwatch: s.cloudwatch, sqs: s.sqs}
	e.conn.sides[account+"/"+region] = s
	return s
}

// bucket returns a bucket's state, failing the test if it does not exist.
func (e *fakeEnv) bucket(t testing.TB, name string) *fakeBucket {
	t.Helper()
	b := e.world.buckets[name]
	if b == nil {
		t.Fatalf("bucket %s does not exist", name)
	}
	return b
}

// addBucket creates a bucket directly in the fakes, as its owner would have.
func (e *fakeEnv) addBucket(s *fakeSide, name string) *fakeBucket {
	b := &fakeBucket{owner: s.account, region: s.region, versioning: s3types.BucketVersioningStatusEnabled,
		encryption: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
		}}}}
	e.world.buckets[name] = b
	return b
}

func (e *fakeEnv) run(t testing.TB, stage, side string, req []byte) (Result, error) {
	t.Helper()
	return e.svc.Run(context.Background(), Event{Stage: stage, Side: side, Request: req})
}

func (e *fakeEnv) plan(t testing.TB, stage, side string, req []byte) (Result, error) {
	t.Helper()
	return e.svc.Run(context.Background(), Event{Stage: stage, Side: side, Request: req, Plan: true})
}

// mustRun runs a stage and fails the test on error.
func (e *fakeEnv) mustRun(t testing.TB, stage, side string, req []byte) Result {
	t.Helper()
	res, err := e.run(t, stage, side, req)
	if err != nil {
		t.Fatalf("%s: %v", stageLabel(stage, side), err)
	}
	return res
}

// applyAll runs every stage and fails the test on error.
func (e *fakeEnv) applyAll(t testing.TB, req []byte) []Result {
	t.Helper()
	res, err := e.svc.Apply(context.Background(), req)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

// applyBefore runs, in order, every stage that comes before stage/side in a full run.
func (e *fakeEnv) applyBefore(t testing.TB, stage, side string, req []byte) {
	t.Helper()
	for _, s := range Stages {
		for _, sd := range s.Sides {
			if s.Name == stage && sd == side {
				return
			}
			e.mustRun(t, s.Name, sd, req)
		}
	}
	t.Fatalf("no stage %s", stageLabel(stage, side))
}

// baseRequest is the sample pair (statemachine/sample-pair.json) before defaults.
func baseRequest() spec.Request {
	return spec.Request{
		PairID:      "payments-archive",
		Source:      spec.Endpoint{Account: fakeSrcAccount, Region: fakeSrcRegion, Bucket: "payments-src", KMSKeyAlias: "alias/s3crr-src"},
		Destination: spec.Endpoint{Account: fakeDstAccount, Region: fakeDstRegion, Bucket: "payments-dst", KMSKeyAlias: "alias/s3crr-dst"},
		Rule:        spec.Rule{StorageClass: "STANDARD", DeleteMarkerReplication: true, ReplicationTimeControl: true, OwnerOverride: true},
	}
}

// requestJSON is baseRequest with edits applied, as the JSON the Lambda receives.
func requestJSON(t testing.TB, edits ...func(*spec.Request)) []byte {
	t.Helper()
	r := baseRequest()
	for _, edit := range edits {
		edit(&r)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parsed is the defaulted request behind a JSON request.
func parsed(t testing.TB, b []byte) spec.Request {
	t.Helper()
	r, err := spec.Parse(b)
	if err != nil {
		t.Fatalf("parse request: %v", err)
	}
	return r
}

// changeActions lists a result's changes as "action resource".
func changeActions(res Result) []string {
	out := []string{}
	for _, c := range res.Changes {
		out = append(out, c.Action)
	}
	return out
}

// statementBySid returns the statement with sid in a policy document, or false.
func statementBySid(t testing.TB, doc string, sid string) (policy.Statement, bool) {
	t.Helper()
	d, err := policy.ParseDocument([]byte(doc))
	if err != nil {
		t.Fatalf("parse policy: %v\n%s", err, doc)
	}
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s, true
		}
	}
	return policy.Statement{}, false
}

// sids lists the Sids of a policy document, in order.
func sids(t testing.TB, doc string) []string {
	t.Helper()
	d, err := policy.ParseDocument([]byte(doc))
	if err != nil {
		t.Fatalf("parse policy: %v\n%s", err, doc)
	}
	var out []string
	for _, s := range d.Statement {
		out = append(out, s.Sid)
	}
	return out
}

// ScheduleKeyDeletion marks the key pending deletion.
func (f *fakeKMS) ScheduleKeyDeletion(_ context.Context, in *kms.ScheduleKeyDeletionInput, _ ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error) {
	if err := f.enter("ScheduleKeyDeletion"); err != nil {
		return nil, err
	}
	k, err := f.resolve(in.KeyId)
	if err != nil {
		return nil, err
	}
	k.meta.KeyState = kmstypes.KeyStatePendingDeletion
	k.meta.Enabled = false
	return &kms.ScheduleKeyDeletionOutput{KeyId: k.meta.Arn}, nil
}
