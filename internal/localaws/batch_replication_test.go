package localaws

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3crr/s3crr/internal/awsclient"
)

// Batch Replication through the S3 Control API, driven by the SDK's s3control client as
// built by internal/awsclient (which drops the account host label with an endpoint
// override). The Batch role is written here by hand from docs/aws-facts.md
// (F-BATCH-REPLICATION).

const (
	batchRoleName  = "s3crr-batch"
	batchRoleARN   = "arn:aws:iam::111111111111:role/s3crr-batch"
	batchReportPfx = "s3crr-batch-reports"
)

// batchRole creates the Batch Operations role in A with objectActions on the source
// objects, the two bucket actions the generated manifest needs, and s3:PutObject under the
// report prefix.
func batchRole(t *testing.T, env *e2eEnv, objectActions []string) {
	t.Helper()
	ctx := context.Background()
	_, err := env.iamA.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(batchRoleName),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Service":"batchoperations.s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	e2eMust(t, "create batch role", err)
	statements := []any{
		map[string]any{"Effect": "Allow", "Action": []string{"s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"},
			"Resource": "arn:aws:s3:::" + e2eSrcBucket},
		map[string]any{"Effect": "Allow", "Action": "s3:PutObject",
			"Resource": "arn:aws:s3:::" + e2eSrcBucket + "/" + batchReportPfx + "/*"},
	}
	if len(objectActions) > 0 {
		statements = append(statements, map[string]any{"Effect": "Allow", "Action": objectActions,
			"Resource": "arn:aws:s3:::" + e2eSrcBucket + "/*"})
	}
	_, err = env.iamA.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(batchRoleName), PolicyName: aws.String("batch"),
		PolicyDocument: aws.String(e2eJSON(t, map[string]any{"Version": "2012-10-17", "Statement": statements})),
	})
	e2eMust(t, "put batch role policy", err)
}

func batchClient(env *e2eEnv) *s3control.Client {
	return awsclient.S3Control(RootConfig(env.endpoint, SourceAccount, e2eSrcRegion))
}

// batchCreate starts a Batch Replication job over the source bucket for statuses.
func batchCreate(t *testing.T, env *e2eEnv, token string, confirm bool, statuses ...s3ctypes.ReplicationStatus) string {
	t.Helper()
	out, err := batchClient(env).CreateJob(context.Background(), &s3control.CreateJobInput{
		AccountId:            aws.String(SourceAccount),
		ClientRequestToken:   aws.String(token),
		ConfirmationRequired: aws.Bool(confirm),
		Operation:            &s3ctypes.JobOperation{S3ReplicateObject: &s3ctypes.S3ReplicateObjectOperation{}},
		Priority:             aws.Int32(10),
		RoleArn:              aws.String(batchRoleARN),
		Report: &s3ctypes.JobReport{Enabled: true, Bucket: aws.String("arn:aws:s3:::" + e2eSrcBucket),
			Format: s3ctypes.JobReportFormatReportCsv20180820, Prefix: aws.String(batchReportPfx),
			ReportScope: s3ctypes.JobReportScopeAllTasks},
		ManifestGenerator: &s3ctypes.JobManifestGeneratorMemberS3JobManifestGenerator{Value: s3ctypes.S3JobManifestGenerator{
			SourceBucket:         aws.String("arn:aws:s3:::" + e2eSrcBucket),
			EnableManifestOutput: false,
			Filter: &s3ctypes.JobManifestGeneratorFilter{EligibleForReplication: aws.Bool(true),
				ObjectReplicationStatuses: statuses},
		}},
	})
	e2eMust(t, "create job", err)
	return aws.ToString(out.JobId)
}

func batchDescribe(t *testing.T, env *e2eEnv, id string) *s3ctypes.JobDescriptor {
	t.Helper()
	out, err := batchClient(env).DescribeJob(context.Background(), &s3control.DescribeJobInput{
		AccountId: aws.String(SourceAccount), JobId: aws.String(id)})
	e2eMust(t, "describe job", err)
	return out.Job
}

