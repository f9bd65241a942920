package localrun

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/internal/verify"
	"github.com/s3crr/s3crr/internal/verifyjob"
)

// verifyEnv is a local deployment with the sample pair provisioned through the
// provision state machine; the canary's Wait is shortened, nothing else.
func verifyEnv(t *testing.T) (*Env, spec.Request) {
	t.Helper()
	env := startEnv(t, Config{WaitOverrides: map[string]time.Duration{"WaitForReplica": 200 * time.Millisecond}})
	request := sampleRequest(t, env.ModuleRoot())
	run, err := env.Provision(t.Context(), request, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Succeeded() {
		t.Fatalf("provision: %s %s", run.Execution.Error, run.Execution.Cause)
	}
	req, err := spec.Parse(request)
	if err != nil {
		t.Fatal(err)
	}
	return env, req
}

// verifyOne runs the verify state machine for the pair and returns its one result.
func verifyOne(t *testing.T, env *Env, pairID string) verifyjob.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	run, err := env.Verify(ctx, []byte(`{"pairId":"`+pairID+`"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if run.Execution.Status != "SUCCEEDED" || len(run.Results) != 1 {
		t.Fatalf("verify execution %s (%s: %s), %d results", run.Execution.Status, run.Execution.Error, run.Execution.Cause, len(run.Results))
	}
	return run.Results[0]
}

// leftoverCanaries lists every version or delete marker under the pair's canary
// prefix on both sides, as the buckets' owners see them.
func leftoverCanaries(t *testing.T, env *Env, r spec.Request) []string {
	t.Helper()
	var out []string
	for _, side := range []spec.Endpoint{r.Source, r.Destination} {
		v, err := awsclient.S3(env.RootConfig(side.Account, side.Region)).ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{
			Bucket: aws.String(side.Bucket), Prefix: aws.String(r.CanaryKeyPrefix())})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range v.Versions {
			out = append(out, side.Bucket+"/"+aws.ToString(o.Key))
		}
		for _, o := range v.DeleteMarkers {
			out = append(out, side.Bucket+"/"+aws.ToString(o.Key)+" (delete marker)")
		}
	}
	return out
}

func TestVerifyHealthyPairPassesWithLatency(t *testing.T) {
	env, req := verifyEnv(t)
	res := verifyOne(t, env, req.PairID)
	if res.Status != verifyjob.StatusPassed {
		t.Fatalf("status %s, findings %v", res.Status, res.Findings)
	}
	if res.LatencySeconds <= 0 {
		t.Errorf("latency %v, want the canary's measured latency", res.LatencySeconds)
	}
	if res.Alerted {
		t.Error("a passing pair was alerted")
	}
	t.Logf("canary latency %.3fs, %d findings", res.LatencySeconds, res.FindingCount)
	if left := leftoverCanaries(t, env, req); len(left) > 0 {
		t.Errorf("canary left behind: %v", left)
	}
	item, ok, err := env.Hub.Pair(t.Context(), req.PairID)
	if err != nil || !ok {
		t.Fatalf("pair item: %v %v", ok, err)
	}
	if got := attrString(item, verifyjob.AttrVerifyStatus); got != verifyjob.StatusPassed {
		t.Errorf("pair item %s = %q, want passed", verifyjob.AttrVerifyStatus, got)
	}
	var names []string
	for _, m := range env.Sim.Metrics(localaws.HubAccount, hubRegion(env.cfg.Hub)) {
		if m.Namespace == policy.MetricsNamespace && m.Dimensions[verifyjob.DimensionPairID] == req.PairID {
			names = append(names, m.Name)
		}
	}
	for _, want := range []string{verifyjob.MetricVerificationFailed, verifyjob.MetricFindings, verifyjob.MetricCanaryLatency} {
		if !slices.Contains(names, want) {
			t.Errorf("metric %s not put (got %v)", want, names)
		}
	}
}

// TestVerifyFindsEachTampering tampers with a provisioned pair in each way the issue
// lists, runs the verify state machine, and requires the finding with its code, an
// alert, and no canary left; then undoes the tampering and requires a pass again.
func TestVerifyFindsEachTampering(t *testing.T) {
	env, r := verifyEnv(t)
	ctx := t.Context()
	srcKMS := awsclient.KMS(env.RootConfig(r.Source.Account, r.Source.Region))
	dstKMS := awsclient.KMS(env.RootConfig(r.Destination.Account, r.Destination.Region))
	srcS3 := awsclient.S3(env.RootConfig(r.Source.Account, r.Source.Region))
	dstS3 := awsclient.S3(env.RootConfig(r.Destination.Account, r.Destination.Region))
	keyARN := func(c *kms.Client, alias string) string {
		out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.KeyMetadata.Arn)
	}
	srcKey, dstKey := keyARN(srcKMS, r.Source.KMSKeyAlias), keyARN(dstKMS, r.Destination.KMSKeyAlias)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// editKeyPolicy changes a key policy and returns the undo.
	editKeyPolicy := func(c *kms.Client, key string, edit func(policy.Document) policy.Document) func() {
		out, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(key), PolicyName: aws.String("default")})
		if err != nil {
			t.Fatal(err)
		}
		orig := aws.ToString(out.Policy)
		doc, err := policy.ParseDocument([]byte(orig))
		if err != nil {
			t.Fatal(err)
		}
		must(c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(key), PolicyName: aws.String("default"), Policy: aws.String(edit(doc).String())}))
		return func() {
			must(c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(key), PolicyName: aws.String("default"), Policy: aws.String(orig)}))
		}
	}
	tests := []struct {
		name        string
		tamper      func() (undo func())
		check, code string
	}{
		{"destination key policy statement removed", func() func() {
			return editKeyPolicy(dstKMS, dstKey, func(d policy.Document) policy.Document {
				d, _ = policy.Remove(d, policy.SidReplicaEncryptShared)
				return d
			})
		}, "destination-key-policy", "DstPutObjectNotPermitted"},
		{"destination versioning suspended", func() func() {
			set := func(s s3types.BucketVersioningStatus) {
				must(dstS3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(r.Destination.Bucket),
					VersioningConfiguration: &s3types.VersioningConfiguration{Status: s}}))
			}
			set(s3types.BucketVersioningStatusSuspended)
			return func() { set(s3types.BucketVersioningStatusEnabled) }
		}, "destination-versioning", "DstBucketUnversioned"},
		{"destination key disabled", func() func() {
			must(dstKMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(dstKey)}))
			return func() { must(dstKMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(dstKey)})) }
		}, "destination-key-state", "DstKmsKeyInvalidState"},
		{"rule deleted", func() func() {
			cfg, err := srcS3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(r.Source.Bucket)})
			if err != nil {
				t.Fatal(err)
			}
			must(srcS3.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String(r.Source.Bucket)}))
			return func() {
				must(srcS3.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(r.Source.Bucket), ReplicationConfiguration: cfg.ReplicationConfiguration}))
			}
		}, "replication-rule", ""},
		{"explicit deny on the replication role", func() func() {
			c := awsclient.IAM(env.RootConfig(r.Source.Account, r.Source.Region))
			deny := `{"Version":"2012-10-17","Statement":[{"Sid":"NoReplicas","Effect":"Deny","Action":"s3:ReplicateObject","Resource":"*"}]}`
			must(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(r.ReplicationRoleName()), PolicyName: aws.String("lockdown"), PolicyDocument: aws.String(deny)}))
			return func() {
				must(c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(r.ReplicationRoleName()), PolicyName: aws.String("lockdown")}))
			}
		}, "role-deny", "DstPutObjectNotPermitted"},
		{"source key policy no longer delegates to IAM", func() func() {
			return editKeyPolicy(srcKMS, srcKey, func(d policy.Document) policy.Document {
				var kept []policy.Statement
				for _, s := range d.Statement {
					if !policy.DelegatesToIAM(policy.Document{Statement: []policy.Statement{s}}, r.Source.Account, "kms:Decrypt") {
						kept = append(kept, s)
					}
				}
				kept = append(kept, policy.Statement{Sid: "RootAdminOnly", Effect: policy.Allow, Principal: policy.AWSPrincipal(policy.AccountRootARN(r.Source.Account)),
					Action: []string{"kms:Describe*", "kms:Get*", "kms:Put*", "kms:List*", "kms:Enable*", "kms:Disable*", "kms:GenerateDataKey"}, Resource: []string{"*"}})
				d.Statement = kept
				return d
			})
		}, "source-key-policy", "SrcGetObjectNotPermitted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := env.Hub.ReceiveAlerts(ctx, 0); err != nil { // drain earlier alerts
				t.Fatal(err)
			}
			undo := tt.tamper()
			res := verifyOne(t, env, r.PairID)
			undo()
			if res.Status != verifyjob.StatusFailed {
				t.Errorf("status %s after tampering, want failed", res.Status)
			}
			i := slices.IndexFunc(res.Findings, func(f verify.Finding) bool { return f.Check == tt.check })
			if i < 0 {
				t.Fatalf("no %s finding in %v", tt.check, res.Findings)
			}
			f := res.Findings[i]
			if f.Code != tt.code || f.Fix == "" {
				t.Errorf("finding %s: code %q (want %q), fix %q", f.Check, f.Code, tt.code, f.Fix)
			}
			t.Logf("%s\n  fix: %s", f, f.Fix)
			// The canary is the proof: it must not have replicated.
			canary := slices.IndexFunc(res.Findings, func(f verify.Finding) bool { return f.Kind == verify.KindCanary && f.Severity == verify.SeverityError })
			if canary < 0 {
				t.Errorf("the canary reported no failure: %v", res.Findings)
			} else {
				t.Logf("canary: %s", res.Findings[canary])
			}
			if !res.Alerted {
				t.Error("the result says no alert was published")
			}
			alerts, err := env.Hub.ReceiveAlerts(ctx, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			// The alert's JSON form carries the reason (the first error's code, or its
			// check when S3 records none) and every error's fix.
			reason := tt.code
			if reason == "" {
				reason = tt.check
			}
			if !slices.ContainsFunc(alerts, func(a localhub.Alert) bool {
				return strings.Contains(a.Subject, r.PairID) && strings.Contains(a.Message, reason)
			}) {
				t.Errorf("no alert naming pair %s and %s among %d alerts", r.PairID, reason, len(alerts))
			}
			if left := leftoverCanaries(t, env, r); len(left) > 0 {
				t.Errorf("canary left behind: %v", left)
			}
			if again := verifyOne(t, env, r.PairID); again.Status != verifyjob.StatusPassed {
				t.Errorf("after undoing the tampering: %s, %v", again.Status, again.Findings)
			}
		})
	}
}
