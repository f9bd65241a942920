package provision

// Merge, never clobber: s3crr's statements, rule, notification and tag go into what the
// owner already has, replacing only what carries s3crr's own Sid, ID or key.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// pairParams is what the policy builders get for the fake pair once its keys exist.
func (e *fakeEnv) pairParams(t *testing.T, req spec.Request) policy.ReplicationParams {
	t.Helper()
	return policy.ReplicationParams{
		PairID: req.PairID, SourceAccount: req.Source.Account, SourceRegion: req.Source.Region, SourceBucket: req.Source.Bucket,
		SourceKeyARN:       e.src.kms.aliasTarget(req.Source.KMSKeyAlias),
		DestinationAccount: req.Destination.Account, DestinationRegion: req.Destination.Region, DestinationBucket: req.Destination.Bucket,
		DestinationKeyARN: e.dst.kms.aliasTarget(req.Destination.KMSKeyAlias),
		Prefix:            req.Rule.Prefix, RoleARN: req.ReplicationRoleARN(),
	}
}

var (
	auditorStatement = policy.Statement{Sid: "AuditorDescribe", Effect: policy.Allow,
		Principal: policy.AWSPrincipal("arn:aws:iam::333333333333:root"), Action: []string{"kms:DescribeKey"}, Resource: []string{"*"}}
	keyAdminStatement = policy.Statement{Sid: "KeyAdmins", Effect: policy.Allow,
		Principal: policy.AWSPrincipal("arn:aws:iam::111111111111:role/KeyAdmin"), Action: []string{"kms:*"}, Resource: []string{"*"}}
	noSidStatement = policy.Statement{Effect: policy.Allow,
		Principal: policy.AWSPrincipal("arn:aws:iam::444444444444:root"), Action: []string{"s3:GetObject"}, Resource: []string{"arn:aws:s3:::payments-dst/public/*"}}
)

// policyJSON renders statements as a policy document.
func policyJSON(st ...policy.Statement) string {
	return string(policy.Document{Version: policy.Version, Statement: st}.JSON())
}

