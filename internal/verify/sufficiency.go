package verify

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/policy"
)

// Check judges a snapshot: the sufficiency checks always, the drift checks when s3crr
// provisioned the pair. It makes no calls.
func Check(s *Snapshot) Report {
	rep := Report{PairID: s.Request.PairID, Managed: s.Managed(), RoleARN: s.Role.ARN}
	c := &checker{s: s}
	c.add(s.Denied...)
	c.buckets()
	c.rule()
	c.role()
	c.keys()
	if s.Role.Exists {
		for _, p := range probes(s) {
			c.probe(p)
		}
	}
	if rep.Managed {
		c.drift()
	}
	sortFindings(c.out)
	rep.Findings = c.out
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	return rep
}

type checker struct {
	s   *Snapshot
	out []Finding
}

func (c *checker) add(f ...Finding) { c.out = append(c.out, f...) }

func (c *checker) side(name string) *Side {
	if name == sideSource {
		return &c.s.Source
	}
	return &c.s.Destination
}

func (c *checker) buckets() {
	for _, name := range []string{sideSource, sideDestination} {
		sd := c.side(name)
		doc := "bucket " + sd.Bucket
		switch {
		case sd.BucketMissing && name == sideDestination:
			c.add(Finding{Check: "destination-bucket", Kind: KindSufficiency, Severity: SeverityError, Code: "DstBucketNotFound", Account: sd.Account, Document: doc,
				Message: "the destination bucket does not exist", Fix: "Create the bucket (or correct destination.bucket), versioned and encrypted with the destination key."})
			continue
		case sd.BucketMissing:
			c.add(Finding{Check: "source-bucket", Kind: KindSufficiency, Severity: SeverityError, Code: "SrcBucketNotFound", Account: sd.Account, Document: doc,
				Message: "the source bucket does not exist", Fix: "Correct source.bucket."})
			continue
		}
		if sd.Versioning != string(s3types.BucketVersioningStatusEnabled) && sd.Versioning != versioningUnread {
			f := Finding{Check: name + "-versioning", Kind: KindSufficiency, Severity: SeverityError, Account: sd.Account, Document: doc, Statement: "versioning: " + orNone(sd.Versioning),
				Message: fmt.Sprintf("versioning on the %s bucket is %s; replication needs it enabled on both buckets", name, orNone(sd.Versioning)),
				Fix:     fmt.Sprintf("aws s3api put-bucket-versioning --bucket %s --versioning-configuration Status=Enabled", sd.Bucket)}
			if name == sideDestination {
				f.Code = "DstBucketUnversioned"
			}
			c.add(f)
		}
	}
	if c.s.Source.ObjectLock && !c.s.Destination.ObjectLock && !c.s.Destination.BucketMissing {
		c.add(Finding{Check: "object-lock", Kind: KindSufficiency, Severity: SeverityError, Code: "DstBucketObjectLockConfigMissing", Account: c.s.Destination.Account,
			Document: "bucket " + c.s.Destination.Bucket, Statement: "Object Lock",
			Message: "the source bucket has Object Lock and the destination does not, so locked versions cannot replicate",
			Fix:     "Enable Object Lock on the destination bucket (put-object-lock-configuration), or replicate into a bucket created with it."})
	}
}

func orNone(s string) string {
	if s == "" {
		return "never enabled"
	}
	return s
}

