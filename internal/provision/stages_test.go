package provision

// Unit tests of each stage against the in-memory fakes (fakes_test.go): what a stage does
// from an empty account, that it does nothing once converged, and that plan mode lists the
// same changes without a single mutating call.

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// TestStageFromEmptyConvergedAndPlan runs each stage, with the stages before it applied:
// in plan mode (the changes, no mutating call), for real (the same changes, one mutating
// call per change, exactly the calls listed), and again (no change, no mutating call).
func TestStageFromEmptyConvergedAndPlan(t *testing.T) {
	src := fakeSrcAccount + " "
	dst := fakeDstAccount + " "
	bucketActions := []string{"create", "enable versioning", "tag", "add lifecycle rule", "merge bucket policy"}
	bucketOps := func(acct string) []string {
		return []string{acct + "s3:CreateBucket", acct + "s3:PutBucketVersioning", acct + "s3:PutBucketTagging", acct + "s3:PutBucketLifecycleConfiguration", acct + "s3:PutBucketPolicy"}
	}
	keyOps := func(acct string) []string {
		return []string{acct + "kms:CreateKey", acct + "kms:CreateAlias", acct + "kms:EnableKeyRotation"}
	}
	tests := []struct {
		stage, side string
		wantActions []string
		wantOps     []string
		wantOutputs map[string]string
	}{
		{stage: names.StageValidate, wantActions: []string{}, wantOutputs: map[string]string{
			"ruleId": "s3crr-payments-archive", "replicationRoleArn": "arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55"}},
		{stage: names.StagePreflight, wantActions: []string{}, wantOutputs: map[string]string{
			"sourceBucketExists": "false", "destinationBucketExists": "false", "sourceObjectLock": "false"}},
		{stage: names.StageBucket, side: SideSource, wantActions: bucketActions, wantOps: bucketOps(src),
			wantOutputs: map[string]string{"bucketArn": "arn:aws:s3:::payments-src"}},
		{stage: names.StageBucket, side: SideDestination, wantActions: bucketActions, wantOps: bucketOps(dst),
			wantOutputs: map[string]string{"bucketArn": "arn:aws:s3:::payments-dst"}},
		{stage: names.StageKey, side: SideSource, wantActions: []string{"create key", "create alias", "enable key rotation"}, wantOps: keyOps(src)},
		{stage: names.StageKey, side: SideDestination, wantActions: []string{"create key", "create alias", "enable key rotation"}, wantOps: keyOps(dst)},
		{stage: names.StageRole, side: SideSource, wantActions: []string{"create role", "put role policy"},
			wantOps:     []string{src + "iam:CreateRole", src + "iam:PutRolePolicy"},
			wantOutputs: map[string]string{"roleArn": "arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55"}},
		// The source key s3crr created delegates to IAM: the role policy's grant suffices.
		{stage: names.StageKeyPolicy, side: SideSource, wantActions: []string{}},
		{stage: names.StageKeyPolicy, side: SideDestination, wantActions: []string{"merge key policy"}, wantOps: []string{dst + "kms:PutKeyPolicy"}},
		{stage: names.StageBucketPolicy, side: SideDestination, wantActions: []string{"merge bucket policy"}, wantOps: []string{dst + "s3:PutBucketPolicy"}},
		{stage: names.StageEncryption, side: SideSource, wantActions: []string{"set default encryption"}, wantOps: []string{src + "s3:PutBucketEncryption"}},
		{stage: names.StageEncryption, side: SideDestination, wantActions: []string{"set default encryption"}, wantOps: []string{dst + "s3:PutBucketEncryption"}},
		{stage: names.StageReplication, side: SideSource, wantActions: []string{"merge replication rule"}, wantOps: []string{src + "s3:PutBucketReplication"},
			wantOutputs: map[string]string{"ruleId": "s3crr-payments-archive"}},
		{stage: names.StageEvents, side: SideSource, wantActions: []string{"subscribe replication events", "create failed-replication alarm"},
			wantOps: []string{src + "s3:PutBucketNotificationConfiguration", src + "cloudwatch:PutMetricAlarm"},
			wantOutputs: map[string]string{"eventsQueueArn": "arn:aws:sqs:ap-south-1:111111111111:s3crr-replication-events",
				"failedReplicationAlarmArn": "arn:aws:cloudwatch:ap-south-1:111111111111:alarm:s3crr-payments-archive-failed-replication"}},
		{stage: names.StageCheckReplication, wantActions: []string{}, wantOutputs: map[string]string{"ready": "true"}},
		// Without rule.replicateExisting the Batch Replication stages have nothing to do
		// (local_batch_test.go runs them on the simulator).
		{stage: names.StageBatchRole, side: SideSource, wantActions: []string{}, wantOutputs: map[string]string{"skipped": "true"}},
		{stage: names.StageBatchStart, side: SideSource, wantActions: []string{}, wantOutputs: map[string]string{"skipped": "true"}},
		{stage: names.StageBatchStatus, side: SideSource, wantActions: []string{}, wantOutputs: map[string]string{"skipped": "true"}},
		{stage: names.StageBatchReport, side: SideSource, wantActions: []string{}, wantOutputs: map[string]string{"skipped": "true"}},
	}
	// Every stage of a full run is in the table.
	var covered []string
	for _, tt := range tests {
		covered = append(covered, stageLabel(tt.stage, tt.side))
	}
	for _, s := range Stages {
		for _, side := range s.Sides {
			if !slices.Contains(covered, stageLabel(s.Name, side)) {
				t.Errorf("stage %s has no row", stageLabel(s.Name, side))
			}
		}
	}

	req := requestJSON(t)
	for _, tt := range tests {
		t.Run(stageLabel(tt.stage, tt.side), func(t *testing.T) {
			env := newFakeEnv(t)
			env.applyBefore(t, tt.stage, tt.side, req)

			env.log.reset()
			planned, err := env.plan(t, tt.stage, tt.side, req)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if m := env.log.mutating(); len(m) != 0 {
				t.Errorf("plan made mutating calls %q", m)
			}
			if got := changeActions(planned); !slices.Equal(got, tt.wantActions) {
				t.Errorf("plan changes = %q, want %q", got, tt.wantActions)
			}

			env.log.reset()
			res, err := env.run(t, tt.stage, tt.side, req)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if got := changeActions(res); !slices.Equal(got, tt.wantActions) {
				t.Errorf("changes = %q, want %q", got, tt.wantActions)
			}
			if got := env.log.mutating(); !slices.Equal(got, tt.wantOps) {
				t.Errorf("mutating calls = %q, want %q", got, tt.wantOps)
			}
			for k, want := range tt.wantOutputs {
				if got := res.Outputs[k]; got != want {
					t.Errorf("output %s = %q, want %q", k, got, want)
				}
			}
			for _, c := range res.Changes {
				wantAcct := fakeSrcAccount
				if tt.side == SideDestination {
					wantAcct = fakeDstAccount
				}
				if c.Account != wantAcct || c.Region == "" || c.Resource == "" {
					t.Errorf("change %+v: want account %s, a region and a resource", c, wantAcct)
				}
			}

			env.log.reset()
			again, err := env.run(t, tt.stage, tt.side, req)
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if len(again.Changes) != 0 {
				t.Errorf("re-run changes = %q, want none", changeActions(again))
			}
			if m := env.log.mutating(); len(m) != 0 {
				t.Errorf("re-run made mutating calls %q", m)
			}
		})
	}
}