// batchReport reads the job's completion report: the failure code of every failed row by
// key, and the number of succeeded rows.
func batchReport(t *testing.T, env *e2eEnv, id string) (failed map[string]string, succeeded int) {
	t.Helper()
	ctx := context.Background()
	get := func(key string) []byte {
		out, err := env.s3A.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e2eSrcBucket), Key: aws.String(key)})
		e2eMust(t, "get report "+key, err)
		defer out.Body.Close()
		if out.ServerSideEncryption != "AES256" {
			t.Errorf("report %s encrypted with %q, want AES256 (reports are always SSE-S3)", key, out.ServerSideEncryption)
		}
		b, _ := io.ReadAll(out.Body)
		return b
	}
	var manifest struct {
		Format  string
		Results []struct{ TaskExecutionStatus, Bucket, Key string }
	}
	if err := json.Unmarshal(get(batchReportPfx+"/job-"+id+"/manifest.json"), &manifest); err != nil {
		t.Fatalf("report manifest: %v", err)
	}
	if manifest.Format != "Report_CSV_20180820" {
		t.Errorf("report format %q", manifest.Format)
	}
	failed = map[string]string{}
	for _, r := range manifest.Results {
		rows, err := csv.NewReader(strings.NewReader(string(get(r.Key)))).ReadAll()
		if err != nil {
			t.Fatalf("report %s: %v", r.Key, err)
		}
		for _, row := range rows {
			if len(row) != 7 || row[0] != e2eSrcBucket {
				t.Fatalf("report row %q: want Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage", row)
			}
			if row[3] == "failed" {
				failed[row[1]] = row[4]
			} else {
				succeeded++
			}
		}
	}
	return failed, succeeded
}

// batchFailedObjects writes n objects while B's bucket policy is missing, so they FAIL.
func batchFailedObjects(t *testing.T, n int) (*e2eEnv, []string) {
	env := e2eSetup(t, e2eVariant{noDstBucketPolicy: true})
	var keys []string
	for i := range n {
		key := "inbox/" + string(rune('a'+i))
		v := env.put(t, key, "payload "+key, "")
		keys = append(keys, key+"@"+v)
	}
	env.waitIdle(t)
	for _, kv := range keys {
		key, v, _ := strings.Cut(kv, "@")
		if got := env.headStatus(t, key, v); got != "FAILED" {
			t.Fatalf("%s replication status %q before the repair, want FAILED", key, got)
		}
	}
	return env, keys
}

// batchRepair puts B's bucket policy back.
func batchRepair(t *testing.T, env *e2eEnv) {
	t.Helper()
	_, err := env.s3B.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{
		Bucket: aws.String(e2eDstBucket),
		Policy: aws.String(e2eJSON(t, map[string]any{"Version": "2012-10-17", "Statement": []any{
			map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": e2eRoleARN},
				"Action":   []string{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"},
				"Resource": "arn:aws:s3:::" + e2eDstBucket + "/*"},
		}})),
	})
	e2eMust(t, "repair destination bucket policy", err)
}

func TestBatchReplicationRedrivesFailedObjects(t *testing.T) {
	env, keys := batchFailedObjects(t, 3)
	batchRepair(t, env)
	batchRole(t, env, []string{"s3:InitiateReplication"})

	id := batchCreate(t, env, "redrive-1", true, s3ctypes.ReplicationStatusFailed)
	env.waitIdle(t)
	j := batchDescribe(t, env, id)
	if j.Status != s3ctypes.JobStatusSuspended || aws.ToString(j.SuspendedCause) == "" {
		t.Fatalf("job with ConfirmationRequired is %s (cause %q), want Suspended awaiting confirmation", j.Status, aws.ToString(j.SuspendedCause))
	}
	if got := aws.ToInt64(j.ProgressSummary.TotalNumberOfTasks); got != 3 {
		t.Fatalf("manifest has %d tasks, want the 3 FAILED objects", got)
	}
	// A repeated token returns the same job (idempotent CreateJob).
	if again := batchCreate(t, env, "redrive-1", true, s3ctypes.ReplicationStatusFailed); again != id {
		t.Fatalf("same ClientRequestToken gave job %s, want %s", again, id)
	}

	_, err := batchClient(env).UpdateJobStatus(context.Background(), &s3control.UpdateJobStatusInput{
		AccountId: aws.String(SourceAccount), JobId: aws.String(id), RequestedJobStatus: s3ctypes.RequestedJobStatusReady})
	e2eMust(t, "confirm job", err)
	env.waitIdle(t)

	j = batchDescribe(t, env, id)
	p := j.ProgressSummary
	if j.Status != s3ctypes.JobStatusComplete || aws.ToInt64(p.NumberOfTasksSucceeded) != 3 || aws.ToInt64(p.NumberOfTasksFailed) != 0 {
		t.Fatalf("job %s, %d succeeded, %d failed; want Complete, 3, 0 (reasons %+v)", j.Status,
			aws.ToInt64(p.NumberOfTasksSucceeded), aws.ToInt64(p.NumberOfTasksFailed), j.FailureReasons)
	}
	for _, kv := range keys {
		key, v, _ := strings.Cut(kv, "@")
		if got := env.headStatus(t, key, v); got != "COMPLETED" {
			t.Errorf("%s replication status %q after the re-drive, want COMPLETED", key, got)
		}
		out, err := env.s3B.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(e2eDstBucket), Key: aws.String(key), VersionId: aws.String(v)})
		e2eMust(t, "head replica "+key, err)
		if aws.ToString(out.SSEKMSKeyId) != env.dstKeyARN || out.ReplicationStatus != "REPLICA" {
			t.Errorf("replica %s: key %q status %q, want the destination key and REPLICA", key, aws.ToString(out.SSEKMSKeyId), out.ReplicationStatus)
		}
	}
	failed, succeeded := batchReport(t, env, id)
	if len(failed) != 0 || succeeded != 3 {
		t.Errorf("report: failed %v, %d succeeded; want none failed, 3 succeeded", failed, succeeded)
	}

	list, err := batchClient(env).ListJobs(context.Background(), &s3control.ListJobsInput{
		AccountId: aws.String(SourceAccount), JobStatuses: []s3ctypes.JobStatus{s3ctypes.JobStatusComplete}})
	e2eMust(t, "list jobs", err)
	if len(list.Jobs) != 1 || aws.ToString(list.Jobs[0].JobId) != id || list.Jobs[0].Operation != s3ctypes.OperationNameS3ReplicateObject {
		t.Errorf("ListJobs(Complete) = %+v, want the one job", list.Jobs)
	}
}

