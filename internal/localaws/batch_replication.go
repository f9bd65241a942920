package localaws

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// S3 Batch Replication jobs (docs/aws-facts.md#F-BATCH-REPLICATION,
// #F-BATCH-JOB-LIFECYCLE). A job created by CreateJob runs in its own goroutine:
//
//   - New → Preparing: S3 assumes the job's role as batchoperations.s3.amazonaws.com
//     (AssumeRoleNotPermitted), checks as that role s3:GetReplicationConfiguration and
//     s3:PutInventoryConfiguration on the source bucket (the generated manifest is built
//     from an inventory), and builds the manifest: every version of the source bucket whose
//     replication status is one of ObjectReplicationStatuses ("" counts as NONE) and, with
//     EligibleForReplication, that an enabled rule selects. A job that cannot start ends
//     Failed with FailureReasons;
//   - Preparing → Suspended when ConfirmationRequired (until UpdateJobStatus Ready), else
//     → Ready → Active;
//   - Active: each task needs s3:InitiateReplication as the job's role on the source object
//     (InitiateReplicationNotPermitted), then the replication engine replicates the version
//     as live replication does, as the configuration's role (replicateVersion), and the
//     version's status becomes COMPLETED or FAILED with the documented code;
//   - → Complete (or Failed when, after at least 1,000 tasks, more than half failed: the
//     task failure threshold), and the completion report is written to the report bucket
//     as the job's role (s3:PutObject), always SSE-S3: a manifest.json naming the
//     Report_CSV_20180820 result files, with the columns Bucket, Key, VersionId,
//     TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage. A failed replication's
//     failure code is the ErrorCode. A report that cannot be written fails the job.

// batchOperationsPrincipal is the service principal S3 Batch Operations assumes job roles as.
const batchOperationsPrincipal = "batchoperations.s3.amazonaws.com"

// Job statuses, as S3 Control names them.
const (
	jobNew        = "New"
	jobPreparing  = "Preparing"
	jobSuspended  = "Suspended"
	jobReady      = "Ready"
	jobActive     = "Active"
	jobComplete   = "Complete"
	jobFailed     = "Failed"
	jobCancelled  = "Cancelled"
	jobChunkTasks = 256 // tasks processed per hold of s.mu, so DescribeJob sees progress
	// jobFailureThresholdMin is how many tasks must have run before the task failure
	// threshold (more than half failed) can fail a job.
	jobFailureThresholdMin = 1000
)

func jobEnded(status string) bool {
	return status == jobComplete || status == jobFailed || status == jobCancelled
}

// batchJob is one Batch Operations job. Guarded by s.mu.
type batchJob struct {
	id, account, region  string
	status               string
	confirmationRequired bool
	description          string
	priority             int32
	roleARN              string
	clientToken          string
	statusReason         string
	created, terminated  time.Time
	suspended            time.Time
	activeSince          time.Time

	generator    s3cManifestGenerator
	sourceBucket string
	eligibleOnly bool
	statuses     []string

	report       s3cReport
	reportBucket string

	role      *principal // the job role's session, from Preparing on
	tasks     []jobTask
	next      int // index of the next task to run
	succeeded int64
	failed    int64
	failures  []jobFailure
	cancel    bool
}

// jobTask is one manifest entry and its outcome.
type jobTask struct {
	key, versionID string
	v              *objectVersion
	done           bool
	errorCode      string
	httpStatus     int
	message        string
}

// jobFailure is one of a job's FailureReasons.
type jobFailure struct {
	code, reason string
}

func newJobID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// startJob runs a new job's preparation asynchronously. The caller holds s.mu.
func (s *Server) startJob(j *batchJob) {
	if s.closed {
		return
	}
	s.repl.pending++
	go s.runJob(j, true)
}

// confirmJob moves a Suspended job to Ready and runs it. The caller holds s.mu.
func (s *Server) confirmJob(j *batchJob) {
	j.status = jobReady
	if s.closed {
		return
	}
	s.repl.pending++
	go s.runJob(j, false)
}

// runJob prepares (when prepare) and runs a job, holding s.mu for one step at a time.
func (s *Server) runJob(j *batchJob, prepare bool) {
	defer func() {
		s.mu.Lock()
		s.repl.pending--
		if s.repl.pending == 0 {
			s.cond.Broadcast()
		}
		s.mu.Unlock()
	}()
	if prepare {
		s.mu.Lock()
		s.prepareJob(j)
		wait := j.status != jobReady
		s.mu.Unlock()
		if wait {
			return
		}
	}
	for {
		if s.baseCtx.Err() != nil {
			return
		}
		s.mu.Lock()
		more := s.runJobChunk(j)
		s.mu.Unlock()
		if !more {
			return
		}
	}
}