// TestKeyPolicyMerge: statements are merged by Sid, foreign ones kept as they are, ours
// replaced; the source key gets the role's grant only when its policy does not delegate
// to IAM.
func TestKeyPolicyMerge(t *testing.T) {
	root := policy.DefaultKeyPolicy(fakeSrcAccount).Statement[0]
	conditionedRoot := root
	conditionedRoot.Condition = map[string]map[string][]string{"StringEquals": {"aws:PrincipalTag/team": {"payments"}}}
	bareAccountRoot := root
	bareAccountRoot.Principal = policy.AWSPrincipal(fakeSrcAccount)
	bareAccountRoot.Action = []string{"kms:Decrypt", "kms:Describe*"}
	req := parsed(t, requestJSON(t))
	stale := func(sid string) policy.Statement {
		return policy.Statement{Sid: sid, Effect: policy.Allow, Principal: policy.AWSPrincipal(req.ReplicationRoleARN()),
			Action: []string{"kms:Encrypt", "kms:Decrypt"}, Resource: []string{"*"}}
	}
	tests := []struct {
		name      string
		side      string
		give      []policy.Statement // the key policy before
		wantSids  []string           // after, in order
		wantGrant bool               // our statement added or replaced
	}{
		{name: "destination: default policy", side: SideDestination,
			give:     policy.DefaultKeyPolicy(fakeDstAccount).Statement,
			wantSids: []string{policy.DefaultKeyPolicySid, policy.SidReplicaEncryptShared}, wantGrant: true},
		{name: "destination: foreign statement kept, the pair's per-pair statement gives way to the shared grant", side: SideDestination,
			give:     []policy.Statement{policy.DefaultKeyPolicy(fakeDstAccount).Statement[0], stale("S3crrPaymentsArchiveReplicaEncrypt"), auditorStatement},
			wantSids: []string{policy.DefaultKeyPolicySid, "AuditorDescribe", policy.SidReplicaEncryptShared}, wantGrant: true},
		{name: "source: default policy delegates to IAM", side: SideSource,
			give:     policy.DefaultKeyPolicy(fakeSrcAccount).Statement,
			wantSids: []string{policy.DefaultKeyPolicySid}},
		{name: "source: delegation by bare account ID covering Decrypt", side: SideSource,
			give:     []policy.Statement{bareAccountRoot, auditorStatement},
			wantSids: []string{policy.DefaultKeyPolicySid, "AuditorDescribe"}},
		{name: "source: custom policy without delegation", side: SideSource,
			give:     []policy.Statement{keyAdminStatement, auditorStatement},
			wantSids: []string{"KeyAdmins", "AuditorDescribe", "S3crrPaymentsArchiveSourceDecrypt"}, wantGrant: true},
		{name: "source: root statement with a condition is no delegation", side: SideSource,
			give:     []policy.Statement{conditionedRoot},
			wantSids: []string{policy.DefaultKeyPolicySid, "S3crrPaymentsArchiveSourceDecrypt"}, wantGrant: true},
		{name: "source: stale grant replaced", side: SideSource,
			give:     []policy.Statement{keyAdminStatement, stale("S3crrPaymentsArchiveSourceDecrypt")},
			wantSids: []string{"KeyAdmins", "S3crrPaymentsArchiveSourceDecrypt"}, wantGrant: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			reqJSON := requestJSON(t)
			side, alias := env.src, "alias/s3crr-src"
			if tt.side == SideDestination {
				side, alias = env.dst, "alias/s3crr-dst"
			}
			side.kms.alias(alias, side.kms.addKey(func(k *fakeKey) { k.policy = policyJSON(tt.give...); k.rotation = true }))
			env.applyBefore(t, names.StageKeyPolicy, tt.side, reqJSON)
			key := side.kms.key(alias)
			env.log.reset()
			res := env.mustRun(t, names.StageKeyPolicy, tt.side, reqJSON)

			if got := sids(t, key.policy); !slices.Equal(got, tt.wantSids) {
				t.Errorf("Sids = %q, want %q", got, tt.wantSids)
			}
			for _, f := range tt.give {
				if f.Sid == "" || policy.IsOurs(f.Sid) {
					continue
				}
				if got, ok := statementBySid(t, key.policy, f.Sid); !ok || !policy.StatementsEquivalent(got, f) {
					t.Errorf("foreign statement %s changed or lost", f.Sid)
				}
			}
			p := env.pairParams(t, req)
			ours := policy.SourceKeyStatements(p)[0]
			if tt.side == SideDestination {
				ours = policy.SharedReplicaEncryptStatement(p.DestinationRegion, policy.Share{}.With(p.SourceAccount, policy.ObjectsARN(p.DestinationBucket, p.Prefix)))
			}
			got, present := statementBySid(t, key.policy, ours.Sid)
			if tt.wantGrant && (!present || !policy.StatementsEquivalent(got, ours)) {
				t.Errorf("our statement %s missing or not the builder's: %s", ours.Sid, key.policy)
			}
			wantOps := []string{}
			if tt.wantGrant {
				wantOps = []string{side.account + " kms:PutKeyPolicy"}
			}
			if got := env.log.mutating(); !slices.Equal(append([]string{}, got...), wantOps) {
				t.Errorf("mutating calls %q, want %q", got, wantOps)
			}
			if !tt.wantGrant && tt.side == SideSource && !strings.Contains(res.Outputs["note"], "delegates to IAM") {
				t.Errorf("no note on the delegating source key: %v", res.Outputs)
			}
			env.log.reset()
			if again := env.mustRun(t, names.StageKeyPolicy, tt.side, reqJSON); len(again.Changes) != 0 || len(env.log.mutating()) != 0 {
				t.Errorf("re-run changed the key policy again: %q", changeActions(again))
			}
		})
	}
}

