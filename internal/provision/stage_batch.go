package provision

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/monitor"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// The Batch Replication stages re-drive a pair's objects with an S3 Batch Replication job
// in the source account (docs/aws-facts.md#F-BATCH-REPLICATION, #F-BATCH-JOB-LIFECYCLE):
//
//   - batchRole ensures the pair's Batch role (trusted by batchoperations.s3.amazonaws.com,
//     least privilege from internal/policy, created with the boundary and s3crr's tags);
//   - batchStart checks the pair's rule exists and is enabled, then creates the job: an
//     S3-generated manifest of the objects the rule selects whose replication status is
//     one of the requested ones (FAILED for a re-drive, NONE for rule.replicateExisting),
//     a completion report under the pair's reserved prefix in the source bucket, and
//     confirmation required, so the manifest is counted before anything runs;
//   - batchStatus follows the job: it confirms a Suspended job (or cancels one whose
//     manifest is empty, rather than let a job with nothing to do run), and reports the
//     status and task counts, with done set once the job has ended; the state machine
//     polls it with Wait states;
//   - batchReport reads the final counts and the completion report, and fails with
//     BatchReplicationFailed, naming each failure reason with its fix, when the job failed
//     or any task failed.
//
// They run for a re-drive (Event.Batch set, the redrive state machine) or, in a provision
// run, when the request sets rule.replicateExisting; otherwise they do nothing.

// BatchInput is what the redrive state machine (or the provision run) passes the batch
// stages besides the request.
type BatchInput struct {
	// Statuses are the replication statuses to re-drive: FAILED and/or NONE.
	Statuses []string `json:"statuses,omitempty"`
	// Token makes CreateJob idempotent: the execution name, so a retried batchStart
	// finds the job it created instead of starting a second one.
	Token string `json:"token,omitempty"`
	// JobID is the job batchStart created, for batchStatus and batchReport.
	JobID string `json:"jobId,omitempty"`
}

// BatchReplicationFailed means a Batch Replication job failed or some of its tasks failed;
// Message names the job's failure reasons and, from the completion report, each task
// failure reason with how many objects it hit and its fix. Not retried.
type BatchReplicationFailed struct{ Message string }

func (e *BatchReplicationFailed) Error() string { return e.Message }

// batchStatuses are the replication statuses a batch stage works on, or nil when the
// stages have nothing to do for this event.
func (st *stage) batchStatuses() []string {
	if st.batch != nil {
		if len(st.batch.Statuses) == 0 {
			return []string{string(s3ctypes.ReplicationStatusFailed)}
		}
		return st.batch.Statuses
	}
	if st.req.Rule.ReplicateExisting {
		return []string{string(s3ctypes.ReplicationStatusNone)}
	}
	return nil
}

// skipBatch records that the batch stages have nothing to do, and reports it.
func (st *stage) skipBatch() bool {
	if st.batchStatuses() != nil {
		return false
	}
	st.res.Outputs["skipped"] = "true"
	st.res.Outputs["done"] = "true"
	return true
}

func (st *stage) batchRole(ctx context.Context) error {
	if st.skipBatch() {
		return nil
	}
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	p := policy.ReplicationParams{PairID: st.req.PairID, SourceAccount: st.req.Source.Account,
		SourceRegion: st.req.Source.Region, SourceBucket: st.req.Source.Bucket, Prefix: st.req.Rule.Prefix}
	name := names.BatchRoleName(st.req.PairID)
	roleARN := names.BatchRoleARN(m.account, st.req.PairID)
	st.res.Outputs["batchRoleArn"] = roleARN
	trust := policy.BatchTrustPolicy(p)
	want := policy.BatchRolePolicy(p)

	out, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsclient.IsNotFound(err) {
		existed, err := st.createRole(ctx, m, pairRole{name: name, arn: roleARN, path: names.RolePath, trust: trust,
			trustedBy: policy.BatchOperationsService, description: "S3 Batch Replication role of s3crr pair " + st.req.PairID,
			tagKey: names.PairIDTagKey, tagValue: st.req.PairID})
		if err != nil {
			return err
		}
		if !existed {
			return st.putBatchPolicy(ctx, m, name, roleARN, want)
		}
		out, err = m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	}
	if err != nil {
		return m.classify("iam:GetRole "+name, err)
	}
	if !roleIsOurs(out.Role.Tags, st.req.PairID) {
		return &Conflict{Message: fmt.Sprintf("role %s exists and was not created by s3crr for pair %s (fix: delete or rename it)", aws.ToString(out.Role.Arn), st.req.PairID)}
	}
	current, err := decodePolicyDocument(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return fmt.Errorf("parse the trust policy of %s: %w", roleARN, err)
	}
	if !policy.Equivalent(current, trust) {
		err := st.change(m, roleARN, "update trust policy", "trusted by "+policy.BatchOperationsService+" only", func() error {
			_, err := m.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(string(trust.JSON()))})
			return m.classify("iam:UpdateAssumeRolePolicy "+name, err)
		})
		if err != nil {
			return err
		}
	}
	pol, err := m.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(names.BatchPolicyName)})
	switch {
	case err == nil:
		doc, err := decodePolicyDocument(aws.ToString(pol.PolicyDocument))
		if err != nil {
			return fmt.Errorf("parse policy %s of %s: %w", names.BatchPolicyName, roleARN, err)
		}
		if policy.Equivalent(doc, want) {
			return nil
		}
	case !awsclient.IsNotFound(err):
		return m.classify("iam:GetRolePolicy "+name, err)
	}
	return st.putBatchPolicy(ctx, m, name, roleARN, want)
}