// jobFail ends a job as Failed with one failure reason. The caller holds s.mu.
func (j *batchJob) jobFail(s *Server, code, reason string) {
	j.failures = append(j.failures, jobFailure{code: code, reason: reason})
	j.finish(s, jobFailed)
}

// finish ends a job in status and writes its report. The caller holds s.mu.
func (j *batchJob) finish(s *Server, status string) {
	j.status = status
	j.terminated = s.now().UTC()
	if !j.report.Enabled || j.next == 0 {
		// S3 writes a report only when at least one task was invoked.
		return
	}
	if err := s.writeJobReport(j); err != nil {
		j.status = jobFailed
		j.failures = append(j.failures, jobFailure{code: "AccessDenied",
			reason: "cannot write the completion report to " + j.reportBucket + ": " + err.Message})
	}
}

// prepareJob is Preparing: the role, the source bucket and the manifest. The caller holds
// s.mu.
func (s *Server) prepareJob(j *batchJob) {
	if j.cancel {
		return
	}
	j.status = jobPreparing
	role, aerr := s.assumeRole(&principal{service: batchOperationsPrincipal}, j.roleARN, "s3-batch-operations", "")
	if aerr != nil {
		j.jobFail(s, "AssumeRoleNotPermitted", batchOperationsPrincipal+" cannot assume "+j.roleARN+": "+aerr.Message)
		return
	}
	j.role = role
	src := s.buckets[j.sourceBucket]
	if src == nil || (j.generator.ExpectedBucketOwner != "" && src.account != j.generator.ExpectedBucketOwner) {
		j.jobFail(s, "SrcBucketNotFound", "source bucket "+j.sourceBucket+" does not exist")
		return
	}
	if src.region != j.region {
		j.jobFail(s, "SrcBucketInvalidRegion", "source bucket "+src.name+" is in "+src.region+", the job in "+j.region)
		return
	}
	arn := s3BucketARN(src.name)
	for _, action := range []string{"s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"} {
		if err := s.replAuthorize(role, src, action, arn, s3ServiceContext()); err != nil {
			j.jobFail(s, "AccessDenied", "the job's role cannot generate the manifest: "+err.Message)
			return
		}
	}
	if src.replication == nil {
		j.jobFail(s, "SrcBucketReplicationConfigMissing", "source bucket "+src.name+" has no replication configuration")
		return
	}
	want := map[string]bool{}
	for _, st := range j.statuses {
		want[st] = true
	}
	for _, key := range s3SortedKeys(src) {
		for _, v := range src.objects[key] {
			st := v.replicationStatus
			if st == "" {
				st = "NONE"
			}
			if st == replPending || (len(want) > 0 && !want[st]) {
				continue
			}
			if v.isDeleteMarker && len(replSelectRules(src.replication, v)) == 0 {
				continue
			}
			if j.eligibleOnly && len(replSelectRules(src.replication, v)) == 0 {
				continue
			}
			j.tasks = append(j.tasks, jobTask{key: v.key, versionID: v.versionID, v: v})
		}
	}
	if j.confirmationRequired {
		j.status = jobSuspended
		j.suspended = s.now().UTC()
		return
	}
	j.status = jobReady
}

// runJobChunk runs up to jobChunkTasks tasks and reports whether tasks remain. The caller
// holds s.mu.
func (s *Server) runJobChunk(j *batchJob) bool {
	if jobEnded(j.status) {
		return false
	}
	if j.cancel {
		j.finish(s, jobCancelled)
		return false
	}
	if j.status == jobReady {
		j.status = jobActive
		j.activeSince = s.now().UTC()
	}
	src := s.buckets[j.sourceBucket]
	for n := 0; n < jobChunkTasks && j.next < len(j.tasks); n++ {
		t := &j.tasks[j.next]
		j.next++
		s.runJobTask(j, src, t)
		if t.errorCode == "" {
			j.succeeded++
		} else {
			j.failed++
		}
	}
	ran := int64(j.next)
	if ran >= jobFailureThresholdMin && j.failed*2 > ran {
		j.jobFail(s, "TaskFailureThresholdExceeded", fmt.Sprintf("%d of the first %d tasks failed (more than 50%%)", j.failed, ran))
		return false
	}
	if j.next < len(j.tasks) {
		return true
	}
	j.finish(s, jobComplete)
	return false
}

