package verify

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// severityOf is how much a refused action matters: tags only fail objects that have
// tags, so those are warnings; everything else fails every object.
func severityOf(action string) Severity {
	switch action {
	case policy.ActReplicateTags, policy.ActGetObjectVersionTagging:
		return SeverityWarning
	}
	return SeverityError
}

// probe judges one probe: the role's identity policies (IAM's simulator), then the
// bucket or key policy the request meets.
func (c *checker) probe(p probe) {
	s := c.s
	sd := c.side(p.side)
	who := caller{arn: s.Role.ARN, account: s.Source.Account}
	owner := sd.Account
	var doc *policy.Document
	docName := "bucket policy of " + sd.Bucket
	if p.key {
		docName = "key policy of " + p.resource
		switch {
		case sd.Key != nil && sd.Key.ARN == p.resource:
			doc = &sd.Key.Policy
		default:
			// The rule names a key that is not the destination key read: already an
			// error of its own (rule-replica-key); its policy was not read.
			doc = nil
		}
		owner = accountOf(p.resource)
	} else {
		doc = sd.BucketPolicy
	}
	for _, action := range p.actions {
		code := failureCode(p.purpose, action)
		sev := severityOf(action)
		base := Finding{Kind: KindSufficiency, Severity: sev, Code: code}

		id, simulated := s.Identity[p.name+" "+action]
		identityOK := simulated && id.Decision == "allowed"
		switch {
		case !simulated:
			// The simulation was refused: a read finding says so.
		case id.Decision == "explicitDeny":
			f := base
			f.Check, f.Account, f.Document = "role-deny", s.Source.Account, "policies of role "+s.Role.ARN
			f.Statement = strings.Join(id.Matched, ", ")
			f.Message = fmt.Sprintf("an explicit Deny in the role's policies refuses %s on %s (%s)", action, p.resource, p.name)
			f.Fix = "Remove or narrow the Deny statement in " + f.Statement + "."
			c.add(f)
		case id.Decision != "allowed" && !(p.key && doc != nil && owner == s.Source.Account && evalResourcePolicy(*doc, c.question(who, action, p)).grant == grantDirect):
			// In its own account a key policy naming the role directly suffices
			// without any identity grant; otherwise the role's policies must allow.
			f := base
			f.Check, f.Account, f.Document = "role-policy", s.Source.Account, "policies of role "+s.Role.ARN
			f.Message = fmt.Sprintf("the role's policies do not allow %s on %s with the context S3 sends (%s)", action, p.resource, p.name)
			f.Fix = "Grant " + action + " on " + p.resource + " in the role's policy" + kmsHint(p) + "."
			c.add(f)
		}

		if doc == nil {
			if owner != s.Source.Account && !p.key && !sd.BucketMissing {
				f := base
				f.Check, f.Account, f.Document = p.side+"-bucket-policy", sd.Account, docName
				f.Message = fmt.Sprintf("the destination bucket has no policy, so the source account's role may not %s into it", action)
				f.Fix = "Add a bucket policy statement allowing " + s.Role.ARN + " " + action + " on " + policy.BucketARN(sd.Bucket) + "/*."
				c.add(f)
			}
			continue
		}
		v := evalResourcePolicy(*doc, c.question(who, action, p))
		where := p.side + "-bucket-policy"
		if p.key {
			where = p.side + "-key-policy"
		}
		switch {
		case v.denySid != "":
			f := base
			f.Check, f.Account, f.Document, f.Statement = where, owner, docName, v.denySid
			f.Message = fmt.Sprintf("a Deny in the %s refuses %s to the role (%s)", docName, action, p.name)
			if v.unjudged == v.denySid {
				f.Severity, f.Message = SeverityWarning, fmt.Sprintf("a Deny in the %s has a condition this check cannot evaluate and may refuse %s to the role", docName, action)
			}
			f.Fix = "Remove or narrow statement " + v.denySid + " so that it does not match the replication role."
			c.add(f)
		case v.grant == grantDirect:
		case v.grant == grantAccount && identityOK:
		case owner == s.Source.Account && !p.key:
			// Same account, S3 resource: the identity policy alone suffices.
		case v.grant == grantAccount:
			// Delegation to IAM with no identity grant: the role-policy finding says it.
		default:
			f := base
			f.Check, f.Account, f.Document = where, owner, docName
			if v.unjudged != "" {
				f.Severity, f.Statement = SeverityWarning, v.unjudged
				f.Message = fmt.Sprintf("statement %s of the %s has a condition this check cannot evaluate; it may or may not allow %s to the role", v.unjudged, docName, action)
			} else if p.key {
				f.Message = fmt.Sprintf("the %s neither allows the role %s nor delegates to account %s's IAM policies (%s)", docName, action, who.account, p.name)
			} else {
				f.Message = fmt.Sprintf("the %s does not allow the role %s", docName, action)
			}
			f.Fix = fmt.Sprintf("Add a statement to the %s allowing principal %s %s%s.", docName, s.Role.ARN, action, kmsHint(p))
			c.add(f)
		}
	}
}