func (st *stage) putBatchPolicy(ctx context.Context, m *member, name, roleARN string, want policy.Document) error {
	return st.change(m, roleARN, "put role policy", names.BatchPolicyName+": s3:InitiateReplication on the rule's objects, the manifest's bucket reads, the report prefix", func() error {
		_, err := m.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(names.BatchPolicyName), PolicyDocument: aws.String(string(want.JSON()))})
		return m.classify("iam:PutRolePolicy "+name, err)
	})
}

// batchToken is CreateJob's ClientRequestToken (at most 64 characters): derived from the
// event's token, so a retried start is idempotent, or from the pair and the statuses.
func (st *stage) batchToken(statuses []string) string {
	seed := st.req.PairID + "/" + strings.Join(statuses, ",")
	if st.batch != nil && st.batch.Token != "" {
		seed += "/" + st.batch.Token
	} else {
		seed += "/" + randomSuffix()
	}
	sum := sha256.Sum256([]byte(seed))
	return "s3crr-" + hex.EncodeToString(sum[:])[:40]
}

func (st *stage) batchStart(ctx context.Context) error {
	statuses := st.batchStatuses()
	if st.skipBatch() {
		return nil
	}
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	cfg, err := getReplication(ctx, m, st.req.Source.Bucket)
	if err != nil {
		return err
	}
	if err := ruleReady(cfg, st.req.RuleID()); err != nil {
		return &PreflightFailed{Message: fmt.Sprintf("source bucket %s: %s (fix: crr apply the pair's request again, then re-drive)", st.req.Source.Bucket, err)}
	}
	if st.plan {
		st.res.Changes = append(st.res.Changes, Change{Account: m.account, Region: m.region, Resource: "S3 Batch Replication job",
			Action: "create job", Detail: "objects with replication status " + strings.Join(statuses, ", ")})
		return nil
	}
	repl := make([]s3ctypes.ReplicationStatus, 0, len(statuses))
	for _, s := range statuses {
		repl = append(repl, s3ctypes.ReplicationStatus(s))
	}
	var jobID string
	err = st.change(m, "S3 Batch Replication job", "create job", "objects with replication status "+strings.Join(statuses, ", "), func() error {
		out, err := m.jobs.CreateJob(ctx, &s3control.CreateJobInput{
			AccountId:            aws.String(m.account),
			ClientRequestToken:   aws.String(st.batchToken(statuses)),
			ConfirmationRequired: aws.Bool(true),
			Description:          aws.String("s3crr re-drive of pair " + st.req.PairID + " (" + strings.Join(statuses, ",") + ")"),
			Operation:            &s3ctypes.JobOperation{S3ReplicateObject: &s3ctypes.S3ReplicateObjectOperation{}},
			Priority:             aws.Int32(10),
			RoleArn:              aws.String(names.BatchRoleARN(m.account, st.req.PairID)),
			Report: &s3ctypes.JobReport{Enabled: true, Bucket: aws.String(policy.BucketARN(st.req.Source.Bucket)),
				Format: s3ctypes.JobReportFormatReportCsv20180820, Prefix: aws.String(names.BatchReportPrefix(st.req.PairID)),
				ReportScope: s3ctypes.JobReportScopeAllTasks},
			ManifestGenerator: &s3ctypes.JobManifestGeneratorMemberS3JobManifestGenerator{Value: s3ctypes.S3JobManifestGenerator{
				SourceBucket:         aws.String(policy.BucketARN(st.req.Source.Bucket)),
				ExpectedBucketOwner:  aws.String(m.account),
				EnableManifestOutput: false,
				Filter: &s3ctypes.JobManifestGeneratorFilter{EligibleForReplication: aws.Bool(true),
					ObjectReplicationStatuses: repl},
			}},
		})
		if err != nil {
			// CreateJob's errors are the whole story of a job that never started (a
			// role that cannot be passed, a wrong Region): never swallowed.
			return m.classify("s3:CreateJob", err)
		}
		jobID = aws.ToString(out.JobId)
		return nil
	})
	if err != nil {
		return err
	}
	st.res.Outputs["jobId"] = jobID
	return nil
}

