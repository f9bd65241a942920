package localaws

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const (
	s3A      = SourceAccount
	s3B      = DestinationAccount
	s3Mumbai = "ap-south-1"
	s3East   = "us-east-1"
)

func TestS3CreateBucket(t *testing.T) {
	e := newS3Env(t, Options{})
	e.bucket(s3A, s3Mumbai, "taken-by-a", false)
	e.bucket(s3A, s3East, "legacy-a", false)

	tests := []struct {
		name     string
		account  string
		region   string
		bucket   string
		lc       string // LocationConstraint, "" for none
		wantCode string
	}{
		{name: "mumbai with constraint", account: s3A, region: s3Mumbai, bucket: "new-mumbai", lc: s3Mumbai},
		{name: "us-east-1 without body", account: s3A, region: s3East, bucket: "new-east"},
		{name: "name with upper case", account: s3A, region: s3East, bucket: "Bad-Name", wantCode: "InvalidBucketName"},
		{name: "name too short", account: s3A, region: s3East, bucket: "ab", wantCode: "InvalidBucketName"},
		{name: "name like an IP address", account: s3A, region: s3East, bucket: "192.168.1.1", wantCode: "InvalidBucketName"},
		{name: "double dot", account: s3A, region: s3East, bucket: "a..b", wantCode: "InvalidBucketName"},
		{name: "no constraint outside us-east-1", account: s3A, region: s3Mumbai, bucket: "x-no-lc", wantCode: "IllegalLocationConstraintException"},
		{name: "constraint of another region", account: s3A, region: s3Mumbai, bucket: "x-other-lc", lc: "eu-west-1", wantCode: "IllegalLocationConstraintException"},
		{name: "explicit us-east-1", account: s3A, region: s3East, bucket: "x-explicit-east", lc: "us-east-1", wantCode: "InvalidLocationConstraint"},
		{name: "owned by another account", account: s3B, region: s3Mumbai, bucket: "taken-by-a", lc: s3Mumbai, wantCode: "BucketAlreadyExists"},
		{name: "already owned outside us-east-1", account: s3A, region: s3Mumbai, bucket: "taken-by-a", lc: s3Mumbai, wantCode: "BucketAlreadyOwnedByYou"},
		{name: "already owned in us-east-1 (legacy 200)", account: s3A, region: s3East, bucket: "legacy-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.CreateBucketInput{Bucket: aws.String(tt.bucket)}
			if tt.lc != "" {
				in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(tt.lc)}
			}
			_, err := e.client(tt.account, tt.region).CreateBucket(s3Ctx, in)
			s3WantCode(t, "CreateBucket", err, tt.wantCode)
			if tt.wantCode == "BucketAlreadyExists" || tt.wantCode == "BucketAlreadyOwnedByYou" {
				if st := s3HTTPStatus(err); st != http.StatusConflict {
					t.Errorf("status %d, want 409", st)
				}
			}
		})
	}
	// Typed errors for the two 409s.
	_, err := e.client(s3B, s3Mumbai).CreateBucket(s3Ctx, &s3.CreateBucketInput{Bucket: aws.String("taken-by-a"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3Mumbai}})
	var exists *s3types.BucketAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("BucketAlreadyExists is not typed: %T %v", err, err)
	}
	_, err = e.client(s3A, s3Mumbai).CreateBucket(s3Ctx, &s3.CreateBucketInput{Bucket: aws.String("taken-by-a"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3Mumbai}})
	var owned *s3types.BucketAlreadyOwnedByYou
	if !errors.As(err, &owned) {
		t.Errorf("BucketAlreadyOwnedByYou is not typed: %T %v", err, err)
	}
}

