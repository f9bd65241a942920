package provision

// Integration tests: the same Service the Lambda runs, against the member-account
// simulator (internal/localaws), reached through a hub role and the member provisioner
// roles that internal/localdeploy creates from the same policy builders as the CDK stacks.

import (
	"bytes"
	"context"

	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

const testExternalID = "s3crr-test-external-id"

// localEnv is one simulated deployment: the simulator, its endpoint and a Service whose
// sessions start from the hub provision role.
type localEnv struct {
	srv      *localaws.Server
	endpoint string
	svc      *Service
	deploy   localdeploy.Params
}

func newLocalEnv(t testing.TB, opts localaws.Options) *localEnv {
	t.Helper()
	return newLocalEnvWith(t, opts, []string{localaws.SourceAccount, localaws.DestinationAccount}, "")
}

// newLocalEnvWith is newLocalEnv with other member accounts (every one gets the member
// stack) and, when org is set, an organization deployment.
func newLocalEnvWith(t testing.TB, opts localaws.Options, members []string, org string) *localEnv {
	t.Helper()
	srv := localaws.New(opts)
	endpoint, stop := srv.Start()
	t.Cleanup(stop)
	t.Cleanup(func() {
		// A condition key the simulator supplies but its evaluator does not know would
		// make any policy using it deny: a simulator bug that could hide a real one here.
		if keys := srv.UnknownContextKeys(); len(keys) > 0 {
			t.Errorf("the simulator supplied condition keys its evaluator does not know: %v", keys)
		}
	})
	p := localdeploy.Params{
		Endpoint:       endpoint,
		HubAccount:     localaws.HubAccount,
		Members:        members,
		ExternalID:     testExternalID,
		OrganizationID: org,
	}
	ctx := context.Background()
	if _, err := localdeploy.Deploy(ctx, p); err != nil {
		t.Fatalf("deploy the local stacks: %v", err)
	}
	base, err := localdeploy.HubFunctionConfig(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	// One connection pool for every session, as a Lambda's warm process reuses its own:
	// a pool per client leaves idle connections behind, thousands over a long fan-in.
	base.HTTPClient = testHTTPClient
	return &localEnv{srv: srv, endpoint: endpoint, deploy: p,
		svc: New(Config{ExternalID: testExternalID, BatchPollInterval: 10 * time.Millisecond, Registry: &memRegistry{}, OrganizationID: org}, AssumeRoleConnector{Base: base})}
}

// sampleRequest is statemachine/sample-pair.json, the request the README and DESIGN show.
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

// root returns an SDK configuration for a simulated account's root user.
func (e *localEnv) root(account, region string) aws.Config {
	cfg := localdeploy.RootConfig(e.endpoint, account, region)
	cfg.HTTPClient = testHTTPClient
	return cfg
}

// testHTTPClient is the HTTP client of every SDK client the tests make.
var testHTTPClient = awshttp.NewBuildableClient()

func (e *localEnv) apply(t testing.TB, req []byte) []Result {
	t.Helper()
	res, err := e.svc.Apply(context.Background(), req)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func countChanges(res []Result) int {
	n := 0
	for _, r := range res {
		n += len(r.Changes)
	}
	return n
}

// putAndWait writes an object to the source bucket as account A's root and waits until
// the simulator has replicated it (or failed to).
func (e *localEnv) putAndWait(t testing.TB, r spec.Request, key string, tagging string) *s3.PutObjectOutput {
	t.Helper()
	ctx := context.Background()
	in := &s3.PutObjectInput{Bucket: aws.String(r.Source.Bucket), Key: aws.String(key), Body: bytes.NewReader([]byte("hello " + key))}
	if tagging != "" {
		in.Tagging = aws.String(tagging)
	}
	out, err := awsclient.S3(e.root(r.Source.Account, r.Source.Region)).PutObject(ctx, in)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.srv.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	return out
}

// putBucketKeyAndWait is putAndWait for an object uploaded with an S3 Bucket Key
// (x-amz-server-side-encryption-bucket-key-enabled: true), whatever the bucket's default.
func (e *localEnv) putBucketKeyAndWait(t testing.TB, r spec.Request, key string) *s3.PutObjectOutput {
	t.Helper()
	ctx := context.Background()
	out, err := awsclient.S3(e.root(r.Source.Account, r.Source.Region)).PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(r.Source.Bucket), Key: aws.String(key), Body: bytes.NewReader([]byte("hello " + key)),
		BucketKeyEnabled: aws.Bool(true)})
	if err != nil {
		t.Fatalf("put %s with a Bucket Key: %v", key, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.srv.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestProvisionSamplePairReplicatesWithDestinationKey(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	ctx := context.Background()

	res := env.apply(t, reqJSON)
	if countChanges(res) == 0 {
		t.Fatal("a first run on empty accounts reported no changes")
	}
	put := env.putAndWait(t, req, "invoices/2026/11.csv", "")

	src, err := awsclient.S3(env.root(req.Source.Account, req.Source.Region)).HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(req.Source.Bucket), Key: aws.String("invoices/2026/11.csv"), VersionId: put.VersionId})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(src.ReplicationStatus); got != "COMPLETED" {
		status, code, detail, _ := env.srv.ObjectReplication(req.Source.Bucket, "invoices/2026/11.csv", aws.ToString(put.VersionId))
		t.Fatalf("source replication status = %q, want COMPLETED (simulator: %s %s %s)", got, status, code, detail)
	}
	dst, err := awsclient.S3(env.root(req.Destination.Account, req.Destination.Region)).HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(req.Destination.Bucket), Key: aws.String("invoices/2026/11.csv"), VersionId: put.VersionId})
	if err != nil {
		t.Fatalf("head replica: %v", err)
	}
	dstKey := outputOf(res, names.StageKey, SideDestination, "keyArn")
	srcKey := outputOf(res, names.StageKey, SideSource, "keyArn")
	if dstKey == "" || dstKey == srcKey {
		t.Fatalf("key outputs: source %q destination %q", srcKey, dstKey)
	}
	if got := aws.ToString(dst.SSEKMSKeyId); got != dstKey {
		t.Errorf("replica SSEKMSKeyId = %q, want the destination key %q", got, dstKey)
	}
	if got := string(dst.ReplicationStatus); got != "REPLICA" {
		t.Errorf("replica status = %q, want REPLICA", got)
	}
	if got := aws.ToString(src.SSEKMSKeyId); got != srcKey {
		t.Errorf("source object key = %q, want the source key %q (default encryption)", got, srcKey)
	}
}