// randomSuffix makes an Apply run's job token unique: without an execution name, each run
// is a new re-drive.
func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ruleReady says why the pair's rule cannot be re-driven, or nil.
func ruleReady(cfg *s3types.ReplicationConfiguration, ruleID string) error {
	if cfg == nil {
		return fmt.Errorf("has no replication configuration")
	}
	for _, r := range cfg.Rules {
		if aws.ToString(r.ID) != ruleID {
			continue
		}
		if r.Status != s3types.ReplicationRuleStatusEnabled {
			return fmt.Errorf("rule %s is %s", ruleID, r.Status)
		}
		return nil
	}
	return fmt.Errorf("has no rule %s", ruleID)
}

// describeJob reads the job the event names.
func (st *stage) describeJob(ctx context.Context, m *member) (*s3ctypes.JobDescriptor, error) {
	if st.batch == nil || st.batch.JobID == "" {
		return nil, &InvalidSpec{Message: "event.batch.jobId is required by stage " + st.res.Stage}
	}
	out, err := m.jobs.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(m.account), JobId: aws.String(st.batch.JobID)})
	if err != nil {
		return nil, m.classify("s3:DescribeJob", err)
	}
	return out.Job, nil
}

// jobOutputs records a job's status and counts in the stage's outputs.
func (st *stage) jobOutputs(j *s3ctypes.JobDescriptor) {
	st.res.Outputs["jobId"] = aws.ToString(j.JobId)
	st.res.Outputs["status"] = string(j.Status)
	var total, ok, failed int64
	if p := j.ProgressSummary; p != nil {
		total, ok, failed = aws.ToInt64(p.TotalNumberOfTasks), aws.ToInt64(p.NumberOfTasksSucceeded), aws.ToInt64(p.NumberOfTasksFailed)
	}
	st.res.Outputs["total"] = strconv.FormatInt(total, 10)
	st.res.Outputs["succeeded"] = strconv.FormatInt(ok, 10)
	st.res.Outputs["failed"] = strconv.FormatInt(failed, 10)
	switch j.Status {
	case s3ctypes.JobStatusComplete, s3ctypes.JobStatusFailed, s3ctypes.JobStatusCancelled:
		st.res.Outputs["done"] = "true"
	default:
		st.res.Outputs["done"] = "false"
	}
}

func (st *stage) batchStatus(ctx context.Context) error {
	if st.skipBatch() {
		return nil
	}
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	j, err := st.describeJob(ctx, m)
	if err != nil {
		return err
	}
	if j.Status == s3ctypes.JobStatusSuspended && !st.plan {
		// Confirm, or cancel a job whose manifest is empty: there is nothing to re-drive,
		// and a job with no task only ends in a confusing state.
		to, reason := s3ctypes.RequestedJobStatusReady, "confirmed by s3crr"
		if j.ProgressSummary == nil || aws.ToInt64(j.ProgressSummary.TotalNumberOfTasks) == 0 {
			to, reason = s3ctypes.RequestedJobStatusCancelled, "no object to re-drive"
		}
		err := st.change(m, "S3 Batch Replication job "+aws.ToString(j.JobId), "update job status", string(to)+": "+reason, func() error {
			_, err := m.jobs.UpdateJobStatus(ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(m.account),
				JobId: j.JobId, RequestedJobStatus: to, StatusUpdateReason: aws.String(reason)})
			return m.classify("s3:UpdateJobStatus", err)
		})
		if err != nil {
			return err
		}
		if j, err = st.describeJob(ctx, m); err != nil {
			return err
		}
	}
	st.jobOutputs(j)
	return nil
}