// TestBucketPolicyMerge: the destination's shared grant and the TLS-only statement go in
// by Sid, the pair's own per-pair statement of an earlier version gives way to the
// shared grant; foreign statements, with or without Sid, are kept.
func TestBucketPolicyMerge(t *testing.T) {
	req := parsed(t, requestJSON(t))
	grantSid := policy.SidReplicaWriteShared
	staleGrant := policy.Statement{Sid: policy.SidFor(req.PairID, policy.PurposeReplicaWrite), Effect: policy.Allow, Principal: policy.AWSPrincipal(req.ReplicationRoleARN()),
		Action: []string{"s3:ReplicateObject"}, Resource: []string{"arn:aws:s3:::payments-dst/*"}}
	staleTLS := policy.DenyInsecureTransport("payments-dst")
	staleTLS.Resource = []string{"arn:aws:s3:::payments-dst/*"}
	tests := []struct {
		name     string
		stage    string
		give     []policy.Statement
		wantSids []string
		wantPut  bool
	}{
		{name: "bucket stage adds TLS-only to a foreign policy", stage: names.StageBucket,
			give: []policy.Statement{auditorStatement, noSidStatement}, wantSids: []string{"AuditorDescribe", "", policy.SidDenyInsecureTransport}, wantPut: true},
		{name: "bucket stage replaces a stale TLS-only statement", stage: names.StageBucket,
			give: []policy.Statement{staleTLS, auditorStatement}, wantSids: []string{policy.SidDenyInsecureTransport, "AuditorDescribe"}, wantPut: true},
		{name: "grant added, foreign kept", stage: names.StageBucketPolicy,
			give:     []policy.Statement{auditorStatement, policy.DenyInsecureTransport("payments-dst"), noSidStatement},
			wantSids: []string{"AuditorDescribe", policy.SidDenyInsecureTransport, "", grantSid}, wantPut: true},
		{name: "the pair's per-pair grant folded into the shared grant", stage: names.StageBucketPolicy,
			give:     []policy.Statement{staleGrant, auditorStatement, policy.DenyInsecureTransport("payments-dst")},
			wantSids: []string{"AuditorDescribe", policy.SidDenyInsecureTransport, grantSid}, wantPut: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			reqJSON := requestJSON(t)
			b := env.addBucket(env.dst, "payments-dst")
			b.pab = &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}
			b.ownership = &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced}}}
			b.tags = []s3types.Tag{{Key: aws.String(names.PairTagKey(req.PairID)), Value: aws.String(SideDestination)}}
			if tt.stage == names.StageBucketPolicy {
				env.applyBefore(t, names.StageBucketPolicy, SideDestination, reqJSON)
			}
			b.policy = policyJSON(tt.give...)
			env.log.reset()
			env.mustRun(t, tt.stage, SideDestination, reqJSON)
			if got := sids(t, b.policy); !slices.Equal(got, tt.wantSids) {
				t.Errorf("Sids = %q, want %q", got, tt.wantSids)
			}
			d, err := policy.ParseDocument([]byte(b.policy))
			must(t, err)
			for _, f := range tt.give {
				if policy.IsOurs(f.Sid) {
					continue
				}
				if !slices.ContainsFunc(d.Statement, func(s policy.Statement) bool { return policy.StatementsEquivalent(s, f) }) {
					t.Errorf("foreign statement %q changed or lost: %s", f.Sid, b.policy)
				}
			}
			p := env.pairParams(t, req)
			want := policy.DenyInsecureTransport("payments-dst")
			if tt.stage == names.StageBucketPolicy {
				want = policy.SharedReplicaWriteStatement(policy.Share{}.With(p.SourceAccount, policy.ObjectsARN(p.DestinationBucket, p.Prefix)), false)
			}
			if got, ok := statementBySid(t, b.policy, want.Sid); !ok || !policy.StatementsEquivalent(got, want) {
				t.Errorf("%s is not the builder's statement: %s", want.Sid, b.policy)
			}
			if got := env.log.count("PutBucketPolicy"); (got == 1) != tt.wantPut {
				t.Errorf("%d PutBucketPolicy calls, want put %v", got, tt.wantPut)
			}
			env.log.reset()
			env.mustRun(t, tt.stage, SideDestination, reqJSON)
			if m := env.log.mutating(); len(m) != 0 {
				t.Errorf("re-run mutating calls %q", m)
			}
		})
	}
}