func TestS3BucketDefaultsAndLock(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.client(s3A, s3Mumbai)
	_, err := c.CreateBucket(s3Ctx, &s3.CreateBucketInput{Bucket: aws.String("locked"), ObjectLockEnabledForBucket: aws.Bool(true),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3Mumbai}})
	s3Must(t, "create locked bucket", err)
	e.bucket(s3A, s3Mumbai, "plain", false)

	// New buckets get Block Public Access and BucketOwnerEnforced, as in S3 since 2023.
	pab, err := c.GetPublicAccessBlock(s3Ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("plain")})
	s3Must(t, "GetPublicAccessBlock", err)
	cfg := pab.PublicAccessBlockConfiguration
	if !aws.ToBool(cfg.BlockPublicAcls) || !aws.ToBool(cfg.BlockPublicPolicy) || !aws.ToBool(cfg.IgnorePublicAcls) || !aws.ToBool(cfg.RestrictPublicBuckets) {
		t.Errorf("default public access block = %+v, want all true", cfg)
	}
	own, err := c.GetBucketOwnershipControls(s3Ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("plain")})
	s3Must(t, "GetBucketOwnershipControls", err)
	if got := own.OwnershipControls.Rules[0].ObjectOwnership; got != s3types.ObjectOwnershipBucketOwnerEnforced {
		t.Errorf("default ownership %q", got)
	}

	// Object Lock implies versioning, which cannot then be suspended.
	v, err := c.GetBucketVersioning(s3Ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("locked")})
	s3Must(t, "GetBucketVersioning", err)
	if v.Status != s3types.BucketVersioningStatusEnabled {
		t.Errorf("locked bucket versioning %q, want Enabled", v.Status)
	}
	_, err = c.PutBucketVersioning(s3Ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("locked"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
	s3WantCode(t, "suspend versioning with Object Lock", err, "InvalidBucketState")
	lock, err := c.GetObjectLockConfiguration(s3Ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("locked")})
	s3Must(t, "GetObjectLockConfiguration", err)
	if lock.ObjectLockConfiguration.ObjectLockEnabled != s3types.ObjectLockEnabledEnabled {
		t.Errorf("object lock %+v", lock.ObjectLockConfiguration)
	}
	_, err = c.GetObjectLockConfiguration(s3Ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("plain")})
	s3WantCode(t, "GetObjectLockConfiguration without lock", err, "ObjectLockConfigurationNotFoundError")

	// Versioning of a plain bucket: never enabled reports no status; then Enabled, Suspended.
	v, err = c.GetBucketVersioning(s3Ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("plain")})
	s3Must(t, "GetBucketVersioning", err)
	if v.Status != "" {
		t.Errorf("new bucket versioning %q, want none", v.Status)
	}
	for _, st := range []s3types.BucketVersioningStatus{s3types.BucketVersioningStatusEnabled, s3types.BucketVersioningStatusSuspended} {
		_, err = c.PutBucketVersioning(s3Ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("plain"),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: st, MFADelete: s3types.MFADeleteDisabled}})
		s3Must(t, "PutBucketVersioning", err)
		v, err = c.GetBucketVersioning(s3Ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("plain")})
		s3Must(t, "GetBucketVersioning", err)
		if v.Status != st {
			t.Errorf("versioning %q, want %q", v.Status, st)
		}
	}
}