// keyARNPattern matches real and planned key ARNs, so plans and runs compare.
var keyARNPattern = regexp.MustCompile(`arn:aws:kms:[a-z0-9-]+:[0-9]{12}:key/(\(created by the key stage\)|[^ ]+)`)

// changeList lists a run's changes as "stage(side) action resource account/region".
func changeList(res []Result) []string {
	var out []string
	for _, r := range res {
		for _, c := range r.Changes {
			out = append(out, stageLabel(r.Stage, r.Side)+" "+c.Action+" "+keyARNPattern.ReplaceAllString(c.Resource, "KEY")+" "+c.Account+"/"+c.Region)
		}
	}
	return out
}

// TestPlanOfAFreshPairIsWhatApplyDoes: the whole plan on empty accounts makes no mutating
// call, and a real run then makes exactly the changes the plan listed, each with one
// mutating call; a second run changes nothing and writes nothing.
func TestPlanOfAFreshPairIsWhatApplyDoes(t *testing.T) {
	env := newFakeEnv(t)
	req := requestJSON(t)
	planned, err := env.svc.Plan(context.Background(), req)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if m := env.log.mutating(); len(m) != 0 {
		t.Fatalf("plan made mutating calls: %q", m)
	}
	if len(env.world.buckets) != 0 || len(env.src.kms.keys) != 0 || len(env.iams[fakeSrcAccount].roles) != 0 {
		t.Fatal("plan created something in the fakes")
	}

	env.log.reset()
	applied := env.applyAll(t, req)
	if got, want := changeList(applied), changeList(planned); !slices.Equal(got, want) {
		t.Errorf("apply and plan differ:\napply: %q\nplan:  %q", got, want)
	}
	if got, want := len(env.log.mutating()), len(changeList(applied)); got != want {
		t.Errorf("%d mutating calls for %d changes: %q", got, want, env.log.mutating())
	}

	env.log.reset()
	again := env.applyAll(t, req)
	if got := changeList(again); len(got) != 0 {
		t.Errorf("second run changes: %q", got)
	}
	if m := env.log.mutating(); len(m) != 0 {
		t.Errorf("second run mutating calls: %q", m)
	}
	for _, id := range env.conn.pairIDs {
		if id != "payments-archive" {
			t.Errorf("session opened for pair %q, want payments-archive", id)
		}
	}
}

