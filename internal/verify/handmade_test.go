package verify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/spec"
)

// A pair set up by hand following the S3 User Guide's walkthrough for cross-account
// replication of SSE-KMS objects: the documents are written here as a person would, with
// their own Sids, a role at path "/", grants on the whole bucket, and none of s3crr's
// builders. Only what the walkthrough does, so the doctor must accept it as it is.

const (
	handSrcBucket = "hand-made-src"
	handDstBucket = "hand-made-dst"
	handRole      = "crr-hand-role"
	handSrcRegion = "ap-south-1"
	handDstRegion = "us-east-1"
)

type handPair struct {
	srcKey, dstKey, roleARN string
	rolePolicy              string
	dstBucketPolicy         string
}

func (e *localEnv) handMade(t *testing.T) (handPair, spec.Request) {
	t.Helper()
	ctx := t.Context()
	src, dst := localaws.SourceAccount, localaws.DestinationAccount
	var h handPair

	srcS3 := awsclient.S3(e.root(src, handSrcRegion))
	dstS3 := awsclient.S3(e.root(dst, handDstRegion))
	srcKMS := awsclient.KMS(e.root(src, handSrcRegion))
	dstKMS := awsclient.KMS(e.root(dst, handDstRegion))
	srcIAM := awsclient.IAM(e.root(src, handSrcRegion))

	for _, b := range []struct {
		c      *s3.Client
		name   string
		region string
	}{{srcS3, handSrcBucket, handSrcRegion}, {dstS3, handDstBucket, handDstRegion}} {
		in := &s3.CreateBucketInput{Bucket: aws.String(b.name)}
		if b.region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(b.region)}
		}
		must(t, err2(b.c.CreateBucket(ctx, in)))
		must(t, err2(b.c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b.name),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})))
	}
	sk, err := srcKMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("source key, made by hand")})
	must(t, err)
	h.srcKey = aws.ToString(sk.KeyMetadata.Arn)

	h.roleARN = "arn:aws:iam::" + src + ":role/" + handRole
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	must(t, err2(srcIAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(handRole), AssumeRolePolicyDocument: aws.String(trust)})))

	// The destination key: the walkthrough's key policy lets the source account's role
	// encrypt with it, with no conditions.
	dk, err := dstKMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("replica key, made by hand")})
	must(t, err)
	h.dstKey = aws.ToString(dk.KeyMetadata.Arn)
	dstKeyPolicy := jsonDoc(t, map[string]any{"Version": "2012-10-17", "Id": "hand-made", "Statement": []any{
		map[string]any{"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + dst + ":root"}, "Action": "kms:*", "Resource": "*"},
		map[string]any{"Sid": "AllowSourceAccountReplicationRole", "Effect": "Allow", "Principal": map[string]any{"AWS": h.roleARN},
			"Action": []string{"kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"}, "Resource": "*"},
	}})
	must(t, err2(dstKMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(h.dstKey), PolicyName: aws.String("default"), Policy: aws.String(dstKeyPolicy)})))

	h.rolePolicy = jsonDoc(t, map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Sid": "ReadSourceConfig", "Effect": "Allow", "Action": []string{"s3:GetReplicationConfiguration", "s3:ListBucket"}, "Resource": "arn:aws:s3:::" + handSrcBucket},
		map[string]any{"Sid": "ReadSourceObjects", "Effect": "Allow", "Action": []string{"s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"}, "Resource": "arn:aws:s3:::" + handSrcBucket + "/*"},
		map[string]any{"Sid": "WriteReplicas", "Effect": "Allow", "Action": []string{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}, "Resource": "arn:aws:s3:::" + handDstBucket + "/*"},
		map[string]any{"Sid": "DecryptSource", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": h.srcKey, "Condition": map[string]any{
			"StringLike": map[string]any{"kms:ViaService": "s3." + handSrcRegion + ".amazonaws.com", "kms:EncryptionContext:aws:s3:arn": []string{"arn:aws:s3:::" + handSrcBucket + "/*", "arn:aws:s3:::" + handSrcBucket}}}},
		map[string]any{"Sid": "EncryptReplicas", "Effect": "Allow", "Action": []string{"kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"}, "Resource": h.dstKey, "Condition": map[string]any{
			"StringLike": map[string]any{"kms:ViaService": "s3." + handDstRegion + ".amazonaws.com", "kms:EncryptionContext:aws:s3:arn": []string{"arn:aws:s3:::" + handDstBucket + "/*", "arn:aws:s3:::" + handDstBucket}}}},
	}})
	must(t, err2(srcIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(handRole), PolicyName: aws.String("replication"), PolicyDocument: aws.String(h.rolePolicy)})))

	h.dstBucketPolicy = jsonDoc(t, map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Sid": "ReplicaWritesFromSource", "Effect": "Allow", "Principal": map[string]any{"AWS": h.roleARN},
			"Action": []string{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}, "Resource": "arn:aws:s3:::" + handDstBucket + "/*"},
		map[string]any{"Sid": "VersioningFromSource", "Effect": "Allow", "Principal": map[string]any{"AWS": h.roleARN},
			"Action": []string{"s3:GetBucketVersioning", "s3:PutBucketVersioning"}, "Resource": "arn:aws:s3:::" + handDstBucket},
	}})
	must(t, err2(dstS3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(handDstBucket), Policy: aws.String(h.dstBucketPolicy)})))

	must(t, err2(srcS3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(handSrcBucket), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(h.srcKey)}}}}})))
	must(t, err2(srcS3.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(handSrcBucket), ReplicationConfiguration: &s3types.ReplicationConfiguration{
		Role: aws.String(h.roleARN),
		Rules: []s3types.ReplicationRule{{
			ID: aws.String("everything-to-dr"), Priority: aws.Int32(1), Status: s3types.ReplicationRuleStatusEnabled,
			Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
			DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusDisabled},
			SourceSelectionCriteria: &s3types.SourceSelectionCriteria{SseKmsEncryptedObjects: &s3types.SseKmsEncryptedObjects{Status: s3types.SseKmsEncryptedObjectsStatusEnabled}},
			Destination: &s3types.Destination{Bucket: aws.String("arn:aws:s3:::" + handDstBucket), Account: aws.String(dst),
				EncryptionConfiguration: &s3types.EncryptionConfiguration{ReplicaKmsKeyID: aws.String(h.dstKey)}},
		}},
	}})))

	req := mustParse(t, []byte(`{"pairId":"hand-made",
	  "source":{"account":"`+src+`","region":"`+handSrcRegion+`","bucket":"`+handSrcBucket+`","kmsKeyArn":"`+h.srcKey+`"},
	  "destination":{"account":"`+dst+`","region":"`+handDstRegion+`","bucket":"`+handDstBucket+`","kmsKeyArn":"`+h.dstKey+`"}}`))
	return h, req
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func err2[T any](_ T, err error) error { return err }