// TestReplicationRuleMerge: the pair's rule goes in by ID; other rules are kept as they
// are; a priority clash or another role with other rules is a Conflict; a configuration
// holding only the pair's rule under an old role gets the pair's role.
func TestReplicationRuleMerge(t *testing.T) {
	reqJSON := requestJSON(t)
	req := parsed(t, reqJSON)
	ourRole := req.ReplicationRoleARN()
	ourPriority := aws.ToInt32(req.Rule.Priority)
	type cfg = s3types.ReplicationConfiguration
	tests := []struct {
		name     string
		give     func(ours s3types.ReplicationRule) *cfg
		wantIDs  []string
		wantPut  bool
		wantConf []string // Conflict message parts; nil: no error
	}{
		{name: "no configuration", give: func(s3types.ReplicationRule) *cfg { return nil },
			wantIDs: []string{"s3crr-payments-archive"}, wantPut: true},
		{name: "other rule kept", give: func(s3types.ReplicationRule) *cfg {
			return &cfg{Role: aws.String(ourRole), Rules: []s3types.ReplicationRule{foreignRule("owner-backup", 7)}}
		}, wantIDs: []string{"owner-backup", "s3crr-payments-archive"}, wantPut: true},
		{name: "stale rule replaced in place, other kept", give: func(ours s3types.ReplicationRule) *cfg {
			ours.Destination.StorageClass = s3types.StorageClassGlacier
			return &cfg{Role: aws.String(ourRole), Rules: []s3types.ReplicationRule{ours, foreignRule("owner-backup", 7)}}
		}, wantIDs: []string{"s3crr-payments-archive", "owner-backup"}, wantPut: true},
		{name: "rule disabled by hand is re-enabled", give: func(ours s3types.ReplicationRule) *cfg {
			ours.Status = s3types.ReplicationRuleStatusDisabled
			return &cfg{Role: aws.String(ourRole), Rules: []s3types.ReplicationRule{ours}}
		}, wantIDs: []string{"s3crr-payments-archive"}, wantPut: true},
		{name: "converged with another rule", give: func(ours s3types.ReplicationRule) *cfg {
			return &cfg{Role: aws.String(ourRole), Rules: []s3types.ReplicationRule{foreignRule("owner-backup", 7), ours}}
		}, wantIDs: []string{"owner-backup", "s3crr-payments-archive"}},
		{name: "only ours, under an old role", give: func(ours s3types.ReplicationRule) *cfg {
			return &cfg{Role: aws.String("arn:aws:iam::111111111111:role/old-replication"), Rules: []s3types.ReplicationRule{ours}}
		}, wantIDs: []string{"s3crr-payments-archive"}, wantPut: true},
		{name: "priority clash", give: func(s3types.ReplicationRule) *cfg {
			return &cfg{Role: aws.String(ourRole), Rules: []s3types.ReplicationRule{foreignRule("owner-backup", ourPriority)}}
		}, wantConf: []string{`rule "owner-backup"`, "priority", "fix: set rule.priority"}},
		{name: "another rule in the V1 schema", give: func(s3types.ReplicationRule) *cfg {
			v1 := s3types.ReplicationRule{ID: aws.String("legacy"), Prefix: aws.String("logs/"), Status: s3types.ReplicationRuleStatusEnabled,
				Destination: &s3types.Destination{Bucket: aws.String("arn:aws:s3:::owner-backup")}}
			return &cfg{Role: aws.String(ourRole), Rules: []s3types.ReplicationRule{v1}}
		}, wantConf: []string{`rule "legacy"`, "V1", "fix:"}},
		{name: "another role with other rules", give: func(s3types.ReplicationRule) *cfg {
			return &cfg{Role: aws.String("arn:aws:iam::111111111111:role/owner-replication"), Rules: []s3types.ReplicationRule{foreignRule("owner-backup", 7)}}
		}, wantConf: []string{"role arn:aws:iam::111111111111:role/owner-replication", "fix:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			env.applyBefore(t, names.StageReplication, SideSource, reqJSON)
			// The fake creates the destination BucketOwnerEnforced: no owner override.
			ours := desiredRule(req, env.dst.kms.aliasTarget("alias/s3crr-dst"), false)
			b := env.bucket(t, "payments-src")
			b.replication = tt.give(clone(ours))
			before := clone(b.replication)
			env.log.reset()
			res, err := env.run(t, names.StageReplication, SideSource, reqJSON)
			if tt.wantConf != nil {
				if _, ok := err.(*Conflict); !ok {
					t.Fatalf("err = %v (%T), want *Conflict", err, err)
				}
				for _, w := range tt.wantConf {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("message lacks %q: %v", w, err)
					}
				}
				if !equalJSON(b.replication, before) || len(env.log.mutating()) != 0 {
					t.Error("the configuration was written despite the conflict")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := b.replication
			var ids []string
			for _, r := range got.Rules {
				ids = append(ids, aws.ToString(r.ID))
				if aws.ToString(r.ID) == req.RuleID() {
					if !rulesEqual(r, ours) {
						t.Errorf("our rule %+v is not desiredRule", r)
					}
					continue
				}
				for _, o := range before.Rules {
					if aws.ToString(o.ID) == aws.ToString(r.ID) && !equalJSON(o, r) {
						t.Errorf("rule %s was changed", aws.ToString(r.ID))
					}
				}
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("rule IDs = %q, want %q", ids, tt.wantIDs)
			}
			if aws.ToString(got.Role) != ourRole {
				t.Errorf("role = %s, want %s", aws.ToString(got.Role), ourRole)
			}
			if n := env.log.count("PutBucketReplication"); (n == 1) != tt.wantPut || len(res.Changes) != n {
				t.Errorf("%d puts and %d changes, want put %v", n, len(res.Changes), tt.wantPut)
			}
		})
	}
}

// TestNotificationMerge: the events stage keeps every other notification (topics,
// Lambda functions, other queues, EventBridge) and replaces its own configuration only
// when it differs.
func TestNotificationMerge(t *testing.T) {
	queueARN := "arn:aws:sqs:ap-south-1:111111111111:s3crr-replication-events"
	others := s3types.NotificationConfiguration{
		TopicConfigurations: []s3types.TopicConfiguration{{Id: aws.String("audit-uploads"),
			TopicArn: aws.String("arn:aws:sns:ap-south-1:111111111111:audit"), Events: []s3types.Event{"s3:ObjectCreated:*"}}},
		LambdaFunctionConfigurations: []s3types.LambdaFunctionConfiguration{{Id: aws.String("thumbnails"),
			LambdaFunctionArn: aws.String("arn:aws:lambda:ap-south-1:111111111111:function:thumbs"), Events: []s3types.Event{"s3:ObjectCreated:Put"},
			Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{{Name: s3types.FilterRuleNameSuffix, Value: aws.String(".jpg")}}}}}},
		QueueConfigurations: []s3types.QueueConfiguration{{Id: aws.String("ingest"),
			QueueArn: aws.String("arn:aws:sqs:ap-south-1:111111111111:ingest"), Events: []s3types.Event{"s3:ObjectRemoved:*"}}},
		EventBridgeConfiguration: &s3types.EventBridgeConfiguration{},
	}
	ours := s3types.QueueConfiguration{Id: aws.String(names.EventsConfigurationID), QueueArn: aws.String(queueARN), Events: ReplicationEvents}
	with := func(q s3types.QueueConfiguration) *s3types.NotificationConfiguration {
		n := clone(others)
		n.QueueConfigurations = append(n.QueueConfigurations, q)
		return &n
	}
	tests := []struct {
		name    string
		give    *s3types.NotificationConfiguration
		wantPut bool
	}{
		{name: "none", give: nil, wantPut: true},
		{name: "others kept, ours added", give: func() *s3types.NotificationConfiguration { n := clone(others); return &n }(), wantPut: true},
		{name: "ours with another queue", give: with(s3types.QueueConfiguration{Id: ours.Id, QueueArn: aws.String("arn:aws:sqs:ap-south-1:111111111111:old"), Events: ReplicationEvents}), wantPut: true},
		{name: "ours with fewer events", give: with(s3types.QueueConfiguration{Id: ours.Id, QueueArn: ours.QueueArn, Events: ReplicationEvents[:1]}), wantPut: true},
		{name: "ours with a filter", give: with(s3types.QueueConfiguration{Id: ours.Id, QueueArn: ours.QueueArn, Events: ReplicationEvents,
			Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{{Name: s3types.FilterRuleNamePrefix, Value: aws.String("x/")}}}}}), wantPut: true},
		{name: "ours, events in another order", give: with(s3types.QueueConfiguration{Id: ours.Id, QueueArn: ours.QueueArn,
			Events: []s3types.Event{ReplicationEvents[3], ReplicationEvents[1], ReplicationEvents[2], ReplicationEvents[0]}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			reqJSON := requestJSON(t)
			env.applyBefore(t, names.StageEvents, SideSource, reqJSON)
			b := env.bucket(t, "payments-src")
			b.notification = tt.give
			env.log.reset()
			res := env.mustRun(t, names.StageEvents, SideSource, reqJSON)
			// The stage's alarm is new in these accounts too; only the subscription counts here.
			subscribed := slices.DeleteFunc(changeActions(res), func(a string) bool { return a != "subscribe replication events" })
			if n := env.log.count("PutBucketNotificationConfiguration"); (n == 1) != tt.wantPut || len(subscribed) != n {
				t.Fatalf("%d puts and %d subscription changes, want put %v", n, len(subscribed), tt.wantPut)
			}
			got := b.notification
			if tt.give != nil {
				if !equalJSON(got.TopicConfigurations, tt.give.TopicConfigurations) || !equalJSON(got.LambdaFunctionConfigurations, tt.give.LambdaFunctionConfigurations) ||
					!equalJSON(got.EventBridgeConfiguration, tt.give.EventBridgeConfiguration) {
					t.Errorf("other notifications changed:\n%+v\nwant\n%+v", got, tt.give)
				}
			}
			var mine []s3types.QueueConfiguration
			for _, q := range got.QueueConfigurations {
				if aws.ToString(q.Id) == names.EventsConfigurationID {
					mine = append(mine, q)
				} else if tt.give != nil && !slices.ContainsFunc(tt.give.QueueConfigurations, func(o s3types.QueueConfiguration) bool { return equalJSON(o, q) }) {
					t.Errorf("queue configuration %s changed", aws.ToString(q.Id))
				}
			}
			if len(mine) != 1 || aws.ToString(mine[0].QueueArn) != queueARN || !sameEvents(mine[0].Events, ReplicationEvents) || mine[0].Filter != nil {
				t.Errorf("s3crr's configurations = %+v", mine)
			}
			if tt.give != nil && len(got.QueueConfigurations) != len(tt.give.QueueConfigurations)+btoi(!slices.ContainsFunc(tt.give.QueueConfigurations, func(q s3types.QueueConfiguration) bool {
				return aws.ToString(q.Id) == names.EventsConfigurationID
			})) {
				t.Errorf("%d queue configurations, want the owner's plus one", len(got.QueueConfigurations))
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestEventsStageWarnsWithoutMetrics: with metrics off S3 sends no replication events, and
// the stage says so.
func TestEventsStageWarnsWithoutMetrics(t *testing.T) {
	for _, metrics := range []bool{true, false} {
		env := newFakeEnv(t)
		reqJSON := requestJSON(t, func(r *spec.Request) { r.Rule.Metrics, r.Rule.ReplicationTimeControl = aws.Bool(metrics), false })
		env.applyBefore(t, names.StageEvents, SideSource, reqJSON)
		res := env.mustRun(t, names.StageEvents, SideSource, reqJSON)
		warned := slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "rule.metrics is off") })
		if warned == metrics {
			t.Errorf("metrics %v: warnings %q", metrics, res.Warnings)
		}
	}
}

// TestBucketTagsMerge: an existing bucket gets no per-pair tag (S3 allows 50 per bucket
// and the pairs registry records who uses it); the per-pair tags earlier versions added
// are removed, and a bucket they marked as s3crr's keeps that mark with this pair as its
// creator; every foreign tag is kept (PutBucketTagging replaces the whole set).
func TestBucketTagsMerge(t *testing.T) {
	tag := func(k, v string) s3types.Tag { return s3types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	ours := names.PairTagKey("payments-archive")
	managed := tag(names.ManagedByTagKey, names.ManagedByTagValue)
	tests := []struct {
		name    string
		give    []s3types.Tag
		want    []s3types.Tag
		wantPut bool
	}{
		{name: "no tag set", give: nil, want: nil},
		{name: "foreign tags only", give: []s3types.Tag{tag("team", "payments")}, want: []s3types.Tag{tag("team", "payments")}},
		{name: "legacy per-pair tags removed, foreign kept", give: []s3types.Tag{tag("team", "payments"), tag("s3crr:pair:other-pair", SideDestination), tag(ours, SideSource)},
			want: []s3types.Tag{tag("team", "payments")}, wantPut: true},
		{name: "legacy s3crr bucket keeps its mark with a creator", give: []s3types.Tag{managed, tag(ours, SideSource), tag("s3crr:pair:other-pair", SideDestination)},
			want: []s3types.Tag{managed, tag(names.PairIDTagKey, "payments-archive")}, wantPut: true},
		{name: "converged", give: []s3types.Tag{managed, tag(names.PairIDTagKey, "someone-else"), tag("team", "payments")},
			want: []s3types.Tag{managed, tag(names.PairIDTagKey, "someone-else"), tag("team", "payments")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			b := env.addBucket(env.src, "payments-src")
			b.tags = tt.give
			env.mustRun(t, names.StageBucket, SideSource, requestJSON(t))
			if !equalJSON(b.tags, tt.want) {
				t.Errorf("tags = %v, want %v", tagStrings(b.tags), tagStrings(tt.want))
			}
			if n := env.log.count("PutBucketTagging"); (n == 1) != tt.wantPut {
				t.Errorf("%d PutBucketTagging, want put %v", n, tt.wantPut)
			}
		})
	}
}

func tagStrings(tags []s3types.Tag) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	return out
}

// TestRoleStageRepairsDrift: s3crr's role gets its trust and inline policy back when they
// drifted, and nothing is written when they did not.
func TestRoleStageRepairsDrift(t *testing.T) {
	reqJSON := requestJSON(t)
	req := parsed(t, reqJSON)
	tests := []struct {
		name        string
		give        func(r *fakeRole)
		wantActions []string
	}{
		{name: "converged", give: func(*fakeRole) {}, wantActions: []string{}},
		{name: "trust drifted", give: func(r *fakeRole) {
			r.role.AssumeRolePolicyDocument = aws.String(`%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22batchoperations.s3.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D`)
		}, wantActions: []string{"update trust policy"}},
		{name: "inline policy deleted", give: func(r *fakeRole) { delete(r.inline, names.ReplicationPolicyName) }, wantActions: []string{"put role policy"}},
		{name: "inline policy widened", give: func(r *fakeRole) {
			r.inline[names.ReplicationPolicyName] = `%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D`
		}, wantActions: []string{"put role policy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			env.applyAll(t, reqJSON)
			role := env.iams[fakeSrcAccount].roles[req.ReplicationRoleName()]
			tt.give(role)
			env.log.reset()
			res := env.mustRun(t, names.StageRole, SideSource, reqJSON)
			if got := changeActions(res); !slices.Equal(got, tt.wantActions) {
				t.Errorf("changes = %q, want %q", got, tt.wantActions)
			}
			if len(env.log.mutating()) != len(tt.wantActions) || env.log.count("CreateRole") != 0 {
				t.Errorf("mutating calls %q", env.log.mutating())
			}
			p := env.pairParams(t, req)
			trust, err := policy.ParseIAMDocument(aws.ToString(role.role.AssumeRolePolicyDocument))
			must(t, err)
			inline, err := policy.ParseIAMDocument(role.inline[names.ReplicationPolicyName])
			must(t, err)
			if !policy.Equivalent(trust, policy.ReplicationTrustPolicy(p)) || !policy.Equivalent(inline, policy.ReplicationRolePolicy(p)) {
				t.Errorf("role not repaired:\ntrust %s\npolicy %s", trust, inline)
			}
		})
	}
}

// TestCheckReplicationReportsReadiness: the end-of-run check says ready only when the rule,
// the role and both keys are as the request says, and names what is not.
func TestCheckReplicationReportsReadiness(t *testing.T) {
	reqJSON := requestJSON(t)
	req := parsed(t, reqJSON)
	tests := []struct {
		name       string
		give       func(env *fakeEnv)
		wantReady  string
		wantReason string
	}{
		{name: "provisioned", give: func(*fakeEnv) {}, wantReady: "true", wantReason: "in place"},
		{name: "no configuration", give: func(env *fakeEnv) { env.world.buckets["payments-src"].replication = nil },
			wantReady: "false", wantReason: "no replication configuration"},
		{name: "rule missing", give: func(env *fakeEnv) {
			env.world.buckets["payments-src"].replication.Rules = []s3types.ReplicationRule{foreignRule("owner-backup", 7)}
		}, wantReady: "false", wantReason: "is missing"},
		{name: "rule differs", give: func(env *fakeEnv) {
			env.world.buckets["payments-src"].replication.Rules[0].Destination.StorageClass = s3types.StorageClassGlacier
		}, wantReady: "false", wantReason: "differs from the request"},
		{name: "other role", give: func(env *fakeEnv) {
			env.world.buckets["payments-src"].replication.Role = aws.String("arn:aws:iam::111111111111:role/other")
		}, wantReady: "false", wantReason: "uses role arn:aws:iam::111111111111:role/other"},
		{name: "role deleted", give: func(env *fakeEnv) { delete(env.iams[fakeSrcAccount].roles, req.ReplicationRoleName()) },
			wantReady: "false", wantReason: "replication role is missing"},
		{name: "destination key disabled", give: func(env *fakeEnv) {
			k := env.dst.kms.key("alias/s3crr-dst")
			k.meta.KeyState, k.meta.Enabled = "Disabled", false
		}, wantReady: "false", wantReason: "destination key is Disabled"},
		{name: "destination alias deleted", give: func(env *fakeEnv) { delete(env.dst.kms.aliases, "alias/s3crr-dst") },
			wantReady: "false", wantReason: "destination key is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			env.applyAll(t, reqJSON)
			tt.give(env)
			env.log.reset()
			res := env.mustRun(t, names.StageCheckReplication, "", reqJSON)
			if res.Outputs["ready"] != tt.wantReady || !strings.Contains(res.Outputs["reason"], tt.wantReason) {
				t.Errorf("ready %s reason %q, want %s %q", res.Outputs["ready"], res.Outputs["reason"], tt.wantReady, tt.wantReason)
			}
			if len(env.log.mutating()) != 0 || len(res.Changes) != 0 {
				t.Error("the check changed something")
			}
		})
	}
}

