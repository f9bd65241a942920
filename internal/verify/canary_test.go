package verify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// canaryRun puts a canary as the verifier (from the verify Lambda's role), waits for
// the simulator's replication, checks it and cleans up, as the verify state machine does.
// It returns the check's result and the first error of any step.
func canaryRun(t *testing.T, env *localEnv, req spec.Request) (CanaryResult, error) {
	t.Helper()
	ctx := context.Background()
	base, err := localdeploy.HubRoleConfig(ctx, env.deploy, names.VerifyFunctionRoleName)
	if err != nil {
		t.Fatal(err)
	}
	writer := AuditorConnector{Base: base, ExternalID: testExternalID, RoleName: names.VerifierRoleName}
	src, err := writer.Connect(ctx, req.Source.Account, req.Source.Region)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := writer.Connect(ctx, req.Destination.Account, req.Destination.Region)
	if err != nil {
		t.Fatal(err)
	}
	srcKey := keyARNOf(t, env, req.Source.Account, req.Source.Region, req.Source.KMSKeyAlias)
	dstKey := keyARNOf(t, env, req.Destination.Account, req.Destination.Region, req.Destination.KMSKeyAlias)
	res, err := PutCanary(ctx, req, src, srcKey, dstKey, time.Now(), time.Hour)
	if err != nil || res.Status != CanaryPending {
		return res, err
	}
	if err := env.srv.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	checked, checkErr := CheckCanary(ctx, res.Canary, src, dst, time.Now())
	cleanErr := CleanupCanary(ctx, res.Canary, src, dst)
	if checkErr != nil {
		checked = res
	}
	return checked, errors.Join(checkErr, cleanErr)
}

func canaryVersions(t *testing.T, env *localEnv, req spec.Request) []string {
	t.Helper()
	var out []string
	for _, side := range []spec.Endpoint{req.Source, req.Destination} {
		v, err := awsclient.S3(env.root(side.Account, side.Region)).ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{
			Bucket: aws.String(side.Bucket), Prefix: aws.String(req.CanaryKeyPrefix())})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range v.Versions {
			out = append(out, side.Bucket+"/"+aws.ToString(o.Key))
		}
		for _, o := range v.DeleteMarkers {
			out = append(out, side.Bucket+"/"+aws.ToString(o.Key)+" (marker)")
		}
	}
	return out
}