func jsonDoc(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}

func TestLocalHandMadePairPasses(t *testing.T) {
	env := newLocalEnv(t)
	_, req := env.handMade(t)
	rep := env.doctor(t, req)
	wantClean(t, rep)
	if rep.Managed {
		t.Error("a hand-made pair is reported as s3crr's")
	}
	if rep.RoleARN != "arn:aws:iam::"+localaws.SourceAccount+":role/"+handRole {
		t.Errorf("role %q, want the one the source's replication configuration names", rep.RoleARN)
	}
	// And it does replicate: the check's verdict matches the replication engine's.
	key := "reports/q3.csv"
	out, err := awsclient.S3(env.root(req.Source.Account, req.Source.Region)).PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(req.Source.Bucket), Key: aws.String(key), Body: strings.NewReader("q3")})
	must(t, err)
	must(t, env.srv.WaitIdle(t.Context()))
	if status, code, detail, _ := env.srv.ObjectReplication(req.Source.Bucket, key, aws.ToString(out.VersionId)); status != "COMPLETED" {
		t.Errorf("hand-made pair replication: %s %s %s", status, code, detail)
	}
}

func TestLocalHandMadePairMissingGrantIsNamed(t *testing.T) {
	tests := []struct {
		name   string
		remove func(t *testing.T, env *localEnv, h handPair)
		check  string
		code   string
	}{
		{"destination bucket policy loses ReplicateObject", func(t *testing.T, env *localEnv, h handPair) {
			doc := strings.Replace(h.dstBucketPolicy, `"s3:ReplicateObject",`, "", 1)
			must(t, err2(awsclient.S3(env.root(localaws.DestinationAccount, handDstRegion)).PutBucketPolicy(t.Context(),
				&s3.PutBucketPolicyInput{Bucket: aws.String(handDstBucket), Policy: aws.String(doc)})))
		}, "destination-bucket-policy", "DstPutObjectNotPermitted"},
		{"role policy loses GetObjectVersionForReplication", func(t *testing.T, env *localEnv, h handPair) {
			doc := strings.Replace(h.rolePolicy, `"s3:GetObjectVersionForReplication",`, "", 1)
			must(t, err2(awsclient.IAM(env.root(localaws.SourceAccount, handSrcRegion)).PutRolePolicy(t.Context(),
				&iam.PutRolePolicyInput{RoleName: aws.String(handRole), PolicyName: aws.String("replication"), PolicyDocument: aws.String(doc)})))
		}, "role-policy", "SrcGetObjectNotPermitted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newLocalEnv(t)
			h, req := env.handMade(t)
			tt.remove(t, env, h)
			rep := env.doctor(t, req)
			f := wantFinding(t, rep, tt.check, tt.code)
			t.Logf("%s\n  fix: %s", f, f.Fix)
			key := "after-removal.csv"
			out, err := awsclient.S3(env.root(req.Source.Account, req.Source.Region)).PutObject(t.Context(), &s3.PutObjectInput{
				Bucket: aws.String(req.Source.Bucket), Key: aws.String(key), Body: strings.NewReader("x")})
			must(t, err)
			must(t, env.srv.WaitIdle(t.Context()))
			if status, code, _, _ := env.srv.ObjectReplication(req.Source.Bucket, key, aws.ToString(out.VersionId)); status != "FAILED" || code != tt.code {
				t.Errorf("replication after removal: %s %s, the check predicted %s", status, code, tt.code)
			}
		})
	}
}