func (c *checker) question(who caller, action string, p probe) question {
	return question{who: who, action: action, resource: p.resource, ctx: p.ctx}
}

func kmsHint(p probe) string {
	if !p.key {
		return ""
	}
	return fmt.Sprintf(", with kms:ViaService %s and kms:EncryptionContext:aws:s3:arn covering both the object ARN and the bucket ARN (Bucket Key form)",
		p.ctx[policy.KeyViaService][0])
}

// drift compares a managed pair with what s3crr's builders generate: every statement by
// Sid, and the settings the stages apply.
func (c *checker) drift() {
	s := c.s
	p, ok := c.params()
	if !ok {
		return
	}
	warn := func(check, account, doc, stmt, msg string) {
		c.add(Finding{Check: check, Kind: KindDrift, Severity: SeverityWarning, Account: account, Document: doc, Statement: stmt, Message: msg,
			Fix: "Re-apply the pair (crr apply -f pair.json): the provisioning stages restore what s3crr generated and keep everything else."})
	}
	want := func(check, account, docName string, have *policy.Document, stmts []policy.Statement) {
		for _, st := range stmts {
			if have == nil {
				warn(check, account, docName, st.Sid, "the document s3crr wrote is gone")
				return
			}
			found := false
			for _, h := range have.Statement {
				if h.Sid == st.Sid {
					found = true
					if !policy.StatementsEquivalent(h, st) {
						warn(check, account, docName, st.Sid, "statement "+st.Sid+" differs from what s3crr generated")
					}
				}
			}
			if !found {
				warn(check, account, docName, st.Sid, "statement "+st.Sid+" that s3crr generated is missing")
			}
		}
	}
	if s.Role.Exists {
		if inline, ok := s.Role.Inline[policyNameOfRole]; ok {
			want("drift-role-policy", s.Source.Account, "policy "+policyNameOfRole+" of role "+s.Role.ARN, &inline, policy.ReplicationRolePolicy(p).Statement)
		} else {
			want("drift-role-policy", s.Source.Account, "policy "+policyNameOfRole+" of role "+s.Role.ARN, nil, policy.ReplicationRolePolicy(p).Statement)
		}
		want("drift-role-trust", s.Source.Account, "trust policy of "+s.Role.ARN, &s.Role.Trust, policy.ReplicationTrustPolicy(p).Statement)
	}
	// The destination's grants are shared by every pair into it (policy's shared.go): the
	// pair is fine when the shared statement is as s3crr builds it and admits the pair,
	// or, for a pair provisioned before, when its own per-pair statement is still there.
	shared := func(check, account, docName string, have *policy.Document, legacy []policy.Statement, sid string, build func(policy.Share) policy.Statement) {
		if have != nil {
			if st, ok := policy.Find(*have, sid); ok {
				sh := policy.ShareOf(st)
				switch {
				case !policy.StatementsEquivalent(st, build(sh)):
					warn(check, account, docName, sid, "statement "+sid+" differs from what s3crr generates for the pairs it admits")
				case !sh.Covers(p.SourceAccount, policy.ObjectsARN(p.DestinationBucket, p.Prefix)):
					warn(check, account, docName, sid, fmt.Sprintf("statement %s does not admit this pair (account %s, %s)", sid, p.SourceAccount, policy.ObjectsARN(p.DestinationBucket, p.Prefix)))
				}
				return
			}
		}
		if len(legacy) == 0 {
			warn(check, account, docName, sid, "statement "+sid+" that s3crr generated is missing")
			return
		}
		want(check, account, docName, have, legacy)
	}
	if k := s.Destination.Key; k != nil {
		shared("drift-destination-key-policy", s.Destination.Account, "key policy of "+k.ARN, &k.Policy, policy.DestinationKeyStatements(p),
			policy.SidReplicaEncryptShared, func(sh policy.Share) policy.Statement {
				return policy.SharedReplicaEncryptStatement(p.DestinationRegion, sh)
			})
	}
	if k := s.Source.Key; k != nil && policy.SourceKeyNeedsGrant(k.Policy, p) {
		want("drift-source-key-policy", s.Source.Account, "key policy of "+k.ARN, &k.Policy, policy.SourceKeyStatements(p))
	}
	dstDoc := "bucket policy of " + s.Destination.Bucket
	want("drift-destination-bucket-policy", s.Destination.Account, dstDoc, s.Destination.BucketPolicy, []policy.Statement{policy.DenyInsecureTransport(p.DestinationBucket)})
	shared("drift-destination-bucket-policy", s.Destination.Account, dstDoc, s.Destination.BucketPolicy, policy.DestinationBucketStatements(p),
		policy.SidReplicaWriteShared, func(sh policy.Share) policy.Statement { return policy.SharedReplicaWriteStatement(sh, false) })
	if p.OwnerOverride {
		shared("drift-destination-bucket-policy", s.Destination.Account, dstDoc, s.Destination.BucketPolicy, nil,
			policy.SidOwnerOverrideShared, func(sh policy.Share) policy.Statement { return policy.SharedReplicaWriteStatement(sh, true) })
	}
	want("drift-source-bucket-policy", s.Source.Account, "bucket policy of "+s.Source.Bucket, s.Source.BucketPolicy, policy.SourceBucketStatements(p))
	for _, name := range []string{sideSource, sideDestination} {
		sd := c.side(name)
		if sd.Key != nil && sd.Key.State == "Enabled" && !sd.Key.Rotation {
			warn("drift-"+name+"-key-rotation", sd.Account, "key "+sd.Key.ARN, "rotation", "automatic key rotation is off")
		}
		if sd.Key != nil && (sd.Encryption != "aws:kms" || !sameKey(sd.EncryptionKey, sd.Key.ARN) || sd.BucketKey != s.Request.BucketKeyEnabled()) {
			warn("drift-"+name+"-encryption", sd.Account, "default encryption of "+sd.Bucket, "ServerSideEncryptionConfiguration",
				fmt.Sprintf("default encryption is %s with key %q and Bucket Key %t; s3crr set aws:kms with %s and Bucket Key %t",
					orNone(sd.Encryption), sd.EncryptionKey, sd.BucketKey, sd.Key.ARN, s.Request.BucketKeyEnabled()))
		}
		if !sd.BucketMissing && !sd.PublicAccessBlocked {
			warn("drift-"+name+"-public-access-block", sd.Account, "bucket "+sd.Bucket, "PublicAccessBlock", "Block Public Access is not fully on")
		}
		if sd.LifecycleRead && !canaryRuleWorks(sd.CanaryRule, s.Request.CanaryKeyPrefix()) {
			what := "is missing"
			if sd.CanaryRule != nil {
				what = "no longer expires current and noncurrent versions under " + s.Request.CanaryKeyPrefix()
			}
			warn("drift-"+name+"-canary-lifecycle", sd.Account, "lifecycle configuration of "+sd.Bucket, names.CanaryLifecycleRuleID(s.Request.CanaryKeyPrefix()),
				"the lifecycle rule that expires left-over canaries "+what+": a verification that dies mid-way would leave its canary versions for ever")
		}
	}
	found := false
	for _, id := range s.QueueConfigIDs {
		found = found || id == eventsConfigurationID
	}
	if !found {
		warn("drift-notification", s.Source.Account, "notification configuration of "+s.Source.Bucket, eventsConfigurationID,
			"the s3:Replication:* notification to s3crr's queue is gone, so replication failures are no longer reported")
	}
	if !s.AlarmFound {
		warn("drift-alarm", s.Source.Account, "alarm "+alarmName(s.Request.PairID), "", "the failed-replication alarm is gone")
	}
}