// TestApplyWritesWhatThePairNeeds checks the state a full run leaves in the fakes against
// the policy builders and desiredRule.
func TestApplyWritesWhatThePairNeeds(t *testing.T) {
	env := newFakeEnv(t)
	reqJSON := requestJSON(t)
	req := parsed(t, reqJSON)
	env.applyAll(t, reqJSON)

	srcKey := env.src.kms.key("alias/s3crr-src")
	dstKey := env.dst.kms.key("alias/s3crr-dst")
	if srcKey == nil || dstKey == nil {
		t.Fatal("a key alias is missing")
	}
	srcKeyARN, dstKeyARN := aws.ToString(srcKey.meta.Arn), aws.ToString(dstKey.meta.Arn)
	for _, k := range []*fakeKey{srcKey, dstKey} {
		if !k.rotation {
			t.Errorf("key %s: rotation off", aws.ToString(k.meta.Arn))
		}
		tags := map[string]string{}
		for _, tg := range k.tags {
			tags[aws.ToString(tg.TagKey)] = aws.ToString(tg.TagValue)
		}
		if tags[names.ManagedByTagKey] != names.ManagedByTagValue || tags[names.PairIDTagKey] != "payments-archive" || !strings.HasPrefix(tags[names.AliasTagKey], "alias/s3crr-") {
			t.Errorf("key %s tags = %v", aws.ToString(k.meta.Arn), tags)
		}
	}

	for _, tc := range []struct {
		bucket, side, region string
	}{{"payments-src", SideSource, fakeSrcRegion}, {"payments-dst", SideDestination, fakeDstRegion}} {
		b := env.bucket(t, tc.bucket)
		if b.region != tc.region || b.versioning != s3types.BucketVersioningStatusEnabled {
			t.Errorf("%s: region %s versioning %s", tc.bucket, b.region, b.versioning)
		}
		if p := b.pab; p == nil || !aws.ToBool(p.BlockPublicAcls) || !aws.ToBool(p.IgnorePublicAcls) || !aws.ToBool(p.BlockPublicPolicy) || !aws.ToBool(p.RestrictPublicBuckets) {
			t.Errorf("%s: public access block %+v", tc.bucket, p)
		}
		if b.ownership == nil || b.ownership.Rules[0].ObjectOwnership != s3types.ObjectOwnershipBucketOwnerEnforced {
			t.Errorf("%s: ownership %+v", tc.bucket, b.ownership)
		}
		if len(b.tags) != 2 || !hasS3Tag(b.tags, names.PairIDTagKey, "payments-archive") || !hasS3Tag(b.tags, names.ManagedByTagKey, names.ManagedByTagValue) {
			t.Errorf("%s: tags %v", tc.bucket, b.tags)
		}
		if _, ok := statementBySid(t, b.policy, policy.SidDenyInsecureTransport); !ok {
			t.Errorf("%s: no TLS-only statement in %s", tc.bucket, b.policy)
		}
		wantKey := srcKeyARN
		if tc.side == SideDestination {
			wantKey = dstKeyARN
		}
		rule := b.encryption.Rules[0]
		if def := rule.ApplyServerSideEncryptionByDefault; def.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms || aws.ToString(def.KMSMasterKeyID) != wantKey || !aws.ToBool(rule.BucketKeyEnabled) {
			t.Errorf("%s: default encryption %s %s bucket key %v, want aws:kms %s true", tc.bucket, def.SSEAlgorithm, aws.ToString(def.KMSMasterKeyID), aws.ToBool(rule.BucketKeyEnabled), wantKey)
		}
	}

	// The policies are exactly the builders' for the resolved keys. The destination
	// enforces bucket ownership, so no owner-override permission although the rule asks
	// for owner override.
	p := policy.ReplicationParams{
		PairID: req.PairID, SourceAccount: fakeSrcAccount, SourceRegion: fakeSrcRegion, SourceBucket: "payments-src", SourceKeyARN: srcKeyARN,
		DestinationAccount: fakeDstAccount, DestinationRegion: fakeDstRegion, DestinationBucket: "payments-dst", DestinationKeyARN: dstKeyARN,
		RoleARN: req.ReplicationRoleARN(),
	}
	role := env.iams[fakeSrcAccount].roles[req.ReplicationRoleName()]
	if role == nil {
		t.Fatal("no replication role")
	}
	if aws.ToString(role.role.Path) != "/s3crr/" || role.role.PermissionsBoundary == nil ||
		aws.ToString(role.role.PermissionsBoundary.PermissionsBoundaryArn) != "arn:aws:iam::111111111111:policy/s3crr/s3crr-replication-boundary" {
		t.Errorf("role path %s boundary %+v", aws.ToString(role.role.Path), role.role.PermissionsBoundary)
	}
	if !(&stage{req: req}).replicationRoleIsOurs(role.role.Tags) {
		t.Errorf("role tags %v", role.role.Tags)
	}
	trust, err := policy.ParseIAMDocument(aws.ToString(role.role.AssumeRolePolicyDocument))
	must(t, err)
	if !policy.Equivalent(trust, policy.ReplicationTrustPolicy(p)) {
		t.Errorf("trust policy %s", trust)
	}
	inline, err := policy.ParseIAMDocument(role.inline[names.ReplicationPolicyName])
	must(t, err)
	if !policy.Equivalent(inline, policy.ReplicationRolePolicy(p)) {
		t.Errorf("role policy\n%s\nwant\n%s", inline, policy.ReplicationRolePolicy(p))
	}
	if strings.Contains(inline.String(), policy.ActObjectOwnerOverride) {
		t.Error("role policy grants owner override on a BucketOwnerEnforced destination")
	}
	share := policy.Share{}.With(fakeSrcAccount, policy.ObjectsARN("payments-dst", ""))
	got, ok := statementBySid(t, dstKey.policy, policy.SidReplicaEncryptShared)
	if !ok || !policy.StatementsEquivalent(got, policy.SharedReplicaEncryptStatement(fakeDstRegion, share)) {
		t.Errorf("destination key policy %s", dstKey.policy)
	}
	if !slices.Equal(sids(t, srcKey.policy), []string{policy.DefaultKeyPolicySid}) {
		t.Errorf("source key policy changed although it delegates to IAM: %s", srcKey.policy)
	}
	got, ok = statementBySid(t, env.bucket(t, "payments-dst").policy, policy.SidReplicaWriteShared)
	if !ok || !policy.StatementsEquivalent(got, policy.SharedReplicaWriteStatement(share, false)) {
		t.Errorf("destination bucket policy %s", env.bucket(t, "payments-dst").policy)
	}

	rep := env.bucket(t, "payments-src").replication
	if rep == nil || aws.ToString(rep.Role) != req.ReplicationRoleARN() || len(rep.Rules) != 1 || !rulesEqual(rep.Rules[0], desiredRule(req, dstKeyARN, false)) {
		t.Fatalf("replication configuration %+v", rep)
	}
	// The sample asks for owner override, but s3crr created the destination
	// BucketOwnerEnforced: the rule leaves the option out, as the policies leave out its
	// permission (docs/aws-facts.md#F-REPL-OWNER-OVERRIDE).
	if acl := rep.Rules[0].Destination.AccessControlTranslation; acl != nil {
		t.Errorf("rule has AccessControlTranslation %+v against a BucketOwnerEnforced destination", acl)
	}
	if got := aws.ToString(rep.Rules[0].Destination.EncryptionConfiguration.ReplicaKmsKeyID); got != dstKeyARN {
		t.Errorf("ReplicaKmsKeyID = %s, want the destination key ARN %s (an alias would resolve in the source account)", got, dstKeyARN)
	}
	n := env.bucket(t, "payments-src").notification
	if n == nil || len(n.QueueConfigurations) != 1 || aws.ToString(n.QueueConfigurations[0].QueueArn) != "arn:aws:sqs:ap-south-1:111111111111:s3crr-replication-events" ||
		!sameEvents(n.QueueConfigurations[0].Events, ReplicationEvents) {
		t.Errorf("notification configuration %+v", n)
	}
}