// TestSharedGrantOverLimitIsRefusedBeforeWriting: when adding the pair would take the
// destination bucket policy past S3's 20 KB (here, the owner's own statements fill it), the
// stage writes nothing and fails naming the limit, the counts and the fix.
func TestSharedGrantOverLimitIsRefusedBeforeWriting(t *testing.T) {
	reqJSON := requestJSON(t)
	env := newFakeEnv(t)
	b := env.addBucket(env.dst, "payments-dst")
	b.pab = &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}
	b.ownership = &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced}}}
	env.applyBefore(t, names.StageBucketPolicy, SideDestination, reqJSON)
	var big []policy.Statement
	for i := 0; len(policyJSON(big...)) < policy.MaxBucketPolicyBytes-300; i++ {
		big = append(big, policy.Statement{Sid: fmt.Sprintf("Owner%03d", i), Effect: policy.Allow, Principal: policy.AWSPrincipal(policy.AccountRootARN("444444444444")),
			Action: []string{"s3:GetObject"}, Resource: []string{fmt.Sprintf("arn:aws:s3:::payments-dst/team-%03d/*", i)}})
	}
	b.policy = policyJSON(big...)
	before := b.policy
	env.log.reset()
	_, err := env.run(t, names.StageBucketPolicy, SideDestination, reqJSON)
	var pf *PreflightFailed
	if !errors.As(err, &pf) || !strings.Contains(err.Error(), "20480") || !strings.Contains(err.Error(), "organizationId") {
		t.Fatalf("err = %v; want PreflightFailed naming the 20480-byte limit and organizationId", err)
	}
	if b.policy != before || len(env.log.mutating()) != 0 {
		t.Errorf("the stage wrote: %q", env.log.mutating())
	}
}