// canaryRuleWorks reports whether the pair's canary lifecycle rule still does its job:
// enabled, on the canary prefix, expiring current and noncurrent versions.
func canaryRuleWorks(r *s3types.LifecycleRule, prefix string) bool {
	return r != nil && r.Status == s3types.ExpirationStatusEnabled && r.Filter != nil && aws.ToString(r.Filter.Prefix) == prefix &&
		r.Filter.Tag == nil && r.Filter.And == nil &&
		r.Expiration != nil && aws.ToInt32(r.Expiration.Days) > 0 && r.NoncurrentVersionExpiration != nil
}

// params is the pair as the builders see it, from what was read.
func (c *checker) params() (policy.ReplicationParams, bool) {
	s := c.s
	r := s.Rule()
	if r == nil || s.Source.Key == nil || s.Destination.Key == nil {
		return policy.ReplicationParams{}, false
	}
	return policy.ReplicationParams{
		PairID:        s.Request.PairID,
		SourceAccount: s.Source.Account, SourceRegion: s.Source.Region, SourceBucket: s.Source.Bucket, SourceKeyARN: s.Source.Key.ARN,
		DestinationAccount: s.Destination.Account, DestinationRegion: s.Destination.Region, DestinationBucket: s.Destination.Bucket,
		DestinationKeyARN: s.Destination.Key.ARN,
		Prefix:            s.Request.Rule.Prefix,
		RoleARN:           aws.ToString(s.Replication.Role),
		OwnerOverride:     r.Destination.AccessControlTranslation != nil,
		ObjectLock:        s.Source.ObjectLock,
	}, true
}

// Names the drift checks look for, spelled once in internal/names.
var (
	policyNameOfRole      = names.ReplicationPolicyName
	eventsConfigurationID = names.EventsConfigurationID
	alarmName             = names.FailedReplicationAlarmName
)