func hasS3Tag(set []s3types.Tag, k, v string) bool {
	for _, t := range set {
		if aws.ToString(t.Key) == k && aws.ToString(t.Value) == v {
			return true
		}
	}
	return false
}

// TestOwnerOverrideOnlyWhereTheDestinationDoesNotEnforceOwnership: with an existing
// destination bucket using ObjectWriter ownership the replication role needs
// s3:ObjectOwnerOverrideToBucketOwner (role policy and destination bucket policy); with
// BucketOwnerEnforced, or without owner override in the rule, it does not.
func TestOwnerOverrideOnlyWhereTheDestinationDoesNotEnforceOwnership(t *testing.T) {
	tests := []struct {
		name          string
		ownership     s3types.ObjectOwnership // of the existing destination bucket; "" none
		ownerOverride bool
		want          bool
	}{
		{"ObjectWriter destination", s3types.ObjectOwnershipObjectWriter, true, true},
		{"no ownership controls", "", true, true},
		{"BucketOwnerEnforced destination", s3types.ObjectOwnershipBucketOwnerEnforced, true, false},
		{"rule without owner override", s3types.ObjectOwnershipObjectWriter, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			b := env.addBucket(env.dst, "payments-dst")
			if tt.ownership != "" {
				b.ownership = &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: tt.ownership}}}
			}
			reqJSON := requestJSON(t, func(r *spec.Request) { r.Rule.OwnerOverride = tt.ownerOverride })
			req := parsed(t, reqJSON)
			// The bucket stage leaves existing ownership controls alone (it only warns),
			// except that it sets BucketOwnerEnforced where there are none.
			env.applyBefore(t, names.StageRole, SideSource, reqJSON)
			if tt.ownership == "" {
				b.ownership = nil
			}
			env.mustRun(t, names.StageRole, SideSource, reqJSON)
			env.mustRun(t, names.StageBucketPolicy, SideDestination, reqJSON)
			inline := env.iams[fakeSrcAccount].roles[req.ReplicationRoleName()].inline[names.ReplicationPolicyName]
			doc, err := policy.ParseIAMDocument(inline)
			must(t, err)
			if got := strings.Contains(doc.String(), policy.ActObjectOwnerOverride); got != tt.want {
				t.Errorf("role policy grants owner override: %v, want %v", got, tt.want)
			}
			if got := strings.Contains(b.policy, policy.ActObjectOwnerOverride); got != tt.want {
				t.Errorf("destination bucket policy grants owner override: %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBucketStageOnExistingBuckets: an existing bucket keeps its owner's settings; s3crr
// only turns versioning on, adds what is absent, and warns about what it leaves alone.
func TestBucketStageOnExistingBuckets(t *testing.T) {
	tests := []struct {
		name        string
		give        func(*fakeBucket)
		wantActions []string
		wantWarning string
	}{
		{
			name: "bare bucket",
			give: func(b *fakeBucket) {
				b.versioning = ""
				b.ownership = nil
			},
			wantActions: []string{"enable versioning", "block public access", "enforce bucket owner", "add lifecycle rule", "merge bucket policy"},
		},
		{
			name: "suspended versioning, partial public access block, ObjectWriter",
			give: func(b *fakeBucket) {
				b.versioning = s3types.BucketVersioningStatusSuspended
				b.pab = &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(false), RestrictPublicBuckets: aws.Bool(true)}
				b.ownership = &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipObjectWriter}}}
			},
			wantActions: []string{"enable versioning", "add lifecycle rule", "merge bucket policy"},
			wantWarning: "public access",
		},
		{
			name: "ObjectWriter ownership",
			give: func(b *fakeBucket) {
				b.pab = &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}
				b.ownership = &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipObjectWriter}}}
			},
			wantActions: []string{"add lifecycle rule", "merge bucket policy"},
			wantWarning: "BucketOwnerEnforced",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			b := env.addBucket(env.src, "payments-src")
			tt.give(b)
			before := *b
			res := env.mustRun(t, names.StageBucket, SideSource, requestJSON(t))
			if got := changeActions(res); !slices.Equal(got, tt.wantActions) {
				t.Errorf("changes = %q, want %q", got, tt.wantActions)
			}
			if env.log.count("CreateBucket") != 0 {
				t.Error("CreateBucket called for an existing bucket")
			}
			if b.versioning != s3types.BucketVersioningStatusEnabled {
				t.Errorf("versioning = %s", b.versioning)
			}
			if before.pab != nil && b.pab != before.pab {
				t.Error("an existing public access block was replaced")
			}
			if before.ownership != nil && b.ownership != before.ownership {
				t.Error("existing ownership controls were replaced")
			}
			if hasS3Tag(b.tags, names.ManagedByTagKey, names.ManagedByTagValue) {
				t.Error("a bucket s3crr did not create is tagged managed-by s3crr")
			}
			warned := strings.Join(res.Warnings, "\n")
			if tt.wantWarning != "" && !strings.Contains(warned, tt.wantWarning) {
				t.Errorf("warnings %q, want one about %q", res.Warnings, tt.wantWarning)
			}
			if tt.wantWarning == "" && warned != "" {
				t.Errorf("unexpected warnings %q", res.Warnings)
			}
		})
	}
}