// TestS3CreateBucketHeaderPermissions: some CreateBucket headers need permissions besides
// s3:CreateBucket ([S3API] CreateBucket, Permissions; docs/aws-facts.md#F-CREATEBUCKET-OBJECT-LOCK).
func TestS3CreateBucketHeaderPermissions(t *testing.T) {
	e := newS3Env(t, Options{})
	grant := func(actions ...string) string {
		return s3PolicyDoc(`{"Effect":"Allow","Action":["` + strings.Join(actions, `","`) + `"],"Resource":"arn:aws:s3:::hdr-*"}`)
	}
	tests := []struct {
		name     string
		actions  []string
		lock     bool
		owner    s3types.ObjectOwnership
		wantCode string
		wantIn   string // the action the denial names
	}{
		{name: "plain create needs only s3:CreateBucket", actions: []string{"s3:CreateBucket"}},
		{name: "Object Lock without s3:PutBucketObjectLockConfiguration", lock: true,
			actions: []string{"s3:CreateBucket", "s3:PutBucketVersioning"}, wantCode: "AccessDenied", wantIn: "s3:PutBucketObjectLockConfiguration"},
		{name: "Object Lock without s3:PutBucketVersioning", lock: true,
			actions: []string{"s3:CreateBucket", "s3:PutBucketObjectLockConfiguration"}, wantCode: "AccessDenied", wantIn: "s3:PutBucketVersioning"},
		{name: "Object Lock with both", lock: true,
			actions: []string{"s3:CreateBucket", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning"}},
		{name: "x-amz-object-ownership without s3:PutBucketOwnershipControls", owner: s3types.ObjectOwnershipBucketOwnerEnforced,
			actions: []string{"s3:CreateBucket"}, wantCode: "AccessDenied", wantIn: "s3:PutBucketOwnershipControls"},
		{name: "x-amz-object-ownership with s3:PutBucketOwnershipControls", owner: s3types.ObjectOwnershipBucketOwnerEnforced,
			actions: []string{"s3:CreateBucket", "s3:PutBucketOwnershipControls"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.as(e.role(s3A, fmt.Sprintf("creator-%d", i), grant(tt.actions...)), s3Mumbai)
			name := fmt.Sprintf("hdr-%d", i)
			in := &s3.CreateBucketInput{Bucket: aws.String(name), ObjectOwnership: tt.owner,
				CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3Mumbai}}
			if tt.lock {
				in.ObjectLockEnabledForBucket = aws.Bool(true)
			}
			_, err := c.CreateBucket(s3Ctx, in)
			if tt.wantCode == "" {
				s3Must(t, "create bucket", err)
				return
			}
			s3WantCode(t, "create bucket", err, tt.wantCode)
			if err != nil && !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("denial %v does not name %s", err, tt.wantIn)
			}
			// Nothing is created when a permission is missing.
			_, herr := e.client(s3A, s3Mumbai).HeadBucket(s3Ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
			if herr == nil {
				t.Errorf("bucket %s exists after a denied CreateBucket", name)
			}
		})
	}
}

func TestS3HeadBucketLocationAndRegions(t *testing.T) {
	e := newS3Env(t, Options{})
	e.bucket(s3A, s3Mumbai, "in-mumbai", false)
	e.bucket(s3A, s3East, "in-east", false)
	a := e.client(s3A, s3Mumbai)

	out, err := a.HeadBucket(s3Ctx, &s3.HeadBucketInput{Bucket: aws.String("in-mumbai")})
	s3Must(t, "HeadBucket", err)
	if aws.ToString(out.BucketRegion) != s3Mumbai {
		t.Errorf("HeadBucket region %q", aws.ToString(out.BucketRegion))
	}

	_, err = a.HeadBucket(s3Ctx, &s3.HeadBucketInput{Bucket: aws.String("no-such-bucket-here")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadBucket of a missing bucket: %v, want *types.NotFound", err)
	}
	// Another account without a bucket policy: 403 without a body.
	_, err = e.client(s3B, s3Mumbai).HeadBucket(s3Ctx, &s3.HeadBucketInput{Bucket: aws.String("in-mumbai")})
	if s3HTTPStatus(err) != http.StatusForbidden {
		t.Errorf("cross-account HeadBucket: %v, want 403", err)
	}
	// Wrong region: 301 with the bucket's region.
	resp, body := e.raw(http.MethodHead, "/in-mumbai", "", s3A, s3East, nil, "")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("x-amz-bucket-region") != s3Mumbai || body != "" {
		t.Errorf("HeadBucket wrong region: %d region=%q body=%q", resp.StatusCode, resp.Header.Get("x-amz-bucket-region"), body)
	}

	tests := []struct {
		name     string
		client   *s3.Client
		bucket   string
		wantCode string
	}{
		{name: "signed for the bucket's region", client: a, bucket: "in-mumbai"},
		{name: "signed for another region", client: e.client(s3A, "eu-west-1"), bucket: "in-mumbai", wantCode: "PermanentRedirect"},
		{name: "us-east-1 bucket from ap-south-1", client: a, bucket: "in-east", wantCode: "PermanentRedirect"},
		{name: "missing bucket", client: a, bucket: "missing-bucket-x", wantCode: "NoSuchBucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.GetBucketVersioning(s3Ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(tt.bucket)})
			s3WantCode(t, "GetBucketVersioning", err, tt.wantCode)
		})
	}
	_, err = a.ListObjectsV2(s3Ctx, &s3.ListObjectsV2Input{Bucket: aws.String("missing-bucket-x")})
	var nsb *s3types.NoSuchBucket
	if !errors.As(err, &nsb) {
		t.Errorf("NoSuchBucket is not typed: %T", err)
	}

	// The right endpoint (by host name) signed for the wrong region: AuthorizationHeaderMalformed.
	resp, body = e.raw(http.MethodGet, "/in-mumbai?versioning", "s3.ap-south-1.amazonaws.com", s3A, s3East, nil, "")
	var ahm struct{ Code, Message, Region string }
	if err := xml.Unmarshal([]byte(body), &ahm); err != nil || resp.StatusCode != http.StatusBadRequest || ahm.Code != "AuthorizationHeaderMalformed" ||
		!strings.Contains(ahm.Message, "the region 'us-east-1' is wrong; expecting 'ap-south-1'") || ahm.Region != s3Mumbai {
		t.Errorf("wrong signing region at the right endpoint: %d %s", resp.StatusCode, body)
	}

	// GetBucketLocation answers from any region; us-east-1 is reported empty.
	for _, tt := range []struct{ bucket, want string }{{"in-mumbai", s3Mumbai}, {"in-east", ""}} {
		loc, err := e.client(s3A, "eu-west-1").GetBucketLocation(s3Ctx, &s3.GetBucketLocationInput{Bucket: aws.String(tt.bucket)})
		s3Must(t, "GetBucketLocation", err)
		if string(loc.LocationConstraint) != tt.want {
			t.Errorf("location of %s = %q, want %q", tt.bucket, loc.LocationConstraint, tt.want)
		}
	}
}

func TestS3ListAndDeleteBuckets(t *testing.T) {
	e := newS3Env(t, Options{})
	a := e.bucket(s3A, s3Mumbai, "a-two", false)
	e.bucket(s3A, s3East, "a-one", false)
	e.bucket(s3B, s3East, "b-one", false)

	out, err := a.ListBuckets(s3Ctx, &s3.ListBucketsInput{})
	s3Must(t, "ListBuckets", err)
	var names []string
	for _, b := range out.Buckets {
		names = append(names, aws.ToString(b.Name)+"@"+aws.ToString(b.BucketRegion))
	}
	if got := strings.Join(names, ","); got != "a-one@us-east-1,a-two@ap-south-1" {
		t.Errorf("ListBuckets = %s", got)
	}
	if aws.ToString(out.Owner.ID) != s3CanonicalID(s3A) {
		t.Errorf("owner %v", aws.ToString(out.Owner.ID))
	}

	_, err = a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("a-two"), Key: aws.String("k"), Body: strings.NewReader("x"),
		ExpectedBucketOwner: aws.String(s3B)})
	s3WantCode(t, "PutObject with another expected owner", err, "AccessDenied")
	_, err = a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("a-two"), Key: aws.String("k"), Body: strings.NewReader("x"),
		ExpectedBucketOwner: aws.String(s3A)})
	s3Must(t, "PutObject", err)
	_, err = a.DeleteBucket(s3Ctx, &s3.DeleteBucketInput{Bucket: aws.String("a-two")})
	s3WantCode(t, "DeleteBucket non-empty", err, "BucketNotEmpty")
	_, err = a.DeleteObject(s3Ctx, &s3.DeleteObjectInput{Bucket: aws.String("a-two"), Key: aws.String("k")})
	s3Must(t, "DeleteObject", err)
	_, err = e.client(s3B, s3Mumbai).DeleteBucket(s3Ctx, &s3.DeleteBucketInput{Bucket: aws.String("a-two")})
	s3WantCode(t, "DeleteBucket by another account", err, "AccessDenied")
	_, err = a.DeleteBucket(s3Ctx, &s3.DeleteBucketInput{Bucket: aws.String("a-two")})
	s3Must(t, "DeleteBucket", err)
	_, err = a.DeleteBucket(s3Ctx, &s3.DeleteBucketInput{Bucket: aws.String("a-two")})
	s3WantCode(t, "DeleteBucket twice", err, "NoSuchBucket")
}

