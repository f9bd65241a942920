package verify

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// bucketAPI lists the S3 reads of the checks.
type bucketAPI interface {
	GetBucketVersioning(context.Context, *s3.GetBucketVersioningInput, ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	GetBucketReplication(context.Context, *s3.GetBucketReplicationInput, ...func(*s3.Options)) (*s3.GetBucketReplicationOutput, error)
	GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	GetBucketEncryption(context.Context, *s3.GetBucketEncryptionInput, ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	GetPublicAccessBlock(context.Context, *s3.GetPublicAccessBlockInput, ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	GetBucketNotificationConfiguration(context.Context, *s3.GetBucketNotificationConfigurationInput, ...func(*s3.Options)) (*s3.GetBucketNotificationConfigurationOutput, error)
	GetObjectLockConfiguration(context.Context, *s3.GetObjectLockConfigurationInput, ...func(*s3.Options)) (*s3.GetObjectLockConfigurationOutput, error)
	GetBucketLifecycleConfiguration(context.Context, *s3.GetBucketLifecycleConfigurationInput, ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error)
}

// keyAPI lists the KMS reads of the checks.
type keyAPI interface {
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetKeyPolicy(context.Context, *kms.GetKeyPolicyInput, ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error)
	GetKeyRotationStatus(context.Context, *kms.GetKeyRotationStatusInput, ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
}

// roleAPI lists the IAM reads of the checks, the policy simulator included.
type roleAPI interface {
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListRolePolicies(context.Context, *iam.ListRolePoliciesInput, ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(context.Context, *iam.GetRolePolicyInput, ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	SimulatePrincipalPolicy(context.Context, *iam.SimulatePrincipalPolicyInput, ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error)
}

// alarmAPI lists the CloudWatch reads of the checks.
type alarmAPI interface {
	DescribeAlarms(context.Context, *cloudwatch.DescribeAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

var (
	_ bucketAPI = (*s3.Client)(nil)
	_ keyAPI    = (*kms.Client)(nil)
	_ roleAPI   = (*iam.Client)(nil)
	_ alarmAPI  = (*cloudwatch.Client)(nil)
	_ objectAPI = (*s3.Client)(nil)
)

// Session is read access to one member account and region.
type Session struct {
	account, region string
	s3              bucketAPI
	kms             keyAPI
	iam             roleAPI
	cloudwatch      alarmAPI
	// objects is the canary's object API; only a session of a role allowed to write
	// the canary prefix (the provisioner) succeeds with it.
	objects objectAPI
}

// NewSession returns a Session with cfg's credentials and region.
func NewSession(cfg aws.Config, account string) *Session {
	return &Session{account: account, region: cfg.Region,
		s3: awsclient.S3(cfg), kms: awsclient.KMS(cfg), iam: awsclient.IAM(cfg), cloudwatch: awsclient.CloudWatch(cfg),
		objects: awsclient.S3(cfg)}
}

// Connector opens a read session in a member account and region.
type Connector interface {
	Connect(ctx context.Context, account, region string) (*Session, error)
}

// AuditorConnector reaches member accounts by assuming their auditor role from Base (hub
// credentials) with the deployment's ExternalId.
type AuditorConnector struct {
	Base       aws.Config
	ExternalID string
	// RoleName defaults to names.AuditorRoleName; the canary connects as
	// names.ProvisionerRoleName, the only member role that may write its prefix.
	RoleName string
}

// Connect assumes the auditor role of account, in region.
func (c AuditorConnector) Connect(ctx context.Context, account, region string) (*Session, error) {
	name := c.RoleName
	if name == "" {
		name = names.AuditorRoleName
	}
	roleARN := policy.RoleARN(account, "/", name)
	cfg := awsclient.AssumeRole(c.Base, roleARN, c.ExternalID, name, region)
	// Assume now: a refused AssumeRole is one clear error, not a refusal of every read.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("assume %s: %w", roleARN, err)
	}
	return NewSession(cfg, account), nil
}

// Side is what was read of one side of the pair.
type Side struct {
	Account, Region, Bucket string
	// BucketMissing is true when the bucket does not exist.
	BucketMissing bool
	// Versioning is "Enabled", "Suspended", "" (never enabled) or versioningUnread.
	Versioning string
	// BucketPolicy is nil when the bucket has none.
	BucketPolicy *policy.Document
	// EncryptionKey and BucketKey are the default encryption's KMS key ("" when the
	// default is not SSE-KMS) and its Bucket Key setting; Encryption is the algorithm.
	Encryption, EncryptionKey string
	BucketKey                 bool
	// PublicAccessBlocked is true when all four Block Public Access settings are on.
	PublicAccessBlocked bool
	ObjectLock          bool
	// KeyRef is the key the request names (ARN or alias); Key is what it resolves to,
	// nil when not found.
	KeyRef string
	Key    *Key
	// LifecycleRead is true when the bucket's lifecycle configuration was read (managed
	// pairs); CanaryRule is then the pair's canary rule in it, nil when absent.
	LifecycleRead bool
	CanaryRule    *s3types.LifecycleRule
}

// versioningUnread marks a versioning status the auditor was refused.
const versioningUnread = "unread"

// Key is what was read of a KMS key.
type Key struct {
	ARN      string
	State    string
	Policy   policy.Document
	Rotation bool
}

// Role is what was read of the replication role.
type Role struct {
	ARN    string
	Exists bool
	Trust  policy.Document
	// Inline holds the role's inline policies by name, for the drift checks; attached
	// managed policies and the boundary are judged by the policy simulator, not read.
	Inline map[string]policy.Document
}

// Decision is IAM's policy simulator's answer for one action on one resource.
type Decision struct {
	// Decision is "allowed", "explicitDeny" or "implicitDeny".
	Decision string
	// Matched names the policies whose statements decided.
	Matched []string
}

// Snapshot is everything the checks judge, read at one moment.
type Snapshot struct {
	Request     spec.Request
	Source      Side
	Destination Side
	// Replication is the source's replication configuration, nil when it has none.
	Replication *s3types.ReplicationConfiguration
	// ReplicationUnread is true when the auditor could not read it (a finding says so).
	ReplicationUnread bool
	Role              Role
	// Identity holds the simulator's decisions by probe name and action.
	Identity map[string]Decision
	// QueueConfigIDs are the IDs of the source bucket's queue notifications (managed
	// pairs only).
	QueueConfigIDs []string
	// AlarmFound reports whether the pair's failed-replication alarm exists (managed
	// pairs only).
	AlarmFound bool
	// Denied lists the reads the auditor was refused, as findings.
	Denied []Finding
}

// reader accumulates a snapshot, turning refused reads into findings.
type reader struct {
	ctx  context.Context
	snap *Snapshot
}

// try runs one read: nil error or a not-found error is state; AccessDenied becomes a
// finding naming the call; anything else stops the read.
func (r *reader) try(account, call, what string, err error) (ok bool, notFound bool, fatal error) {
	switch {
	case err == nil:
		return true, false, nil
	case awsclient.IsNotFound(err):
		return false, true, nil
	case awsclient.IsAccessDenied(err):
		r.snap.Denied = append(r.snap.Denied, Finding{
			Check: "read-" + strings.ToLower(call), Kind: KindAccess, Severity: SeverityError, Account: account, Document: what,
			Message: fmt.Sprintf("the auditor role may not call %s on %s: %s", call, what, awsclient.ErrorCode(err)),
			Fix:     "Deploy the MemberStack (it creates " + names.AuditorRoleName + ") or restore its policy, then run the check again.",
		})
		return false, false, nil
	}
	return false, false, fmt.Errorf("%s %s: %w", call, what, err)
}

// Read gathers a pair's snapshot through src and dst (sessions in the source and
// destination accounts and regions). Every call is a read.
func Read(ctx context.Context, req spec.Request, src, dst *Session) (*Snapshot, error) {
	snap := &Snapshot{Request: req, Identity: map[string]Decision{}}
	r := &reader{ctx: ctx, snap: snap}
	snap.Source = Side{Account: req.Source.Account, Region: req.Source.Region, Bucket: req.Source.Bucket, KeyRef: keyRef(req.Source)}
	snap.Destination = Side{Account: req.Destination.Account, Region: req.Destination.Region, Bucket: req.Destination.Bucket, KeyRef: keyRef(req.Destination)}
	if err := r.bucket(src, &snap.Source, true); err != nil {
		return nil, err
	}
	if err := r.bucket(dst, &snap.Destination, false); err != nil {
		return nil, err
	}
	if err := r.key(src, &snap.Source); err != nil {
		return nil, err
	}
	if err := r.key(dst, &snap.Destination); err != nil {
		return nil, err
	}
	if snap.Replication != nil && aws.ToString(snap.Replication.Role) != "" {
		if err := r.role(src, aws.ToString(snap.Replication.Role)); err != nil {
			return nil, err
		}
	}
	if snap.Role.Exists {
		if err := r.simulate(src); err != nil {
			return nil, err
		}
	}
	if snap.Managed() {
		if err := r.signals(src); err != nil {
			return nil, err
		}
		if err := r.lifecycle(src, &snap.Source); err != nil {
			return nil, err
		}
		if err := r.lifecycle(dst, &snap.Destination); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

func keyRef(e spec.Endpoint) string {
	if e.KMSKeyARN != "" {
		return e.KMSKeyARN
	}
	return e.KMSKeyAlias
}

func (r *reader) bucket(s *Session, side *Side, source bool) error {
	b := aws.String(side.Bucket)
	what := "bucket " + side.Bucket
	v, err := s.s3.GetBucketVersioning(r.ctx, &s3.GetBucketVersioningInput{Bucket: b})
	ok, nf, fatal := r.try(s.account, "GetBucketVersioning", what, err)
	if fatal != nil {
		return fatal
	}
	if nf {
		side.BucketMissing = true
		return nil
	}
	if ok {
		side.Versioning = string(v.Status)
	} else {
		side.Versioning = versioningUnread
	}
	if source {
		rc, err := s.s3.GetBucketReplication(r.ctx, &s3.GetBucketReplicationInput{Bucket: b})
		if ok, nf, fatal := r.try(s.account, "GetBucketReplication", what, err); fatal != nil {
			return fatal
		} else if ok {
			r.snap.Replication = rc.ReplicationConfiguration
		} else if !nf {
			r.snap.ReplicationUnread = true
		}
	}
	bp, err := s.s3.GetBucketPolicy(r.ctx, &s3.GetBucketPolicyInput{Bucket: b})
	if ok, _, fatal := r.try(s.account, "GetBucketPolicy", what, err); fatal != nil {
		return fatal
	} else if ok {
		doc, perr := policy.ParseDocument([]byte(aws.ToString(bp.Policy)))
		if perr != nil {
			return fmt.Errorf("parse the bucket policy of %s: %w", side.Bucket, perr)
		}
		side.BucketPolicy = &doc
	}
	enc, err := s.s3.GetBucketEncryption(r.ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	if ok, _, fatal := r.try(s.account, "GetBucketEncryption", what, err); fatal != nil {
		return fatal
	} else if ok && enc.ServerSideEncryptionConfiguration != nil {
		for _, rule := range enc.ServerSideEncryptionConfiguration.Rules {
			if d := rule.ApplyServerSideEncryptionByDefault; d != nil {
				side.Encryption = string(d.SSEAlgorithm)
				side.EncryptionKey = aws.ToString(d.KMSMasterKeyID)
				side.BucketKey = aws.ToBool(rule.BucketKeyEnabled)
			}
		}
	}
	pab, err := s.s3.GetPublicAccessBlock(r.ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	if ok, _, fatal := r.try(s.account, "GetPublicAccessBlock", what, err); fatal != nil {
		return fatal
	} else if ok && pab.PublicAccessBlockConfiguration != nil {
		c := pab.PublicAccessBlockConfiguration
		side.PublicAccessBlocked = aws.ToBool(c.BlockPublicAcls) && aws.ToBool(c.IgnorePublicAcls) && aws.ToBool(c.BlockPublicPolicy) && aws.ToBool(c.RestrictPublicBuckets)
	}
	ol, err := s.s3.GetObjectLockConfiguration(r.ctx, &s3.GetObjectLockConfigurationInput{Bucket: b})
	if ok, _, fatal := r.try(s.account, "GetObjectLockConfiguration", what, err); fatal != nil {
		return fatal
	} else if ok && ol.ObjectLockConfiguration != nil {
		side.ObjectLock = ol.ObjectLockConfiguration.ObjectLockEnabled == s3types.ObjectLockEnabledEnabled
	}
	return nil
}

func (r *reader) key(s *Session, side *Side) error {
	if side.KeyRef == "" {
		return nil
	}
	what := "key " + side.KeyRef
	d, err := s.kms.DescribeKey(r.ctx, &kms.DescribeKeyInput{KeyId: aws.String(side.KeyRef)})
	ok, _, fatal := r.try(s.account, "DescribeKey", what, err)
	if fatal != nil || !ok {
		return fatal
	}
	k := &Key{ARN: aws.ToString(d.KeyMetadata.Arn), State: string(d.KeyMetadata.KeyState)}
	side.Key = k
	what = "key " + k.ARN
	kp, err := s.kms.GetKeyPolicy(r.ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(k.ARN), PolicyName: aws.String("default")})
	if ok, _, fatal := r.try(s.account, "GetKeyPolicy", what, err); fatal != nil {
		return fatal
	} else if ok {
		doc, perr := policy.ParseDocument([]byte(aws.ToString(kp.Policy)))
		if perr != nil {
			return fmt.Errorf("parse the key policy of %s: %w", k.ARN, perr)
		}
		k.Policy = doc
	}
	if k.State != string(kmstypes.KeyStateEnabled) {
		return nil
	}
	rot, err := s.kms.GetKeyRotationStatus(r.ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(k.ARN)})
	if ok, _, fatal := r.try(s.account, "GetKeyRotationStatus", what, err); fatal != nil {
		return fatal
	} else if ok {
		k.Rotation = rot.KeyRotationEnabled
	}
	return nil
}

func (r *reader) role(s *Session, arn string) error {
	role := &r.snap.Role
	role.ARN = arn
	name := arn[strings.LastIndex(arn, "/")+1:]
	what := "role " + arn
	if accountOf(arn) != s.account {
		// A role of another account: S3 only assumes a role of the source bucket's owner.
		return nil
	}
	g, err := s.iam.GetRole(r.ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	ok, _, fatal := r.try(s.account, "GetRole", what, err)
	if fatal != nil || !ok {
		return fatal
	}
	role.Exists = true
	trust, err := decodeIAMDoc(aws.ToString(g.Role.AssumeRolePolicyDocument))
	if err != nil {
		return fmt.Errorf("parse the trust policy of %s: %w", arn, err)
	}
	role.Trust = trust
	lp, err := s.iam.ListRolePolicies(r.ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if ok, _, fatal := r.try(s.account, "ListRolePolicies", what, err); fatal != nil {
		return fatal
	} else if ok {
		role.Inline = map[string]policy.Document{}
		for _, pn := range lp.PolicyNames {
			gp, err := s.iam.GetRolePolicy(r.ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn)})
			if ok, _, fatal := r.try(s.account, "GetRolePolicy", what, err); fatal != nil {
				return fatal
			} else if ok {
				doc, err := decodeIAMDoc(aws.ToString(gp.PolicyDocument))
				if err != nil {
					return fmt.Errorf("parse policy %s of %s: %w", pn, arn, err)
				}
				role.Inline[pn] = doc
			}
		}
	}
	return nil
}

// decodeIAMDoc parses a document as IAM returns it (URL-encoded).
func decodeIAMDoc(s string) (policy.Document, error) {
	if dec, err := url.QueryUnescape(s); err == nil {
		s = dec
	}
	return policy.ParseDocument([]byte(s))
}

// simulate asks IAM's policy simulator every identity-side question of the pair, one
// call per probe (each probe has its own context).
func (r *reader) simulate(s *Session) error {
	for _, p := range probes(r.snap) {
		in := &iam.SimulatePrincipalPolicyInput{
			PolicySourceArn: aws.String(r.snap.Role.ARN),
			ActionNames:     p.actions,
			ResourceArns:    []string{p.resource},
		}
		for _, k := range sortedKeys(p.ctx) {
			in.ContextEntries = append(in.ContextEntries, contextEntry(k, p.ctx[k]))
		}
		out, err := s.iam.SimulatePrincipalPolicy(r.ctx, in)
		if ok, _, fatal := r.try(s.account, "SimulatePrincipalPolicy", "role "+r.snap.Role.ARN, err); fatal != nil {
			return fatal
		} else if !ok {
			return nil
		}
		for _, res := range out.EvaluationResults {
			d := Decision{Decision: string(res.EvalDecision)}
			for _, m := range res.MatchedStatements {
				d.Matched = append(d.Matched, aws.ToString(m.SourcePolicyId))
			}
			r.snap.Identity[p.name+" "+aws.ToString(res.EvalActionName)] = d
		}
	}
	return nil
}

// signals reads what the events stage set up on a managed pair: the source bucket's
// notification to s3crr's queue and the failed-replication alarm.
func (r *reader) signals(s *Session) error {
	what := "bucket " + r.snap.Source.Bucket
	n, err := s.s3.GetBucketNotificationConfiguration(r.ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(r.snap.Source.Bucket)})
	if ok, _, fatal := r.try(s.account, "GetBucketNotificationConfiguration", what, err); fatal != nil {
		return fatal
	} else if ok {
		for _, q := range n.QueueConfigurations {
			r.snap.QueueConfigIDs = append(r.snap.QueueConfigIDs, aws.ToString(q.Id))
		}
	}
	alarm := names.FailedReplicationAlarmName(r.snap.Request.PairID)
	a, err := s.cloudwatch.DescribeAlarms(r.ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{alarm}})
	if ok, _, fatal := r.try(s.account, "DescribeAlarms", "alarm "+alarm, err); fatal != nil {
		return fatal
	} else if ok {
		r.snap.AlarmFound = len(a.MetricAlarms) > 0
	}
	return nil
}

// lifecycle reads a side's lifecycle configuration for the pair's canary rule, the
// backstop that expires what a dead verification left under the canary prefix.
func (r *reader) lifecycle(s *Session, side *Side) error {
	if side.BucketMissing {
		return nil
	}
	out, err := s.s3.GetBucketLifecycleConfiguration(r.ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(side.Bucket)})
	ok, nf, fatal := r.try(s.account, "GetBucketLifecycleConfiguration", "bucket "+side.Bucket, err)
	if fatal != nil || (!ok && !nf) {
		return fatal
	}
	side.LifecycleRead = true
	if ok {
		id := names.CanaryLifecycleRuleID(r.snap.Request.CanaryKeyPrefix())
		for i := range out.Rules {
			if aws.ToString(out.Rules[i].ID) == id {
				side.CanaryRule = &out.Rules[i]
			}
		}
	}
	return nil
}

func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