// runJobTask replicates one manifest entry. The caller holds s.mu.
func (s *Server) runJobTask(j *batchJob, src *bucket, t *jobTask) {
	t.done = true
	fail := func(code string, status int, msg string) {
		t.errorCode, t.httpStatus, t.message = code, status, msg
	}
	if src == nil {
		fail("SrcBucketNotFound", http.StatusNotFound, "source bucket "+j.sourceBucket+" no longer exists")
		return
	}
	if err := s.replAuthorize(j.role, src, "s3:InitiateReplication", s3ObjectARN(src.name, t.key), s3ServiceContext()); err != nil {
		fail("InitiateReplicationNotPermitted", http.StatusForbidden, err.Message)
		return
	}
	if src.replication == nil {
		fail("SrcBucketReplicationConfigMissing", http.StatusBadRequest, "source bucket "+src.name+" has no replication configuration")
		return
	}
	v := s3FindVersion(src, t.key, t.versionID)
	if v == nil || v != t.v {
		fail("SrcVersionNotFound", http.StatusNotFound, "version "+t.versionID+" of "+t.key+" no longer exists")
		return
	}
	rules := replSelectRules(src.replication, v)
	if len(rules) == 0 {
		fail("SrcObjectNotEligible", http.StatusBadRequest, "no enabled rule selects "+t.key)
		return
	}
	var failure, detail string
	for _, r := range rules {
		task := replicationTask{bucket: src.name, key: v.key, versionID: v.versionID, ruleID: r.id,
			destBucket: s3BucketNameFromARN(r.destBucketARN), v: v, requestTime: s.now(), queued: time.Now()}
		if out := s.replicateVersion(task, src, r); out != nil && failure == "" {
			failure, detail = out.code, out.detail
		}
	}
	if failure != "" {
		v.replicationStatus, v.replicationFailure, v.replicationDetail = replFailed, failure, detail
		fail(failure, http.StatusBadRequest, detail)
		return
	}
	v.replicationStatus, v.replicationFailure, v.replicationDetail = replCompleted, "", ""
	t.httpStatus = http.StatusOK
	t.message = "Successful"
}

// writeJobReport writes the completion report as the job's role. The caller holds s.mu.
func (s *Server) writeJobReport(j *batchJob) *apiError {
	b := s.buckets[j.reportBucket]
	if b == nil {
		return errNoSuchBucket(j.reportBucket)
	}
	base := "job-" + j.id
	if j.report.Prefix != "" {
		base = j.report.Prefix + "/" + base
	}
	var ok, bad bytes.Buffer
	okW, badW := csv.NewWriter(&ok), csv.NewWriter(&bad)
	for _, t := range j.tasks[:j.next] {
		row := []string{j.sourceBucket, t.key, t.versionID, "succeeded", "", strconv.Itoa(t.httpStatus), t.message}
		w := okW
		if t.errorCode != "" {
			row[3], row[4] = "failed", t.errorCode
			w = badW
		} else if j.report.ReportScope == "FailedTasksOnly" {
			continue
		}
		_ = w.Write(row)
	}
	okW.Flush()
	badW.Flush()
	type result struct {
		TaskExecutionStatus, Bucket, MD5Checksum, Key string
	}
	manifest := struct {
		Format             string
		ReportCreationDate string
		Results            []result
		ReportSchema       string
	}{Format: "Report_CSV_20180820", ReportCreationDate: s3Time(s.now()),
		ReportSchema: "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"}
	put := func(key string, data []byte) *apiError {
		if err := s.replAuthorize(j.role, b, "s3:PutObject", s3ObjectARN(b.name, key), s3ServiceContext()); err != nil {
			return err
		}
		v := &objectVersion{key: key, versionID: "null", lastModified: s.now().UTC(), owner: b.account, contentType: "text/csv"}
		if b.versioning == "Enabled" {
			v.versionID = s3RandomID(32)
		}
		// Completion reports are always SSE-S3, whatever the bucket's default.
		if err := s.s3Seal(j.role, b, v, data, s3Encryption{sse: "AES256"}); err != nil {
			return err
		}
		if b.objects == nil {
			b.objects = map[string][]*objectVersion{}
		}
		s3AddVersion(b, v)
		s.scheduleReplication(b, v)
		return nil
	}
	for _, part := range []struct {
		status string
		data   []byte
	}{{"succeeded", ok.Bytes()}, {"failed", bad.Bytes()}} {
		if len(part.data) == 0 {
			continue
		}
		name := sha1.Sum(append([]byte(j.id+part.status), part.data...))
		key := base + "/results/" + hex.EncodeToString(name[:]) + ".csv"
		if err := put(key, part.data); err != nil {
			return err
		}
		sum := md5.Sum(part.data)
		manifest.Results = append(manifest.Results, result{TaskExecutionStatus: part.status,
			Bucket: j.reportBucket, MD5Checksum: hex.EncodeToString(sum[:]), Key: key})
	}
	data, _ := json.Marshal(manifest)
	return put(base+"/manifest.json", data)
}
