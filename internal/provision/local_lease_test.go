package provision

// Concurrent pairs into one destination bucket and key, against the simulator. AWS
// replaces a bucket policy, a key policy, a tag set... whole on every put, with no
// conditional write (docs/aws-facts.md#F-WHOLE-DOCUMENT-PUTS), and so does the simulator:
// without the stages' leases, pairs merging at the same time lose each other's grants.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/sivchari/kumo"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// kumoLeases is the deployed lease store, lease.DynamoDB, on a lease table created as
// HubStack creates it, in an in-process kumo (the hub's DynamoDB stand-in). now is its
// clock.
func kumoLeases(t testing.TB, now func() time.Time) lease.DynamoDB {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	db := dynamodb.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(localaws.HubAccount, "x", "")})
	table := strings.ReplaceAll(t.Name(), "/", "-") + "-leases" // kumo's state is shared by the process
	if err := localhub.CreateLeaseTable(t.Context(), db, table); err != nil {
		t.Fatal(err)
	}
	return lease.DynamoDB{DB: db, Table: table, Now: now}
}

// faninRequest is pair i of a fan-in: its own source bucket and key in account A, the
// shared destination bucket and key (by alias) in account B, and its own prefix, so that
// each pair adds its object pattern to the destination's shared grants (a pair the grants
// already admit would merge nothing, and race for nothing).
func faninRequest(id string) []byte {
	return fmt.Appendf(nil, `{
  "pairId": %[1]q,
  "source":      {"account": %[2]q, "region": "ap-south-1", "bucket": "src-%[1]s", "kmsKeyAlias": "alias/s3crr/%[1]s/source"},
  "destination": {"account": %[3]q, "region": "us-east-1",  "bucket": "central-backup", "kmsKeyAlias": "alias/s3crr/central/destination"},
  "rule": {"prefix": "%[1]s/", "storageClass": "STANDARD"}
}`, id, localaws.SourceAccount, localaws.DestinationAccount)
}

// widenRaces delays every read and every put of the destination's shared documents, as a
// busy account or a slow network would: the window between a stage's read and its put,
// where another pair's put is lost, becomes wide enough that concurrent runs fall into it
// every time, and a put can land after another pair's read-back (which a read-back alone
// cannot see: only the lease prevents it).
func widenRaces(srv *localaws.Server) {
	for _, f := range []struct{ service, op string }{
		{"s3", "GetBucketPolicy"}, {"kms", "GetKeyPolicy"}, {"s3", "GetBucketTagging"},
		{"s3", "PutBucketPolicy"}, {"kms", "PutKeyPolicy"}, {"s3", "PutBucketTagging"},
	} {
		srv.InjectFault(localaws.Fault{Account: localaws.DestinationAccount, Service: f.service, Operation: f.op, Latency: 30 * time.Millisecond})
	}
}

// replicates puts an object in the pair's source and reports why it did not replicate
// under the destination key, or "".
func (e *localEnv) replicates(t *testing.T, r spec.Request, dstKeyARN string) string {
	t.Helper()
	ctx := context.Background()
	key := r.Rule.Prefix + "check/" + r.PairID
	put := e.putAndWait(t, r, key, "")
	status, code, detail, _ := e.srv.ObjectReplication(r.Source.Bucket, key, aws.ToString(put.VersionId))
	if status != "COMPLETED" {
		return fmt.Sprintf("replication %s %s %s", status, code, detail)
	}
	dst, err := awsclient.S3(e.root(r.Destination.Account, r.Destination.Region)).HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(r.Destination.Bucket), Key: aws.String(key), VersionId: put.VersionId})
	if err != nil {
		return "head replica: " + err.Error()
	}
	if got := aws.ToString(dst.SSEKMSKeyId); got != dstKeyARN {
		return "replica encrypted with " + got + ", not the destination key"
	}
	return ""
}