func (c *checker) rule() {
	s := c.s
	src := "replication configuration of " + s.Source.Bucket
	if s.Source.BucketMissing || s.ReplicationUnread {
		return
	}
	if s.Replication == nil {
		c.add(Finding{Check: "replication-rule", Kind: KindSufficiency, Severity: SeverityError, Account: s.Source.Account, Document: src,
			Message: "the source bucket has no replication configuration: nothing replicates", Fix: "Apply the pair (crr apply) or put a replication rule to the destination bucket."})
		return
	}
	r := s.Rule()
	if r == nil {
		c.add(Finding{Check: "replication-rule", Kind: KindSufficiency, Severity: SeverityError, Account: s.Source.Account, Document: src,
			Message: fmt.Sprintf("no rule replicates to %s: nothing replicates", policy.BucketARN(s.Destination.Bucket)), Fix: "Apply the pair (crr apply) or add a rule whose destination is the destination bucket."})
		return
	}
	id := "rule " + aws.ToString(r.ID)
	if r.Status != s3types.ReplicationRuleStatusEnabled {
		c.add(Finding{Check: "rule-status", Kind: KindSufficiency, Severity: SeverityError, Account: s.Source.Account, Document: src, Statement: id,
			Message: "the rule is " + string(r.Status), Fix: "Set the rule's Status to Enabled."})
	}
	if r.SourceSelectionCriteria == nil || r.SourceSelectionCriteria.SseKmsEncryptedObjects == nil ||
		r.SourceSelectionCriteria.SseKmsEncryptedObjects.Status != s3types.SseKmsEncryptedObjectsStatusEnabled {
		c.add(Finding{Check: "rule-sse-kms", Kind: KindSufficiency, Severity: SeverityError, Account: s.Source.Account, Document: src, Statement: id,
			Message: "the rule does not select SSE-KMS objects (SourceSelectionCriteria.SseKmsEncryptedObjects): S3 skips every SSE-KMS object",
			Fix:     "Set SourceSelectionCriteria.SseKmsEncryptedObjects.Status to Enabled."})
	}
	replica := ""
	if r.Destination.EncryptionConfiguration != nil {
		replica = aws.ToString(r.Destination.EncryptionConfiguration.ReplicaKmsKeyID)
	}
	switch {
	case replica == "":
		c.add(Finding{Check: "rule-replica-key", Kind: KindSufficiency, Severity: SeverityError, Account: s.Source.Account, Document: src, Statement: id,
			Message: "the rule names no ReplicaKmsKeyID, which S3 requires to replicate SSE-KMS objects", Fix: "Set Destination.EncryptionConfiguration.ReplicaKmsKeyID to the destination key's full ARN."})
	case !strings.HasPrefix(replica, "arn:") || strings.Contains(replica, ":alias/"):
		c.add(Finding{Check: "rule-replica-key", Kind: KindSufficiency, Severity: SeverityError, Code: "DstKmsKeyNotFound", Account: s.Source.Account, Document: src, Statement: "ReplicaKmsKeyID " + replica,
			Message: "ReplicaKmsKeyID is not a key ARN; a key ID or alias is looked up in the source account and region, not the destination's",
			Fix:     "Use the destination key's full key ARN."})
	case s.Destination.Key != nil && replica != s.Destination.Key.ARN:
		c.add(Finding{Check: "rule-replica-key", Kind: KindSufficiency, Severity: SeverityError, Account: s.Source.Account, Document: src, Statement: "ReplicaKmsKeyID " + replica,
			Message: fmt.Sprintf("replicas are encrypted with %s, not the destination key %s", replica, s.Destination.Key.ARN),
			Fix:     "Set ReplicaKmsKeyID to " + s.Destination.Key.ARN + "."})
	}
	c.shadowing(r)
}

// shadowing finds enabled rules to the same destination whose prefix overlaps this one's
// and whose priority is higher: for an object both match, S3 applies only the higher one.
func (c *checker) shadowing(r *s3types.ReplicationRule) {
	mine := rulePrefix(r)
	for i := range c.s.Replication.Rules {
		o := &c.s.Replication.Rules[i]
		if o == r || o.Status != s3types.ReplicationRuleStatusEnabled || o.Destination == nil ||
			aws.ToString(o.Destination.Bucket) != aws.ToString(r.Destination.Bucket) || aws.ToInt32(o.Priority) < aws.ToInt32(r.Priority) {
			continue
		}
		op := rulePrefix(o)
		if !strings.HasPrefix(mine, op) && !strings.HasPrefix(op, mine) {
			continue
		}
		c.add(Finding{Check: "rule-priority", Kind: KindSufficiency, Severity: SeverityWarning, Account: c.s.Source.Account,
			Document: "replication configuration of " + c.s.Source.Bucket, Statement: "rule " + aws.ToString(o.ID),
			Message: fmt.Sprintf("rule %s (priority %d, prefix %q) outranks rule %s (priority %d, prefix %q) for the objects both match; its settings apply to them instead",
				aws.ToString(o.ID), aws.ToInt32(o.Priority), op, aws.ToString(r.ID), aws.ToInt32(r.Priority), mine),
			Fix: "Give the pair's rule the higher priority, or make the prefixes disjoint."})
	}
}