func TestBatchReplicationWithoutInitiateReplication(t *testing.T) {
	env, _ := batchFailedObjects(t, 2)
	batchRepair(t, env)
	batchRole(t, env, nil) // everything but s3:InitiateReplication

	id := batchCreate(t, env, "no-initiate", false, s3ctypes.ReplicationStatusFailed)
	env.waitIdle(t)
	j := batchDescribe(t, env, id)
	if got := aws.ToInt64(j.ProgressSummary.NumberOfTasksFailed); got != 2 || aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != 0 {
		t.Fatalf("job %s: %d failed, want every task failed", j.Status, got)
	}
	failed, _ := batchReport(t, env, id)
	for key, code := range failed {
		if code != "InitiateReplicationNotPermitted" {
			t.Errorf("report: %s failed with %q, want InitiateReplicationNotPermitted", key, code)
		}
	}
	if len(failed) != 2 {
		t.Errorf("report lists %d failed tasks, want 2", len(failed))
	}
}

func TestBatchReplicationReplicatesExistingObjects(t *testing.T) {
	// Objects written before the rule exist have no replication status (NONE).
	env := e2eSetup(t, e2eVariant{before: func(t *testing.T, env *e2eEnv) {
		_, err := env.s3A.DeleteBucketReplication(context.Background(), &s3.DeleteBucketReplicationInput{Bucket: aws.String(e2eSrcBucket)})
		e2eMust(t, "delete replication", err)
	}})
	old := env.put(t, "before-rule", "old", "")
	env.waitIdle(t)
	if got := env.headStatus(t, "before-rule", old); got != "" {
		t.Fatalf("status %q before any rule, want none", got)
	}
	_, err := env.s3A.PutBucketReplication(context.Background(), &s3.PutBucketReplicationInput{
		Bucket: aws.String(e2eSrcBucket),
		ReplicationConfiguration: &s3types.ReplicationConfiguration{Role: aws.String(e2eRoleARN),
			Rules: []s3types.ReplicationRule{e2eRule(env, "pair", 1, "", "")}},
	})
	e2eMust(t, "put replication", err)
	batchRole(t, env, []string{"s3:InitiateReplication"})

	id := batchCreate(t, env, "existing", false, s3ctypes.ReplicationStatusNone)
	env.waitIdle(t)
	j := batchDescribe(t, env, id)
	if j.Status != s3ctypes.JobStatusComplete || aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != 1 {
		t.Fatalf("job %s with %+v, want Complete with the one existing object", j.Status, j.ProgressSummary)
	}
	if got := env.headStatus(t, "before-rule", old); got != "COMPLETED" {
		t.Errorf("existing object status %q after the job, want COMPLETED", got)
	}
}