func TestS3PublicAccessBlockOwnershipTagging(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "cfg-bucket", false)
	b := aws.String("cfg-bucket")

	_, err := c.DeletePublicAccessBlock(s3Ctx, &s3.DeletePublicAccessBlockInput{Bucket: b})
	s3Must(t, "DeletePublicAccessBlock", err)
	_, err = c.GetPublicAccessBlock(s3Ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	s3WantCode(t, "GetPublicAccessBlock after delete", err, "NoSuchPublicAccessBlockConfiguration")
	_, err = c.PutPublicAccessBlock(s3Ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(false), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(false)}})
	s3Must(t, "PutPublicAccessBlock", err)
	pab, err := c.GetPublicAccessBlock(s3Ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	s3Must(t, "GetPublicAccessBlock", err)
	if p := pab.PublicAccessBlockConfiguration; !aws.ToBool(p.BlockPublicAcls) || aws.ToBool(p.BlockPublicPolicy) || !aws.ToBool(p.IgnorePublicAcls) || aws.ToBool(p.RestrictPublicBuckets) {
		t.Errorf("public access block %+v", p)
	}

	_, err = c.DeleteBucketOwnershipControls(s3Ctx, &s3.DeleteBucketOwnershipControlsInput{Bucket: b})
	s3Must(t, "DeleteBucketOwnershipControls", err)
	_, err = c.GetBucketOwnershipControls(s3Ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
	s3WantCode(t, "GetBucketOwnershipControls after delete", err, "OwnershipControlsNotFoundError")
	_, err = c.PutBucketOwnershipControls(s3Ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: &s3types.OwnershipControls{
		Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerPreferred}}}})
	s3Must(t, "PutBucketOwnershipControls", err)
	own, err := c.GetBucketOwnershipControls(s3Ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
	s3Must(t, "GetBucketOwnershipControls", err)
	if got := own.OwnershipControls.Rules[0].ObjectOwnership; got != s3types.ObjectOwnershipBucketOwnerPreferred {
		t.Errorf("ownership %q", got)
	}

	_, err = c.GetBucketTagging(s3Ctx, &s3.GetBucketTaggingInput{Bucket: b})
	s3WantCode(t, "GetBucketTagging without tags", err, "NoSuchTagSet")
	_, err = c.PutBucketTagging(s3Ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: aws.String("team"), Value: aws.String("storage")}, {Key: aws.String("team"), Value: aws.String("other")}}}})
	s3WantCode(t, "PutBucketTagging duplicate keys", err, "InvalidTag")
	_, err = c.PutBucketTagging(s3Ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: aws.String("team"), Value: aws.String("storage")}, {Key: aws.String("app"), Value: aws.String("s3crr")}}}})
	s3Must(t, "PutBucketTagging", err)
	tags, err := c.GetBucketTagging(s3Ctx, &s3.GetBucketTaggingInput{Bucket: b})
	s3Must(t, "GetBucketTagging", err)
	if len(tags.TagSet) != 2 || aws.ToString(tags.TagSet[0].Key) != "app" || aws.ToString(tags.TagSet[1].Value) != "storage" {
		t.Errorf("tags %+v", tags.TagSet)
	}
	_, err = c.DeleteBucketTagging(s3Ctx, &s3.DeleteBucketTaggingInput{Bucket: b})
	s3Must(t, "DeleteBucketTagging", err)
	_, err = c.GetBucketTagging(s3Ctx, &s3.GetBucketTaggingInput{Bucket: b})
	s3WantCode(t, "GetBucketTagging after delete", err, "NoSuchTagSet")
}