func outputOf(res []Result, stage, side, key string) string {
	for _, r := range res {
		if r.Stage == stage && r.Side == side {
			return r.Outputs[key]
		}
	}
	return ""
}

func TestProvisionRerunMakesNoMutatingCall(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	env.apply(t, reqJSON)

	env.srv.ResetCalls()
	res := env.apply(t, reqJSON)
	if n := countChanges(res); n != 0 {
		t.Errorf("second run reported %d changes: %v", n, res)
	}
	if n := env.srv.MutatingCalls(""); n != 0 {
		for _, c := range env.srv.Calls() {
			if c.Mutating {
				t.Logf("mutating: %s %s %s ×%d", c.Account, c.Service, c.Operation, c.Count)
			}
		}
		t.Errorf("second run made %d mutating calls, want 0", n)
	}
}

func TestPlanOnFreshPairListsChangesAndMutatesNothing(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	env.srv.ResetCalls()
	planned, err := env.svc.Plan(context.Background(), reqJSON)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if n := env.srv.MutatingCalls(""); n != 0 {
		t.Fatalf("plan made %d mutating calls", n)
	}
	// What a real run does must be exactly what the plan said, change for change.
	applied := env.apply(t, reqJSON)
	if got, want := summarize(planned), summarize(applied); !equalStrings(got, want) {
		t.Errorf("plan and apply differ:\nplan:  %q\napply: %q", got, want)
	}
}

// summarize lists changes as "stage/side action resource", with planned key ARNs made
// comparable to real ones.
func summarize(res []Result) []string {
	var out []string
	for _, r := range res {
		for _, c := range r.Changes {
			out = append(out, r.Stage+"/"+r.Side+" "+c.Action+" "+c.Account)
		}
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMeasureAPICalls prints, per service, the API calls of a first run and of a re-run,
// next to the minimal set of mutating calls a first run needs (one per reported change),
// and asserts every mutating call of the first run is a reported change.
func TestMeasureAPICalls(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	for run := 1; run <= 2; run++ {
		env.srv.ResetCalls()
		res := env.apply(t, reqJSON)
		perService := map[string][2]int{} // read, mutating
		for _, c := range env.srv.Calls() {
			if c.Account == localaws.HubAccount {
				continue // the hub role's own AssumeRole calls
			}
			v := perService[c.Service]
			if c.Mutating {
				v[1] += c.Count
			} else {
				v[0] += c.Count
			}
			perService[c.Service] = v
		}
		t.Logf("run %d: changes reported %d", run, countChanges(res))
		for _, svc := range []string{"sts", "s3", "kms", "iam", "cloudwatch"} {
			t.Logf("run %d: %-10s read %3d mutating %3d", run, svc, perService[svc][0], perService[svc][1])
		}
		if run == 1 {
			// The minimal set: a fresh pair needs each of these changes once, and each is
			// exactly one mutating call.
			t.Logf("run 1: the minimal mutating set, one call per change:")
			for _, c := range env.srv.Calls() {
				if c.Mutating && c.Account != localaws.HubAccount {
					t.Logf("run 1:   %s %-10s %-36s x%d", c.Account, c.Service, c.Operation, c.Count)
				}
			}
		}
		if got, want := env.srv.MutatingCalls(""), countChanges(res); got != want {
			t.Errorf("run %d: %d mutating calls but %d reported changes: every mutating call must be a reported change", run, got, want)
		}
	}
}

func TestCallerIdentityIsProvisionerSession(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	req := mustParse(t, sampleRequest(t))
	m, err := env.svc.connect.Connect(context.Background(), req.Destination.Account, req.Destination.Region, req.PairID)
	if err != nil {
		t.Fatal(err)
	}
	id, err := m.sts.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := "arn:aws:sts::222222222222:assumed-role/s3crr-provisioner/" + names.SessionName(req.PairID)
	if got := aws.ToString(id.Arn); got != want {
		t.Errorf("caller = %s, want %s", got, want)
	}
}

// memRegistry stands for the pairs table in tests: empty, it says no other pair shares
// anything (a lone pair); tests of shared destinations register their pairs in it, as
// the state machine's RegisterPair does after a successful run.
type memRegistry struct{ pairs map[string]RegisteredPair }

func (r *memRegistry) PairsInto(_ context.Context, account string) ([]RegisteredPair, error) {
	var out []RegisteredPair
	for _, p := range r.pairs {
		if p.DestinationAccount == account {
			out = append(out, p)
		}
	}
	return out, nil
}

// register records a provisioned pair; unregister forgets a destroyed one.
func (r *memRegistry) register(p RegisteredPair) {
	if r.pairs == nil {
		r.pairs = map[string]RegisteredPair{}
	}
	r.pairs[p.PairID] = p
}

func (r *memRegistry) unregister(pairID string) { delete(r.pairs, pairID) }