// TestBucketStageCreatesWithRegionAndObjectLock: outside us-east-1 CreateBucket carries
// the region's location constraint (the fake rejects it otherwise, as S3 does), and a
// destination for an Object Lock source is created with Object Lock.
func TestBucketStageCreatesWithRegionAndObjectLock(t *testing.T) {
	tests := []struct {
		name       string
		srcLock    bool
		dstRegion  string
		wantLock   bool
		wantDetail string
	}{
		{"us-east-1 destination", false, "us-east-1", false, "versioned, SSE-KMS, private"},
		{"eu-west-1 destination", false, "eu-west-1", false, "versioned, SSE-KMS, private"},
		{"Object Lock source", true, "us-east-1", true, "Object Lock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnvFor(t, fakeSrcAccount, fakeSrcRegion, fakeDstAccount, tt.dstRegion)
			src := env.addBucket(env.src, "payments-src")
			src.objectLock = tt.srcLock
			req := requestJSON(t, func(r *spec.Request) { r.Destination.Region = tt.dstRegion })
			res := env.mustRun(t, names.StageBucket, SideDestination, req)
			b := env.bucket(t, "payments-dst")
			if b.region != tt.dstRegion || b.objectLock != tt.wantLock {
				t.Errorf("bucket region %s lock %v, want %s %v", b.region, b.objectLock, tt.dstRegion, tt.wantLock)
			}
			if len(res.Changes) == 0 || !strings.Contains(res.Changes[0].Detail, tt.wantDetail) {
				t.Errorf("first change %+v, want detail with %q", res.Changes, tt.wantDetail)
			}
		})
	}
}

