package verify

// Integration tests: the checks against the member-account simulator, reading through
// the s3crr-auditor roles that internal/localdeploy creates from the same builders as
// MemberStack, with hub credentials, as `crr doctor` does.

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/provision"
	"github.com/s3crr/s3crr/internal/spec"
)

const testExternalID = "s3crr-test-external-id"

type localEnv struct {
	srv      *localaws.Server
	endpoint string
	deploy   localdeploy.Params
}

func newLocalEnv(t testing.TB) *localEnv {
	t.Helper()
	srv := localaws.New(localaws.Options{})
	endpoint, stop := srv.Start()
	t.Cleanup(stop)
	p := localdeploy.Params{Endpoint: endpoint, HubAccount: localaws.HubAccount,
		Members: []string{localaws.SourceAccount, localaws.DestinationAccount}, ExternalID: testExternalID}
	if _, err := localdeploy.Deploy(context.Background(), p); err != nil {
		t.Fatalf("deploy the local stacks: %v", err)
	}
	return &localEnv{srv: srv, endpoint: endpoint, deploy: p}
}

func (e *localEnv) root(account, region string) aws.Config {
	return localdeploy.RootConfig(e.endpoint, account, region)
}

// provision applies a request with the provision service, as the state machine does.
func (e *localEnv) provision(t testing.TB, req []byte) {
	t.Helper()
	ctx := context.Background()
	base, err := localdeploy.HubFunctionConfig(ctx, e.deploy)
	if err != nil {
		t.Fatal(err)
	}
	svc := provision.New(provision.Config{ExternalID: testExternalID}, provision.AssumeRoleConnector{Base: base})
	if _, err := svc.Apply(ctx, req); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// doctor runs the checks with the hub account's credentials through the auditor roles.
func (e *localEnv) doctor(t testing.TB, r spec.Request) Report {
	t.Helper()
	rep, err := Run(context.Background(), r, AuditorConnector{Base: e.root(localaws.HubAccount, r.Source.Region), ExternalID: testExternalID})
	if err != nil {
		t.Fatalf("doctor: %v", err)
	}
	return rep
}

func sampleRequest(t testing.TB) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "statemachine", "sample-pair.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, b []byte) spec.Request {
	t.Helper()
	r, err := spec.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wantClean(t *testing.T, rep Report) {
	t.Helper()
	for _, f := range rep.Findings {
		t.Errorf("unexpected finding: %s", f)
	}
}

func wantFinding(t *testing.T, rep Report, check, code string) Finding {
	t.Helper()
	f, ok := rep.Has(check)
	if !ok {
		t.Fatalf("no %s finding; got %v", check, rep.Findings)
	}
	if f.Code != code {
		t.Errorf("%s: code %q, want %q (%s)", check, f.Code, code, f)
	}
	if !rep.Fails() && f.Severity == SeverityError {
		t.Errorf("report with an error finding does not fail")
	}
	if f.Fix == "" {
		t.Errorf("%s has no fix", check)
	}
	return f
}

// provisioned returns an env with the sample pair applied, and its request.
func provisioned(t *testing.T) (*localEnv, spec.Request) {
	env := newLocalEnv(t)
	b := sampleRequest(t)
	env.provision(t, b)
	return env, mustParse(t, b)
}

func TestLocalProvisionedPairPasses(t *testing.T) {
	env, req := provisioned(t)
	env.srv.ResetCalls()
	rep := env.doctor(t, req)
	wantClean(t, rep)
	if !rep.Managed {
		t.Error("a pair s3crr provisioned is not recognised as managed")
	}
	reads, writes := 0, 0
	for _, c := range env.srv.Calls() {
		if c.Service == "sts" {
			continue
		}
		if c.Mutating {
			writes += c.Count
		} else {
			reads += c.Count
		}
	}
	t.Logf("sufficiency + drift of one pair: %d read calls (target < 40), %d writes", reads, writes)
	if writes != 0 {
		t.Errorf("the checks made %d writes", writes)
	}
	if reads >= 40 {
		t.Errorf("the checks made %d reads, target under 40", reads)
	}
}

func keyARNOf(t *testing.T, env *localEnv, account, region, alias string) string {
	t.Helper()
	out, err := awsclient.KMS(env.root(account, region)).DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

func TestLocalTamperingIsFound(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, env *localEnv, r spec.Request)
		check  string
		code   string
	}{
		{"destination key policy statement removed", func(t *testing.T, env *localEnv, r spec.Request) {
			c := awsclient.KMS(env.root(r.Destination.Account, r.Destination.Region))
			arn := keyARNOf(t, env, r.Destination.Account, r.Destination.Region, r.Destination.KMSKeyAlias)
			out, err := c.GetKeyPolicy(t.Context(), &kms.GetKeyPolicyInput{KeyId: aws.String(arn), PolicyName: aws.String("default")})
			if err != nil {
				t.Fatal(err)
			}
			doc, _ := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
			doc, _ = policy.Remove(doc, policy.SidReplicaEncryptShared)
			if _, err := c.PutKeyPolicy(t.Context(), &kms.PutKeyPolicyInput{KeyId: aws.String(arn), PolicyName: aws.String("default"), Policy: aws.String(doc.String())}); err != nil {
				t.Fatal(err)
			}
		}, "destination-key-policy", "DstPutObjectNotPermitted"},
		{"destination versioning suspended", func(t *testing.T, env *localEnv, r spec.Request) {
			_, err := awsclient.S3(env.root(r.Destination.Account, r.Destination.Region)).PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{
				Bucket: aws.String(r.Destination.Bucket), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
			if err != nil {
				t.Fatal(err)
			}
		}, "destination-versioning", "DstBucketUnversioned"},
		{"destination key disabled", func(t *testing.T, env *localEnv, r spec.Request) {
			arn := keyARNOf(t, env, r.Destination.Account, r.Destination.Region, r.Destination.KMSKeyAlias)
			if _, err := awsclient.KMS(env.root(r.Destination.Account, r.Destination.Region)).DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: aws.String(arn)}); err != nil {
				t.Fatal(err)
			}
		}, "destination-key-state", "DstKmsKeyInvalidState"},
		{"rule deleted", func(t *testing.T, env *localEnv, r spec.Request) {
			if _, err := awsclient.S3(env.root(r.Source.Account, r.Source.Region)).DeleteBucketReplication(t.Context(), &s3.DeleteBucketReplicationInput{Bucket: aws.String(r.Source.Bucket)}); err != nil {
				t.Fatal(err)
			}
		}, "replication-rule", ""},
		{"explicit deny on the replication role", func(t *testing.T, env *localEnv, r spec.Request) {
			deny := `{"Version":"2012-10-17","Statement":[{"Sid":"NoReplicas","Effect":"Deny","Action":"s3:ReplicateObject","Resource":"*"}]}`
			if _, err := awsclient.IAM(env.root(r.Source.Account, r.Source.Region)).PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{
				RoleName: aws.String(r.ReplicationRoleName()), PolicyName: aws.String("lockdown"), PolicyDocument: aws.String(deny)}); err != nil {
				t.Fatal(err)
			}
		}, "role-deny", "DstPutObjectNotPermitted"},
		{"source key policy no longer delegates to IAM", func(t *testing.T, env *localEnv, r spec.Request) {
			c := awsclient.KMS(env.root(r.Source.Account, r.Source.Region))
			arn := keyARNOf(t, env, r.Source.Account, r.Source.Region, r.Source.KMSKeyAlias)
			out, err := c.GetKeyPolicy(t.Context(), &kms.GetKeyPolicyInput{KeyId: aws.String(arn), PolicyName: aws.String("default")})
			if err != nil {
				t.Fatal(err)
			}
			doc, _ := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
			var kept []policy.Statement
			for _, s := range doc.Statement {
				if !policy.DelegatesToIAM(policy.Document{Statement: []policy.Statement{s}}, r.Source.Account, "kms:Decrypt") {
					kept = append(kept, s)
				}
			}
			// Keep the key administrable by the provisioner and the root's key
			// management and uploads, but no longer let IAM policies grant kms:Decrypt.
			kept = append(kept, policy.Statement{Sid: "RootAdminOnly", Effect: policy.Allow, Principal: policy.AWSPrincipal(policy.AccountRootARN(r.Source.Account)),
				Action: []string{"kms:Describe*", "kms:Get*", "kms:Put*", "kms:List*", "kms:Enable*", "kms:Disable*", "kms:GenerateDataKey"}, Resource: []string{"*"}})
			doc.Statement = kept
			if _, err := c.PutKeyPolicy(t.Context(), &kms.PutKeyPolicyInput{KeyId: aws.String(arn), PolicyName: aws.String("default"), Policy: aws.String(doc.String())}); err != nil {
				t.Fatal(err)
			}
		}, "source-key-policy", "SrcGetObjectNotPermitted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, req := provisioned(t)
			tt.tamper(t, env, req)
			rep := env.doctor(t, req)
			f := wantFinding(t, rep, tt.check, tt.code)
			if f.Severity != SeverityError {
				t.Errorf("%s is a %s, want an error", f, f.Severity)
			}
			if !rep.Fails() {
				t.Error("the report does not fail")
			}
			t.Logf("%s\n  fix: %s", f, f.Fix)
			// The simulator's replication engine is the independent judge: an object
			// put now must fail with the code the check predicted.
			if tt.code != "" {
				key := ".s3crr-canary/after-tampering"
				out, err := awsclient.S3(env.root(req.Source.Account, req.Source.Region)).PutObject(t.Context(), &s3.PutObjectInput{
					Bucket: aws.String(req.Source.Bucket), Key: aws.String(key), Body: strings.NewReader("x")})
				if err != nil {
					t.Fatal(err)
				}
				if err := env.srv.WaitIdle(t.Context()); err != nil {
					t.Fatal(err)
				}
				status, code, detail, _ := env.srv.ObjectReplication(req.Source.Bucket, key, aws.ToString(out.VersionId))
				if status != "FAILED" || code != tt.code {
					t.Errorf("replication after tampering: %s %s (%s), the check predicted %s", status, code, detail, tt.code)
				}
			}
		})
	}
}