func (c *checker) role() {
	s := c.s
	if s.Replication == nil || s.Rule() == nil {
		return
	}
	arn := aws.ToString(s.Replication.Role)
	doc := "role " + arn
	switch {
	case accountOf(arn) != s.Source.Account:
		c.add(Finding{Check: "replication-role", Kind: KindSufficiency, Severity: SeverityError, Code: "AssumeRoleNotPermitted", Account: s.Source.Account, Document: doc,
			Message: "the replication role is not in the source bucket's account", Fix: "Name a role of account " + s.Source.Account + " in the replication configuration."})
	case !s.Role.Exists && !c.denied("GetRole"):
		c.add(Finding{Check: "replication-role", Kind: KindSufficiency, Severity: SeverityError, Code: "AssumeRoleNotPermitted", Account: s.Source.Account, Document: doc,
			Message: "the replication role does not exist", Fix: "Re-create the role (crr apply re-creates s3crr's), or name an existing one."})
	case s.Role.Exists:
		if ok, deny := evalTrust(s.Role.Trust, "s3.amazonaws.com"); !ok {
			f := Finding{Check: "role-trust", Kind: KindSufficiency, Severity: SeverityError, Code: "AssumeRoleNotPermitted", Account: s.Source.Account, Document: "trust policy of " + arn,
				Message: "the role's trust policy does not let s3.amazonaws.com assume it", Fix: "Allow sts:AssumeRole to the service principal s3.amazonaws.com, without conditions S3 does not send."}
			if deny != "" {
				f.Statement, f.Message = deny, "a Deny in the role's trust policy stops s3.amazonaws.com from assuming it"
			}
			c.add(f)
		}
	}
}

// denied reports whether a read of this call was refused (already a finding).
func (c *checker) denied(call string) bool {
	for _, f := range c.s.Denied {
		if f.Check == "read-"+strings.ToLower(call) {
			return true
		}
	}
	return false
}

func (c *checker) keys() {
	for _, name := range []string{sideSource, sideDestination} {
		sd := c.side(name)
		prefix := "Src"
		if name == sideDestination {
			prefix = "Dst"
		}
		switch {
		case sd.KeyRef == "":
		case sd.Key == nil && !c.denied("DescribeKey"):
			code := prefix + "KmsKeyNotFound"
			if name == sideSource {
				code = "SrcKeyNotFound"
			}
			c.add(Finding{Check: name + "-key", Kind: KindSufficiency, Severity: SeverityError, Code: code, Account: sd.Account, Document: "key " + sd.KeyRef,
				Message: "the " + name + " key does not exist", Fix: "Correct kmsKeyArn/kmsKeyAlias, or apply the pair to create it."})
		case sd.Key != nil && sd.Key.State != string(kmstypes.KeyStateEnabled):
			c.add(Finding{Check: name + "-key-state", Kind: KindSufficiency, Severity: SeverityError, Code: prefix + "KmsKeyInvalidState", Account: sd.Account, Document: "key " + sd.Key.ARN,
				Statement: "KeyState " + sd.Key.State, Message: "the " + name + " key is " + sd.Key.State + ", so S3 cannot use it",
				Fix: "aws kms enable-key --key-id " + sd.Key.ARN + " (or cancel-key-deletion first if it is pending deletion)."})
		}
	}
	if k := c.s.Source.Key; k != nil && c.s.Source.Encryption == string(s3types.ServerSideEncryptionAwsKms) &&
		c.s.Source.EncryptionKey != "" && !sameKey(c.s.Source.EncryptionKey, k.ARN) {
		c.add(Finding{Check: "source-default-key", Kind: KindSufficiency, Severity: SeverityWarning, Account: c.s.Source.Account, Document: "default encryption of " + c.s.Source.Bucket,
			Statement: "KMSMasterKeyID " + c.s.Source.EncryptionKey,
			Message:   "the source bucket's default encryption uses another key than the pair's; objects encrypted with it replicate only if the role may decrypt with that key too",
			Fix:       "Set the default encryption to " + k.ARN + "."})
	}
}

// sameKey compares a key reference from a bucket's default encryption (ARN or key ID)
// with a key ARN.
func sameKey(ref, arn string) bool {
	return ref == arn || strings.HasSuffix(arn, ":key/"+ref)
}