func TestBatchJobFailsWhenRoleCannotBeAssumed(t *testing.T) {
	env, _ := batchFailedObjects(t, 1)
	// The replication role trusts s3.amazonaws.com, not Batch Operations.
	_, err := batchClient(env).CreateJob(context.Background(), &s3control.CreateJobInput{
		AccountId: aws.String(SourceAccount), ClientRequestToken: aws.String("wrong-role"),
		Operation: &s3ctypes.JobOperation{S3ReplicateObject: &s3ctypes.S3ReplicateObjectOperation{}},
		Priority:  aws.Int32(1), RoleArn: aws.String(e2eRoleARN), Report: &s3ctypes.JobReport{Enabled: false},
		ManifestGenerator: &s3ctypes.JobManifestGeneratorMemberS3JobManifestGenerator{Value: s3ctypes.S3JobManifestGenerator{
			SourceBucket: aws.String("arn:aws:s3:::" + e2eSrcBucket)}},
	})
	e2eMust(t, "create job", err)
	env.waitIdle(t)
	list, err := batchClient(env).ListJobs(context.Background(), &s3control.ListJobsInput{AccountId: aws.String(SourceAccount)})
	e2eMust(t, "list jobs", err)
	j := batchDescribe(t, env, aws.ToString(list.Jobs[0].JobId))
	if j.Status != s3ctypes.JobStatusFailed || len(j.FailureReasons) == 0 || aws.ToString(j.FailureReasons[0].FailureCode) != "AssumeRoleNotPermitted" {
		t.Fatalf("job %s, reasons %+v; want Failed with AssumeRoleNotPermitted", j.Status, j.FailureReasons)
	}
}

func TestS3ControlAuthorization(t *testing.T) {
	env, _ := batchFailedObjects(t, 1)
	batchRole(t, env, []string{"s3:InitiateReplication"})
	ctx := context.Background()
	// A caller without iam:PassRole for the Batch role cannot create the job.
	_, err := env.iamA.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("operator"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}`)})
	e2eMust(t, "create operator", err)
	_, err = env.iamA.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("operator"), PolicyName: aws.String("jobs"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:CreateJob","s3:DescribeJob"],"Resource":"*"}]}`)})
	e2eMust(t, "put operator policy", err)
	out, err := sts.NewFromConfig(RootConfig(env.endpoint, SourceAccount, e2eSrcRegion)).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::111111111111:role/operator"), RoleSessionName: aws.String("op")})
	e2eMust(t, "assume operator", err)
	client := awsclient.S3Control(SessionConfig(env.endpoint, e2eSrcRegion, iamCreds(out)))
	_, err = client.CreateJob(ctx, &s3control.CreateJobInput{
		AccountId: aws.String(SourceAccount), ClientRequestToken: aws.String("no-pass"),
		Operation: &s3ctypes.JobOperation{S3ReplicateObject: &s3ctypes.S3ReplicateObjectOperation{}},
		Priority:  aws.Int32(1), RoleArn: aws.String(batchRoleARN), Report: &s3ctypes.JobReport{Enabled: false},
		ManifestGenerator: &s3ctypes.JobManifestGeneratorMemberS3JobManifestGenerator{Value: s3ctypes.S3JobManifestGenerator{
			SourceBucket: aws.String("arn:aws:s3:::" + e2eSrcBucket)}},
	})
	if code := apiCode(err); code != "AccessDenied" || !strings.Contains(awsclient.ErrorMessage(err), "iam:PassRole") {
		t.Errorf("CreateJob without iam:PassRole: %q (%v), want AccessDenied naming iam:PassRole", code, err)
	}
	// Another account's jobs are not addressable.
	_, err = batchClient(env).ListJobs(ctx, &s3control.ListJobsInput{AccountId: aws.String(DestinationAccount)})
	if code := apiCode(err); code != "AccessDenied" {
		t.Errorf("ListJobs for another account: %q, want AccessDenied", code)
	}
	// An unknown job is NoSuchJob.
	_, err = batchClient(env).DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(SourceAccount), JobId: aws.String("00000000-0000-0000-0000-000000000000")})
	if code := apiCode(err); code != "NoSuchJob" {
		t.Errorf("DescribeJob of an unknown job: %q, want NoSuchJob", code)
	}
}

func TestS3ControlToleratesAccountHostPrefix(t *testing.T) {
	env, _ := batchFailedObjects(t, 1)
	req, _ := http.NewRequest(http.MethodGet, env.endpoint+"/v20180820/jobs", nil)
	req.Host = SourceAccount + ".s3-control." + e2eSrcRegion + ".amazonaws.com"
	req.Header.Set("x-amz-account-id", SourceAccount)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+SourceAccount+"/20260101/"+e2eSrcRegion+"/s3/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "ListJobsResult") {
		t.Fatalf("ListJobs with the account host prefix: %d %s", resp.StatusCode, body)
	}
}