// TestConcurrentPairsIntoOneDestinationKeepEveryGrant applies n pairs into one destination
// bucket and key at the same time, in several rounds after a first pair created them: every
// run must succeed and every pair's object must replicate under the destination key.
func TestConcurrentPairsIntoOneDestinationKeepEveryGrant(t *testing.T) {
	const n, rounds = 8, 3
	env := newLocalEnv(t, localaws.Options{})
	env.svc.cfg.Leases = kumoLeases(t, nil)
	first := env.apply(t, faninRequest("fanin-first"))
	dstKey := outputOf(first, "key", SideDestination, "keyArn")
	widenRaces(env.srv)

	var all []spec.Request
	for round := range rounds {
		var wg sync.WaitGroup
		errs := make([]error, n)
		reqs := make([]spec.Request, n)
		for i := range n {
			id := fmt.Sprintf("fanin-r%d-p%d", round, i)
			reqs[i] = mustParse(t, faninRequest(id))
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = env.svc.Apply(context.Background(), faninRequest(id))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: apply %s: %v", round, reqs[i].PairID, err)
			}
		}
		all = append(all, reqs...)
		lost := 0
		for _, r := range all {
			if why := env.replicates(t, r, dstKey); why != "" {
				lost++
				t.Errorf("round %d: pair %s does not replicate: %s", round, r.PairID, why)
			}
		}
		if lost > 0 {
			t.Fatalf("round %d: %d of %d pairs lost a grant although every run succeeded", round, lost, len(all))
		}
	}
}

