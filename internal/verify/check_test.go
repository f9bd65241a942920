package verify

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// Unit tests of every check on snapshots built in memory: a healthy managed pair made
// from internal/policy's builders, then one change per case.

const (
	uSrcAcct = "111111111111"
	uDstAcct = "222222222222"
	uSrcKey  = "arn:aws:kms:ap-south-1:111111111111:key/1111aaaa-1111-4111-8111-111111111111"
	uDstKey  = "arn:aws:kms:us-east-1:222222222222:key/2222bbbb-2222-4222-8222-222222222222"
)

func healthy(t *testing.T) *Snapshot {
	t.Helper()
	req, err := spec.Parse([]byte(`{"pairId":"unit","source":{"account":"` + uSrcAcct + `","region":"ap-south-1","bucket":"u-src","kmsKeyArn":"` + uSrcKey + `"},
	  "destination":{"account":"` + uDstAcct + `","region":"us-east-1","bucket":"u-dst","kmsKeyArn":"` + uDstKey + `"},"rule":{"deleteMarkerReplication":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	p := policy.ReplicationParams{PairID: req.PairID, SourceAccount: uSrcAcct, SourceRegion: "ap-south-1", SourceBucket: "u-src", SourceKeyARN: uSrcKey,
		DestinationAccount: uDstAcct, DestinationRegion: "us-east-1", DestinationBucket: "u-dst", DestinationKeyARN: uDstKey, RoleARN: req.ReplicationRoleARN()}
	dstKeyPolicy, _ := policy.Merge(policy.DefaultKeyPolicy(uDstAcct), policy.DestinationKeyStatements(p))
	dstBucket := policy.Document{Version: policy.Version, Statement: policy.DestinationBucketPolicyStatements(p)}
	srcBucket := policy.Document{Version: policy.Version, Statement: policy.SourceBucketStatements(p)}
	s := &Snapshot{
		Request: req,
		Source: Side{Account: uSrcAcct, Region: "ap-south-1", Bucket: "u-src", Versioning: "Enabled", BucketPolicy: &srcBucket,
			Encryption: "aws:kms", EncryptionKey: uSrcKey, BucketKey: true, PublicAccessBlocked: true, KeyRef: uSrcKey,
			Key: &Key{ARN: uSrcKey, State: "Enabled", Policy: policy.DefaultKeyPolicy(uSrcAcct), Rotation: true}},
		Destination: Side{Account: uDstAcct, Region: "us-east-1", Bucket: "u-dst", Versioning: "Enabled", BucketPolicy: &dstBucket,
			Encryption: "aws:kms", EncryptionKey: uDstKey, BucketKey: true, PublicAccessBlocked: true, KeyRef: uDstKey,
			Key: &Key{ARN: uDstKey, State: "Enabled", Policy: dstKeyPolicy, Rotation: true}},
		Replication: &s3types.ReplicationConfiguration{Role: aws.String(req.ReplicationRoleARN()), Rules: []s3types.ReplicationRule{{
			ID: aws.String(req.RuleID()), Priority: aws.Int32(10), Status: s3types.ReplicationRuleStatusEnabled,
			Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
			DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusEnabled},
			SourceSelectionCriteria: &s3types.SourceSelectionCriteria{SseKmsEncryptedObjects: &s3types.SseKmsEncryptedObjects{Status: s3types.SseKmsEncryptedObjectsStatusEnabled}},
			Destination: &s3types.Destination{Bucket: aws.String("arn:aws:s3:::u-dst"), Account: aws.String(uDstAcct),
				EncryptionConfiguration: &s3types.EncryptionConfiguration{ReplicaKmsKeyID: aws.String(uDstKey)}},
		}}},
		Role: Role{ARN: req.ReplicationRoleARN(), Exists: true, Trust: policy.ReplicationTrustPolicy(p),
			Inline: map[string]policy.Document{names.ReplicationPolicyName: policy.ReplicationRolePolicy(p)}},
		Identity:       map[string]Decision{},
		QueueConfigIDs: []string{names.EventsConfigurationID},
		AlarmFound:     true,
	}
	for _, pr := range probes(s) {
		for _, a := range pr.actions {
			s.Identity[pr.name+" "+a] = Decision{Decision: "allowed"}
		}
	}
	for _, sd := range []*Side{&s.Source, &s.Destination} {
		sd.LifecycleRead = true
		sd.CanaryRule = &s3types.LifecycleRule{ID: aws.String(names.CanaryLifecycleRuleID(req.CanaryKeyPrefix())), Status: s3types.ExpirationStatusEnabled,
			Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String(req.CanaryKeyPrefix())}, Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(1)},
			NoncurrentVersionExpiration: &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}}
	}
	return s
}

func TestCheckHealthyManagedPair(t *testing.T) {
	rep := Check(healthy(t))
	if !rep.Managed || len(rep.Findings) != 0 {
		t.Fatalf("managed %t, findings %v; want a managed pair without findings", rep.Managed, rep.Findings)
	}
}

func TestCheckFindings(t *testing.T) {
	tests := []struct {
		name     string
		change   func(s *Snapshot)
		check    string
		code     string
		severity Severity
	}{
		{"source unversioned", func(s *Snapshot) { s.Source.Versioning = "" }, "source-versioning", "", SeverityError},
		{"destination suspended", func(s *Snapshot) { s.Destination.Versioning = "Suspended" }, "destination-versioning", "DstBucketUnversioned", SeverityError},
		{"destination bucket gone", func(s *Snapshot) { s.Destination.BucketMissing = true }, "destination-bucket", "DstBucketNotFound", SeverityError},
		{"no configuration", func(s *Snapshot) { s.Replication = nil }, "replication-rule", "", SeverityError},
		{"rule disabled", func(s *Snapshot) { s.Replication.Rules[0].Status = s3types.ReplicationRuleStatusDisabled }, "rule-status", "", SeverityError},
		{"no SSE-KMS selection", func(s *Snapshot) { s.Replication.Rules[0].SourceSelectionCriteria = nil }, "rule-sse-kms", "", SeverityError},
		{"replica key alias", func(s *Snapshot) {
			s.Replication.Rules[0].Destination.EncryptionConfiguration.ReplicaKmsKeyID = aws.String("alias/dst")
		}, "rule-replica-key", "DstKmsKeyNotFound", SeverityError},
		{"replica key another", func(s *Snapshot) {
			s.Replication.Rules[0].Destination.EncryptionConfiguration.ReplicaKmsKeyID = aws.String("arn:aws:kms:us-east-1:222222222222:key/other")
		}, "rule-replica-key", "", SeverityError},
		{"higher-priority rule", func(s *Snapshot) {
			o := s.Replication.Rules[0]
			o.ID, o.Priority, o.Filter = aws.String("other"), aws.Int32(20), &s3types.ReplicationRuleFilter{Prefix: aws.String("logs/")}
			s.Replication.Rules = append(s.Replication.Rules, o)
		}, "rule-priority", "", SeverityWarning},
		{"role of another account", func(s *Snapshot) { s.Replication.Role = aws.String("arn:aws:iam::999999999999:role/x") }, "replication-role", "AssumeRoleNotPermitted", SeverityError},
		{"role gone", func(s *Snapshot) { s.Role.Exists = false }, "replication-role", "AssumeRoleNotPermitted", SeverityError},
		{"trust without S3", func(s *Snapshot) {
			s.Role.Trust.Statement[0].Principal = policy.ServicePrincipal("lambda.amazonaws.com")
		}, "role-trust", "AssumeRoleNotPermitted", SeverityError},
		{"source key pending deletion", func(s *Snapshot) { s.Source.Key.State = "PendingDeletion" }, "source-key-state", "SrcKmsKeyInvalidState", SeverityError},
		{"destination key gone", func(s *Snapshot) { s.Destination.Key = nil }, "destination-key", "DstKmsKeyNotFound", SeverityError},
		{"object lock on source only", func(s *Snapshot) { s.Source.ObjectLock = true }, "object-lock", "DstBucketObjectLockConfigMissing", SeverityError},
		{"identity implicit deny", func(s *Snapshot) {
			s.Identity["source-objects "+policy.ActGetObjectVersionACL] = Decision{Decision: "implicitDeny"}
		}, "role-policy", "SrcGetAclNotPermitted", SeverityError},
		{"identity explicit deny", func(s *Snapshot) {
			s.Identity["replica-write "+policy.ActReplicateDelete] = Decision{Decision: "explicitDeny", Matched: []string{"lockdown"}}
		}, "role-deny", "DstDelObjNotPermitted", SeverityError},
		{"tags only warn", func(s *Snapshot) {
			s.Identity["replica-write "+policy.ActReplicateTags] = Decision{Decision: "implicitDeny"}
		}, "role-policy", "DstPutTaggingNotPermitted", SeverityWarning},
		{"destination bucket policy gone", func(s *Snapshot) { s.Destination.BucketPolicy = nil }, "destination-bucket-policy", "DstPutObjectNotPermitted", SeverityError},
		{"deny in destination bucket policy", func(s *Snapshot) {
			s.Destination.BucketPolicy.Statement = append(s.Destination.BucketPolicy.Statement, policy.Statement{Sid: "NoSourceAccount", Effect: policy.Deny,
				Principal: policy.AWSPrincipal(uSrcAcct), Action: []string{"s3:Replicate*"}, Resource: []string{"arn:aws:s3:::u-dst/*"}})
		}, "destination-bucket-policy", "DstPutObjectNotPermitted", SeverityError},
		{"destination key statement with another region", func(s *Snapshot) {
			for i, st := range s.Destination.Key.Policy.Statement {
				if st.Condition != nil {
					s.Destination.Key.Policy.Statement[i].Condition = map[string]map[string][]string{"StringEquals": {"kms:ViaService": {"s3.eu-west-1.amazonaws.com"}}}
				}
			}
		}, "destination-key-policy", "DstPutObjectNotPermitted", SeverityError},
		{"unknown operator in key policy", func(s *Snapshot) {
			for i, st := range s.Destination.Key.Policy.Statement {
				if st.Condition != nil {
					s.Destination.Key.Policy.Statement[i].Condition = map[string]map[string][]string{"DateLessThan": {"aws:CurrentTime": {"2030-01-01T00:00:00Z"}}}
				}
			}
		}, "destination-key-policy", "DstPutObjectNotPermitted", SeverityWarning},
		{"source key without delegation or grant", func(s *Snapshot) {
			s.Source.Key.Policy = policy.Document{Version: policy.Version, Statement: []policy.Statement{{Sid: "Admins", Effect: policy.Allow,
				Principal: policy.AWSPrincipal("arn:aws:iam::111111111111:role/admin"), Action: []string{"kms:*"}, Resource: []string{"*"}}}}
		}, "source-key-policy", "SrcGetObjectNotPermitted", SeverityError},
		{"drift: destination key statement edited", func(s *Snapshot) {
			for i, st := range s.Destination.Key.Policy.Statement {
				if st.Condition != nil {
					s.Destination.Key.Policy.Statement[i].Action = append(st.Action, "kms:ReEncryptFrom")
				}
			}
		}, "drift-destination-key-policy", "", SeverityWarning},
		{"drift: rotation off", func(s *Snapshot) { s.Destination.Key.Rotation = false }, "drift-destination-key-rotation", "", SeverityWarning},
		{"drift: default encryption", func(s *Snapshot) { s.Source.Encryption = "AES256" }, "drift-source-encryption", "", SeverityWarning},
		{"drift: public access", func(s *Snapshot) { s.Destination.PublicAccessBlocked = false }, "drift-destination-public-access-block", "", SeverityWarning},
		{"drift: notification", func(s *Snapshot) { s.QueueConfigIDs = []string{"someone-else"} }, "drift-notification", "", SeverityWarning},
		{"drift: alarm", func(s *Snapshot) { s.AlarmFound = false }, "drift-alarm", "", SeverityWarning},
		{"drift: canary lifecycle rule gone", func(s *Snapshot) { s.Destination.CanaryRule = nil }, "drift-destination-canary-lifecycle", "", SeverityWarning},
		{"drift: canary lifecycle rule on another prefix", func(s *Snapshot) { s.Source.CanaryRule.Filter.Prefix = aws.String("logs/") },
			"drift-source-canary-lifecycle", "", SeverityWarning},
		{"drift: canary lifecycle rule disabled", func(s *Snapshot) { s.Source.CanaryRule.Status = s3types.ExpirationStatusDisabled },
			"drift-source-canary-lifecycle", "", SeverityWarning},
		{"drift: TLS deny gone", func(s *Snapshot) { s.Source.BucketPolicy = nil }, "drift-source-bucket-policy", "", SeverityWarning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := healthy(t)
			tt.change(s)
			rep := Check(s)
			f, ok := rep.Has(tt.check)
			if !ok {
				t.Fatalf("no %s finding: %v", tt.check, rep.Findings)
			}
			if f.Code != tt.code || f.Severity != tt.severity {
				t.Errorf("%s: code %q severity %s, want %q %s", f, f.Code, f.Severity, tt.code, tt.severity)
			}
			if f.Fix == "" || f.Account == "" || f.Document == "" {
				t.Errorf("%s lacks its fix, account or document: %+v", tt.check, f)
			}
			if rep.Fails() != (tt.severity == SeverityError) {
				t.Errorf("Fails() = %t with a %s finding", rep.Fails(), tt.severity)
			}
		})
	}
}

// A hand-made pair (other rule ID, role and Sids, wider grants) gets no drift findings.
func TestCheckHandMadeHasNoDrift(t *testing.T) {
	s := healthy(t)
	s.Replication.Rules[0].ID = aws.String("by-hand")
	s.Destination.Key.Rotation = false
	s.AlarmFound = false
	rep := Check(s)
	if rep.Managed || len(rep.Findings) != 0 {
		t.Errorf("managed %t, findings %v; want an unmanaged pair judged on sufficiency only", rep.Managed, rep.Findings)
	}
}

// fakeS3 refuses or answers the calls Read makes; unexpected calls panic.
type fakeS3 struct {
	bucketAPI
	deny map[string]bool
}

func denied() error { return &smithy.GenericAPIError{Code: "AccessDenied", Message: "denied"} }

func (f fakeS3) GetBucketVersioning(context.Context, *s3.GetBucketVersioningInput, ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error) {
	if f.deny["GetBucketVersioning"] {
		return nil, denied()
	}
	return &s3.GetBucketVersioningOutput{Status: s3types.BucketVersioningStatusEnabled}, nil
}

func (f fakeS3) GetBucketReplication(context.Context, *s3.GetBucketReplicationInput, ...func(*s3.Options)) (*s3.GetBucketReplicationOutput, error) {
	if f.deny["GetBucketReplication"] {
		return nil, denied()
	}
	return nil, &smithy.GenericAPIError{Code: "ReplicationConfigurationNotFoundError"}
}

func (f fakeS3) GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "NoSuchBucketPolicy"}
}

func (f fakeS3) GetBucketEncryption(context.Context, *s3.GetBucketEncryptionInput, ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "ServerSideEncryptionConfigurationNotFoundError"}
}

func (f fakeS3) GetPublicAccessBlock(context.Context, *s3.GetPublicAccessBlockInput, ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "NoSuchPublicAccessBlockConfiguration"}
}

func (f fakeS3) GetBucketLifecycleConfiguration(context.Context, *s3.GetBucketLifecycleConfigurationInput, ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error) {
	if f.deny["GetBucketLifecycleConfiguration"] {
		return nil, denied()
	}
	return nil, &smithy.GenericAPIError{Code: "NoSuchLifecycleConfiguration"}
}

func (f fakeS3) GetObjectLockConfiguration(context.Context, *s3.GetObjectLockConfigurationInput, ...func(*s3.Options)) (*s3.GetObjectLockConfigurationOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "ObjectLockConfigurationNotFoundError"}
}

// A refused read is reported as such and is not mistaken for a missing setting.
func TestReadRefusedIsNotMissing(t *testing.T) {
	req := healthy(t).Request
	req.Source.KMSKeyARN, req.Destination.KMSKeyARN = "", ""
	req.Source.KMSKeyAlias, req.Destination.KMSKeyAlias = "", ""
	deny := map[string]bool{"GetBucketVersioning": true, "GetBucketReplication": true}
	src := &Session{account: uSrcAcct, s3: fakeS3{deny: deny}}
	dst := &Session{account: uDstAcct, s3: fakeS3{}}
	snap, err := Read(context.Background(), req, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	rep := Check(snap)
	for _, check := range []string{"read-getbucketversioning", "read-getbucketreplication"} {
		if f, ok := rep.Has(check); !ok || f.Kind != KindAccess || f.Account != uSrcAcct {
			t.Errorf("no access finding %s in the source account: %v", check, rep.Findings)
		}
	}
	for _, check := range []string{"source-versioning", "replication-rule"} {
		if f, ok := rep.Has(check); ok {
			t.Errorf("a refused read was taken for a missing setting: %s", f)
		}
	}
	if len(rep.Findings) != 2 {
		t.Errorf("findings %v, want only the two refused reads", rep.Findings)
	}
}