// TestRetriedCreateAfterALostResponse: a create whose first response was lost (the
// resource exists, the retry answers "already exists/owned") counts as done, and the
// stage goes on to finish the resource.
func TestRetriedCreateAfterALostResponse(t *testing.T) {
	t.Run("bucket", func(t *testing.T) {
		env := newFakeEnv(t)
		env.src.s3.onCall("CreateBucket", func() { env.addBucket(env.src, "payments-src").versioning = "" })
		env.src.s3.fail("CreateBucket", apiErr("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it."))
		res := env.mustRun(t, names.StageBucket, SideSource, requestJSON(t))
		if got := changeActions(res); len(got) == 0 || got[0] != "create" {
			t.Errorf("changes = %q, want the create reported", got)
		}
		if b := env.bucket(t, "payments-src"); b.versioning != s3types.BucketVersioningStatusEnabled || b.policy == "" {
			t.Errorf("the bucket was not finished: versioning %q policy %q", b.versioning, b.policy)
		}
	})
	t.Run("role", func(t *testing.T) {
		env := newFakeEnv(t)
		reqJSON := requestJSON(t)
		req := parsed(t, reqJSON)
		env.applyBefore(t, names.StageRole, SideSource, reqJSON)
		iamFake := env.iams[fakeSrcAccount]
		iamFake.onCall("CreateRole", func() {
			iamFake.addRole(req.ReplicationRoleName(), "/s3crr/", "{}", map[string]string{names.ManagedByTagKey: names.ManagedByTagValue, names.PairIDTagKey: req.PairID})
		})
		iamFake.fail("CreateRole", apiErr("EntityAlreadyExists", "Role with name "+req.ReplicationRoleName()+" already exists."))
		env.mustRun(t, names.StageRole, SideSource, reqJSON)
		if iamFake.roles[req.ReplicationRoleName()].inline[names.ReplicationPolicyName] == "" {
			t.Error("the role policy was not put after the retried create")
		}
	})
	t.Run("alias", func(t *testing.T) {
		env := newFakeEnv(t)
		req := parsed(t, requestJSON(t))
		env.src.kms.onCall("CreateAlias", func() {
			env.src.kms.aliases[req.Source.KMSKeyAlias] = env.src.kms.order[len(env.src.kms.order)-1]
		})
		res := env.mustRun(t, names.StageKey, SideSource, requestJSON(t))
		if got := env.src.kms.aliasTarget(req.Source.KMSKeyAlias); got == "" || got != res.Outputs["keyArn"] {
			t.Errorf("alias → %q, keyArn output %q", got, res.Outputs["keyArn"])
		}
		if k := env.src.kms.key(res.Outputs["keyArn"]); k == nil || !k.rotation {
			t.Error("the key was not finished (rotation) after the retried alias create")
		}
	})
	// The same answers when the name was taken by someone else between the read and the
	// create: what is there must be merged into, or refused, never treated as new.
	t.Run("bucket created meanwhile by its owner keeps its tags and policy", func(t *testing.T) {
		env := newFakeEnv(t)
		foreign := `{"Version":"2012-10-17","Statement":[{"Sid":"OwnerAudit","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::payments-src/*"}]}`
		env.src.s3.onCall("CreateBucket", func() {
			b := env.addBucket(env.src, "payments-src")
			b.tags = []s3types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}
			b.policy = foreign
		})
		env.src.s3.fail("CreateBucket", apiErr("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it."))
		env.mustRun(t, names.StageBucket, SideSource, requestJSON(t))
		b := env.bucket(t, "payments-src")
		if _, ok := statementBySid(t, b.policy, "OwnerAudit"); !ok {
			t.Errorf("the owner's policy statement was overwritten: %s", b.policy)
		}
		team := false
		for _, tag := range b.tags {
			team = team || (aws.ToString(tag.Key) == "team" && aws.ToString(tag.Value) == "payments")
		}
		if !team {
			t.Errorf("the owner's tags were overwritten: %v", b.tags)
		}
	})
	t.Run("alias created meanwhile for another key is a Conflict", func(t *testing.T) {
		env := newFakeEnv(t)
		req := parsed(t, requestJSON(t))
		other := env.src.kms.addKey(nil)
		env.src.kms.onCall("CreateAlias", func() { env.src.kms.alias(req.Source.KMSKeyAlias, other) })
		_, err := env.run(t, names.StageKey, SideSource, requestJSON(t))
		var c *Conflict
		if !errors.As(err, &c) || !strings.Contains(c.Message, other) {
			t.Errorf("err = %v (%T), want *Conflict naming %s", err, err, other)
		}
	})
	t.Run("role created meanwhile by someone else is a Conflict", func(t *testing.T) {
		env := newFakeEnv(t)
		reqJSON := requestJSON(t)
		req := parsed(t, reqJSON)
		env.applyBefore(t, names.StageRole, SideSource, reqJSON)
		iamFake := env.iams[fakeSrcAccount]
		iamFake.onCall("CreateRole", func() {
			iamFake.addRole(req.ReplicationRoleName(), "/", "{}", nil)
		})
		iamFake.fail("CreateRole", apiErr("EntityAlreadyExists", "Role with name "+req.ReplicationRoleName()+" already exists."))
		_, err := env.run(t, names.StageRole, SideSource, reqJSON)
		var c *Conflict
		if !errors.As(err, &c) {
			t.Errorf("err = %v (%T), want *Conflict", err, err)
		}
		if n := iamFake.log.count("PutRolePolicy"); n != 0 {
			t.Errorf("PutRolePolicy called %d times on a role s3crr did not create", n)
		}
	})
}