func TestS3BucketEncryption(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "enc-bucket", false)
	b := aws.String("enc-bucket")

	get := func() s3types.ServerSideEncryptionRule {
		t.Helper()
		out, err := c.GetBucketEncryption(s3Ctx, &s3.GetBucketEncryptionInput{Bucket: b})
		s3Must(t, "GetBucketEncryption", err)
		return out.ServerSideEncryptionConfiguration.Rules[0]
	}
	if r := get(); r.ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Errorf("default encryption %q, want AES256", r.ApplyServerSideEncryptionByDefault.SSEAlgorithm)
	}
	_, err := c.PutBucketEncryption(s3Ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
			SSEAlgorithm: s3types.ServerSideEncryptionAes256, KMSMasterKeyID: aws.String("alias/x")}}}}})
	s3WantCode(t, "AES256 with a KMS key", err, "InvalidArgument")
	_, err = c.PutBucketEncryption(s3Ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{BucketKeyEnabled: aws.Bool(true), ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
			SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("alias/s3crr-src")}}}}})
	s3Must(t, "PutBucketEncryption", err)
	r := get()
	if r.ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms ||
		aws.ToString(r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != "alias/s3crr-src" || !aws.ToBool(r.BucketKeyEnabled) {
		t.Errorf("encryption %+v bucketKey=%v", r.ApplyServerSideEncryptionByDefault, aws.ToBool(r.BucketKeyEnabled))
	}
	_, err = c.DeleteBucketEncryption(s3Ctx, &s3.DeleteBucketEncryptionInput{Bucket: b})
	s3Must(t, "DeleteBucketEncryption", err)
	if r := get(); r.ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 || aws.ToBool(r.BucketKeyEnabled) {
		t.Errorf("after delete: %+v", r.ApplyServerSideEncryptionByDefault)
	}
}