func TestLocalCanaryReplicatesUnderTheDestinationKeyAndIsDeleted(t *testing.T) {
	env, req := provisioned(t)
	res, err := canaryRun(t, env, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != CanaryCompleted || len(res.Findings) > 0 {
		t.Fatalf("canary %s: %v", res.Status, res.Findings)
	}
	if res.LatencySeconds <= 0 {
		t.Errorf("latency %v", res.LatencySeconds)
	}
	if !strings.HasPrefix(res.Canary.Key, req.CanaryKeyPrefix()) || res.Canary.VersionID == "" {
		t.Errorf("canary %s version %q, want under %s with a version", res.Canary.Key, res.Canary.VersionID, req.CanaryKeyPrefix())
	}
	if left := canaryVersions(t, env, req); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestLocalCanaryReportsAReplicaUnderAnotherKey(t *testing.T) {
	env, req := provisioned(t)
	// A replica under the source key is what the rule gives without ReplicaKmsKeyID's
	// key; the check must compare against the destination key, not accept any aws:kms.
	c := Canary{Key: "k", DestinationAccount: req.Destination.Account, DestinationKeyARN: keyARNOf(t, env, req.Destination.Account, req.Destination.Region, req.Destination.KMSKeyAlias)}
	other := "arn:aws:kms:us-east-1:222222222222:key/00000000-0000-4000-8000-000000000000"
	fs := replicaFindings(c, &s3.HeadObjectOutput{ReplicationStatus: "REPLICA", ServerSideEncryption: "aws:kms", SSEKMSKeyId: aws.String(other)})
	if !slices.ContainsFunc(fs, func(f Finding) bool { return f.Check == "canary-replica-key" }) {
		t.Errorf("a replica under %s is not reported: %v", other, fs)
	}
	fs = replicaFindings(c, &s3.HeadObjectOutput{ReplicationStatus: "REPLICA", ServerSideEncryption: "AES256"})
	if !slices.ContainsFunc(fs, func(f Finding) bool { return f.Check == "canary-replica-key" }) {
		t.Errorf("an SSE-S3 replica is not reported: %v", fs)
	}
}

// TestCanaryGrantsAreMinimal removes each canary action from both verifier roles and
// requires the canary to be refused (AccessDenied in a put, check or delete), and walks
// every requirement row of the canary.
func TestCanaryGrantsAreMinimal(t *testing.T) {
	env, req := provisioned(t)
	members := []string{localaws.SourceAccount, localaws.DestinationAccount}
	full := func(acct string) policy.Document {
		return policy.VerifierPolicy(policy.VerifierParams{Account: acct, HubAccount: localaws.HubAccount, ExternalID: testExternalID,
			HubRoleARN: policy.RoleARN(localaws.HubAccount, "/", names.VerifyFunctionRoleName)})
	}
	put := func(t *testing.T, acct string, doc policy.Document) {
		t.Helper()
		if _, err := awsclient.IAM(env.root(acct, "us-east-1")).PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{
			RoleName: aws.String(names.VerifierRoleName), PolicyName: aws.String(names.VerifierPolicyName), PolicyDocument: aws.String(doc.String())}); err != nil {
			t.Fatal(err)
		}
	}
	walked := map[string]bool{}
	for i, st := range full(localaws.SourceAccount).Statement {
		for _, action := range st.Action {
			r, ok := policy.RequiredBy(st.Sid, action)
			if !ok || r.Stages[0] != policy.VerifyCanary {
				continue
			}
			walked[r.Purpose+" "+strings.ToLower(action)] = true
			t.Run(st.Sid+"/"+action, func(t *testing.T) {
				for _, acct := range members {
					doc := full(acct)
					doc.Statement[i].Action = slices.DeleteFunc(slices.Clone(doc.Statement[i].Action), func(a string) bool { return a == action })
					if len(doc.Statement[i].Action) == 0 {
						doc.Statement = slices.Delete(doc.Statement, i, i+1)
					}
					put(t, acct, doc)
				}
				res, err := canaryRun(t, env, req)
				for _, acct := range members {
					put(t, acct, full(acct))
				}
				refused := awsclient.IsAccessDenied(err) || strings.Contains(errString(err), "AccessDenied") || strings.Contains(errString(err), "Forbidden") ||
					slices.ContainsFunc(res.Findings, func(f Finding) bool { return f.Check == "canary-put" || f.Check == "canary-replica-missing" })
				if !refused {
					t.Fatalf("without %s the canary still ran: %s %v %v", action, res.Status, res.Findings, err)
				}
				t.Logf("without %s: %s %v %v", action, res.Status, res.Findings, err)
				// Whatever a refused step left behind goes, as the root, so the next walk starts clean.
				for _, side := range []spec.Endpoint{req.Source, req.Destination} {
					c := awsclient.S3(env.root(side.Account, side.Region))
					v, _ := c.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(side.Bucket), Prefix: aws.String(req.CanaryKeyPrefix())})
					for _, o := range v.Versions {
						_, _ = c.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(side.Bucket), Key: o.Key, VersionId: o.VersionId})
					}
				}
			})
		}
	}
	// The trust: a verifier that trusts another hub role refuses the verify Lambda's.
	t.Run("trust", func(t *testing.T) {
		c := awsclient.IAM(env.root(req.Source.Account, "us-east-1"))
		vp := policy.VerifierParams{HubAccount: localaws.HubAccount, ExternalID: testExternalID, HubRoleARN: policy.RoleARN(localaws.HubAccount, "/", names.VerifyFunctionRoleName)}
		set := func(d policy.Document) {
			if _, err := c.UpdateAssumeRolePolicy(t.Context(), &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(names.VerifierRoleName), PolicyDocument: aws.String(d.String())}); err != nil {
				t.Fatal(err)
			}
		}
		other := vp
		other.HubRoleARN = policy.RoleARN(localaws.HubAccount, "/", names.ProvisionFunctionRoleName)
		set(policy.VerifierTrustPolicy(other))
		defer set(policy.VerifierTrustPolicy(vp))
		base, err := localdeploy.HubRoleConfig(t.Context(), env.deploy, names.VerifyFunctionRoleName)
		if err != nil {
			t.Fatal(err)
		}
		_, err = AuditorConnector{Base: base, ExternalID: testExternalID, RoleName: names.VerifierRoleName}.Connect(t.Context(), req.Source.Account, req.Source.Region)
		if !strings.Contains(errString(err), "AccessDenied") {
			t.Fatalf("a verifier that trusts another role: %v, want AccessDenied", err)
		}
		walked[policy.PurposeVerifierTrust+" sts:assumerole"] = true
	})
	for _, r := range policy.Requirements() {
		if len(r.Stages) > 0 && r.Stages[0] == policy.VerifyCanary && !walked[r.Purpose+" "+strings.ToLower(r.Action)] {
			t.Errorf("%s in %s is never walked", r.Action, r.Purpose)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