// TestCrashedHolderLeaseExpires: a run that took a document's lease and died (its Lambda
// timed out) blocks the document only until the lease expires; the next run then proceeds.
func TestCrashedHolderLeaseExpires(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	var skew atomic.Int64 // how far the lease table's clock is ahead of the wall clock
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	store := kumoLeases(t, now)
	env.svc.cfg.Leases = store
	env.apply(t, faninRequest("crash-first"))
	req := faninRequest("crash-next")
	for _, stg := range []string{names.StageBucket, names.StageKey} {
		for _, side := range []string{SideSource, SideDestination} {
			if _, err := env.svc.Run(t.Context(), Event{Stage: stg, Side: side, Request: req}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := env.svc.Run(t.Context(), Event{Stage: names.StageRole, Side: SideSource, Request: req}); err != nil {
		t.Fatal(err)
	}
	doc := lease.S3Document("central-backup", "policy")
	crashed := lease.Lease{Resource: doc, Owner: lease.NewOwner("pair crash-first stage bucketPolicy(destination)"), Expires: now().Add(time.Minute)}
	if err := store.Acquire(t.Context(), crashed); err != nil {
		t.Fatal(err)
	}
	ev := Event{Stage: names.StageBucketPolicy, Side: SideDestination, Request: req}
	_, err := env.svc.Run(t.Context(), ev)
	var busy *DocumentBusy
	if !errors.As(err, &busy) || !strings.Contains(busy.Message, doc) {
		t.Fatalf("with the document's lease held, the stage returned %v, want DocumentBusy naming %s", err, doc)
	}
	skew.Store(int64(time.Minute + 2*time.Second))
	res, err := env.svc.Run(t.Context(), ev)
	if err != nil {
		t.Fatalf("after the crashed holder's lease expired: %v", err)
	}
	if len(res.Changes) != 1 {
		t.Errorf("the stage made %v, want the one bucket policy merge", res.Changes)
	}
	// Its own lease was released: another run takes the document at once.
	if err := store.Acquire(t.Context(), lease.Lease{Resource: doc, Owner: lease.NewOwner("next"), Expires: now().Add(time.Minute)}); err != nil {
		t.Errorf("the stage did not release its lease: %v", err)
	}
}

// foreignWriter replaces the destination bucket policy with what it read before the run
// plus a statement of its own, right after the stage's PutBucketPolicy and before the
// read that follows it (the read-back): once, or after every put when always is set. It
// stands for a writer that takes no s3crr lease racing between put and read-back.
func foreignWriter(t *testing.T, env *localEnv, bucket string, always bool) {
	t.Helper()
	c := awsclient.S3(env.root(localaws.DestinationAccount, "us-east-1"))
	out, err := c.GetBucketPolicy(t.Context(), &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	before, err := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
	if err != nil {
		t.Fatal(err)
	}
	theirs := policy.Statement{Sid: "AuditReadOnly", Effect: policy.Allow, Principal: policy.AWSPrincipal(policy.AccountRootARN(localaws.DestinationAccount)),
		Action: []string{"s3:GetBucketPolicy"}, Resource: []string{"arn:aws:s3:::" + bucket}}
	clobber, _ := policy.Merge(before, []policy.Statement{theirs})
	var armed, writing, done atomic.Bool
	env.srv.InjectFault(localaws.Fault{Account: localaws.DestinationAccount, Service: "s3", Operation: "PutBucketPolicy", Before: func() {
		if !writing.Load() && !done.Load() {
			armed.Store(true) // s3crr's put is being served: the next read is its read-back
		}
	}})
	env.srv.InjectFault(localaws.Fault{Account: localaws.DestinationAccount, Service: "s3", Operation: "GetBucketPolicy", Before: func() {
		if !armed.CompareAndSwap(true, false) {
			return
		}
		writing.Store(true)
		defer writing.Store(false)
		if _, err := c.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(clobber.JSON()))}); err != nil {
			t.Error(err)
		}
		done.Store(!always)
	}})
}

// readyForBucketPolicy runs a pair's stages up to the destination bucket policy.
func readyForBucketPolicy(t *testing.T, env *localEnv, req []byte) {
	t.Helper()
	for _, stg := range []struct{ name, side string }{
		{names.StageBucket, SideSource}, {names.StageBucket, SideDestination}, {names.StageKey, SideSource},
		{names.StageKey, SideDestination}, {names.StageRole, SideSource},
	} {
		if _, err := env.svc.Run(t.Context(), Event{Stage: stg.name, Side: stg.side, Request: req}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestForeignWriterBetweenPutAndReadBackIsDetected(t *testing.T) {
	t.Run("once: merged again", func(t *testing.T) {
		env := newLocalEnv(t, localaws.Options{})
		env.apply(t, faninRequest("foreign-first"))
		req := faninRequest("foreign-next")
		readyForBucketPolicy(t, env, req)
		foreignWriter(t, env, "central-backup", false)
		res, err := env.svc.Run(t.Context(), Event{Stage: names.StageBucketPolicy, Side: SideDestination, Request: req})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "lost") || len(res.Changes) != 1 {
			t.Errorf("warnings %q, changes %v: want the lost write reported and one merge", res.Warnings, res.Changes)
		}
		env.srv.ClearFaults()
		out, err := awsclient.S3(env.root(localaws.DestinationAccount, "us-east-1")).GetBucketPolicy(t.Context(), &s3.GetBucketPolicyInput{Bucket: aws.String("central-backup")})
		if err != nil {
			t.Fatal(err)
		}
		for _, sid := range []string{"AuditReadOnly", "foreign-first", "foreign-next"} {
			if !strings.Contains(aws.ToString(out.Policy), sid) {
				t.Errorf("the bucket policy lost %s: %s", sid, aws.ToString(out.Policy))
			}
		}
		r := mustParse(t, req)
		if why := env.replicates(t, r, outputOf(env.apply(t, req), names.StageKey, SideDestination, "keyArn")); why != "" {
			t.Errorf("pair %s does not replicate: %s", r.PairID, why)
		}
	})
	t.Run("always: DocumentChanged names what is missing", func(t *testing.T) {
		env := newLocalEnv(t, localaws.Options{})
		env.apply(t, faninRequest("foreign-first"))
		req := faninRequest("foreign-next")
		readyForBucketPolicy(t, env, req)
		foreignWriter(t, env, "central-backup", true)
		_, err := env.svc.Run(t.Context(), Event{Stage: names.StageBucketPolicy, Side: SideDestination, Request: req})
		var changed *DocumentChanged
		if !errors.As(err, &changed) {
			t.Fatalf("stage returned %v, want DocumentChanged", err)
		}
		for _, want := range []string{lease.S3Document("central-backup", "policy"), "statement " + policy.SidReplicaWriteShared + " admitting"} {
			if !strings.Contains(changed.Message, want) {
				t.Errorf("DocumentChanged %q does not name %q", changed.Message, want)
			}
		}
	})
}