func (st *stage) batchReport(ctx context.Context) error {
	if st.skipBatch() {
		return nil
	}
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	j, err := st.describeJob(ctx, m)
	if err != nil {
		return err
	}
	st.jobOutputs(j)
	var problems []string
	for _, f := range j.FailureReasons {
		problems = append(problems, fmt.Sprintf("job failed: %s: %s", aws.ToString(f.FailureCode), aws.ToString(f.FailureReason)))
	}
	reasons := map[string]int{}
	if j.Status == s3ctypes.JobStatusCancelled && len(problems) == 0 {
		return nil // nothing to re-drive (batchStatus cancelled an empty job)
	}
	if st.res.Outputs["total"] != "0" {
		var found bool
		if reasons, found, err = st.readReport(ctx, m, aws.ToString(j.JobId)); err != nil {
			return err
		}
		if !found {
			problems = append(problems, "the job wrote no completion report under "+names.BatchReportPrefix(st.req.PairID)+"/ (the Batch role needs s3:PutObject there)")
		}
	}
	if len(reasons) > 0 {
		b, _ := json.Marshal(reasons)
		st.res.Outputs["failureReasons"] = string(b)
	}
	codes := make([]string, 0, len(reasons))
	for c := range reasons {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		line := fmt.Sprintf("%d object(s) failed with %s", reasons[c], c)
		if r, ok := monitor.LookupReason(c); ok {
			line += ": " + r.Cause + " Fix: " + r.Fix
		}
		problems = append(problems, line)
	}
	if j.Status == s3ctypes.JobStatusFailed || st.res.Outputs["failed"] != "0" || len(problems) > 0 {
		return &BatchReplicationFailed{Message: fmt.Sprintf("Batch Replication job %s of pair %s ended %s, %s of %s tasks failed:\n%s",
			aws.ToString(j.JobId), st.req.PairID, j.Status, st.res.Outputs["failed"], st.res.Outputs["total"], strings.Join(problems, "\n"))}
	}
	return nil
}

// readReport reads the job's completion report and counts its failed tasks by failure
// reason. A known replication failure code is taken from ErrorCode or, failing that,
// from ResultMessage (docs/aws-facts.md#F-BATCH-JOB-LIFECYCLE).
// found is false when the job wrote no report (its manifest.json is missing).
func (st *stage) readReport(ctx context.Context, m *member, jobID string) (reasons map[string]int, found bool, err error) {
	base := names.BatchReportPrefix(st.req.PairID) + "/job-" + jobID
	get := func(key string) ([]byte, error) {
		out, err := m.reports.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.req.Source.Bucket), Key: aws.String(key),
			ExpectedBucketOwner: aws.String(m.account)})
		if err != nil {
			return nil, m.classify("s3:GetObject "+key, err)
		}
		defer out.Body.Close()
		return io.ReadAll(io.LimitReader(out.Body, 64<<20))
	}
	raw, err := get(base + "/manifest.json")
	if awsclient.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var manifest struct {
		Results []struct{ TaskExecutionStatus, Bucket, Key string }
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return nil, true, fmt.Errorf("parse completion report manifest %s: %w", base, err)
	}
	reasons = map[string]int{}
	for _, r := range manifest.Results {
		if r.TaskExecutionStatus != "failed" || r.Bucket != st.req.Source.Bucket {
			continue
		}
		data, err := get(r.Key)
		if err != nil {
			return nil, true, err
		}
		rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
		if err != nil {
			return nil, true, fmt.Errorf("parse completion report %s: %w", r.Key, err)
		}
		for _, row := range rows {
			if len(row) < 7 {
				continue
			}
			reasons[reportReason(row[4], row[6])]++
		}
	}
	return reasons, true, nil
}

// reportReason picks the failure reason of a failed report row.
func reportReason(errorCode, message string) string {
	if _, ok := monitor.LookupReason(errorCode); ok {
		return errorCode
	}
	for _, r := range monitor.Reasons() {
		if strings.Contains(message, r.Code) {
			return r.Code
		}
	}
	if errorCode != "" {
		return errorCode
	}
	return "unknown"
}
