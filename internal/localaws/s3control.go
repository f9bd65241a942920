package localaws

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// S3 Control front end: the S3 Batch Operations job API (CreateJob, DescribeJob, ListJobs,
// UpdateJobStatus) over REST-XML under /v20180820/. The SDK signs these requests for "s3"
// and addresses <account>.s3-control.<region>.amazonaws.com; the simulator routes them by
// the path and the x-amz-account-id header, so the host prefix is tolerated but not needed
// (a local endpoint has no wildcard DNS). Only the S3ReplicateObject operation (Batch
// Replication) with an S3-generated manifest is simulated; the job runs in
// batch_replication.go.

// s3ControlNS is the namespace of S3 Control's XML documents.
const s3ControlNS = "http://awss3control.amazonaws.com/doc/2018-08-20/"

// s3ControlPrefix starts every S3 Control REST path.
const s3ControlPrefix = "/v20180820/"

// isS3Control reports whether an S3-signed request is an S3 Control call.
func isS3Control(r *http.Request) bool {
	return r.Header.Get("x-amz-account-id") != "" && strings.HasPrefix(r.URL.Path, s3ControlPrefix)
}

// serveS3Control routes an S3 Control request to its operation.
func (s *Server) serveS3Control(c *call) {
	c.service = "s3control"
	rest := strings.TrimPrefix(c.r.URL.Path, s3ControlPrefix)
	var op string
	var h func(*Server, *call, string)
	switch {
	case rest == "jobs" && c.r.Method == http.MethodPost:
		op, h = "CreateJob", (*Server).s3cCreateJob
	case rest == "jobs" && c.r.Method == http.MethodGet:
		op, h = "ListJobs", (*Server).s3cListJobs
	case strings.HasPrefix(rest, "jobs/") && strings.HasSuffix(rest, "/status") && c.r.Method == http.MethodPost:
		op, h = "UpdateJobStatus", (*Server).s3cUpdateJobStatus
		rest = strings.TrimSuffix(rest, "/status")
	case strings.HasPrefix(rest, "jobs/") && c.r.Method == http.MethodGet && !strings.Contains(strings.TrimPrefix(rest, "jobs/"), "/"):
		op, h = "DescribeJob", (*Server).s3cDescribeJob
	default:
		c.fail(errf(http.StatusNotImplemented, "NotImplemented", "localaws does not simulate S3 Control %s %s", c.r.Method, c.r.URL.Path))
		return
	}
	if !s.begin(c, op) {
		return
	}
	// The account in the header is the account whose jobs are addressed; S3 Control does
	// not act across accounts.
	if acct := c.r.Header.Get("x-amz-account-id"); acct != c.p.account {
		c.fail(errAccessDenied("Access Denied: x-amz-account-id " + acct + " is not the caller's account " + c.p.account))
		return
	}
	h(s, c, strings.TrimPrefix(rest, "jobs/"))
}

// writeS3ControlError writes err as S3 Control does: an XML ErrorResponse wrapping Error.
func (c *call) writeS3ControlError(err *apiError) {
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(err.Status)
	fmt.Fprintf(c.w, `%s<ErrorResponse><Error><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		xml.Header, xmlEscape(err.Code), xmlEscape(err.Message), c.requestID)
}

// s3cJobARN is a job's ARN.
func s3cJobARN(region, account, id string) string {
	return "arn:aws:s3:" + region + ":" + account + ":job/" + id
}

// s3cAuthorize authorizes the caller for an S3 Control action on resource.
func (s *Server) s3cAuthorize(c *call, action, resource string) *apiError {
	return s.authorize(authRequest{p: c.p, action: action, resource: resource,
		resourceAccount: c.p.account, context: c.requestContext()})
}

// XML shapes of the requests and responses (the SDK's field names).
type (
	s3cCreateJobRequest struct {
		XMLName              xml.Name           `xml:"CreateJobRequest"`
		ConfirmationRequired *bool              `xml:"ConfirmationRequired"`
		Operation            s3cOperation       `xml:"Operation"`
		Report               *s3cReport         `xml:"Report"`
		ClientRequestToken   string             `xml:"ClientRequestToken"`
		Manifest             *struct{}          `xml:"Manifest"`
		ManifestGenerator    *s3cManifestGenXML `xml:"ManifestGenerator"`
		Description          string             `xml:"Description"`
		Priority             *int32             `xml:"Priority"`
		RoleArn              string             `xml:"RoleArn"`
	}
	s3cOperation struct {
		S3ReplicateObject *struct{} `xml:"S3ReplicateObject,omitempty"`
	}
	s3cReport struct {
		Bucket      string `xml:"Bucket,omitempty"`
		Format      string `xml:"Format,omitempty"`
		Enabled     bool   `xml:"Enabled"`
		Prefix      string `xml:"Prefix,omitempty"`
		ReportScope string `xml:"ReportScope,omitempty"`
	}
	s3cManifestGenXML struct {
		S3JobManifestGenerator *s3cManifestGenerator `xml:"S3JobManifestGenerator"`
	}
	s3cManifestGenerator struct {
		ExpectedBucketOwner  string     `xml:"ExpectedBucketOwner,omitempty"`
		SourceBucket         string     `xml:"SourceBucket"`
		Filter               *s3cFilter `xml:"Filter,omitempty"`
		EnableManifestOutput bool       `xml:"EnableManifestOutput"`
	}
	s3cFilter struct {
		EligibleForReplication    *bool    `xml:"EligibleForReplication,omitempty"`
		ObjectReplicationStatuses []string `xml:"ObjectReplicationStatuses>member,omitempty"`
	}
	s3cProgress struct {
		TotalNumberOfTasks     int64 `xml:"TotalNumberOfTasks"`
		NumberOfTasksSucceeded int64 `xml:"NumberOfTasksSucceeded"`
		NumberOfTasksFailed    int64 `xml:"NumberOfTasksFailed"`
		Timers                 struct {
			ElapsedTimeInActiveSeconds int64 `xml:"ElapsedTimeInActiveSeconds"`
		} `xml:"Timers"`
	}
	s3cFailure struct {
		FailureCode   string `xml:"FailureCode"`
		FailureReason string `xml:"FailureReason"`
	}
	s3cJobDescriptor struct {
		JobId                string             `xml:"JobId"`
		ConfirmationRequired bool               `xml:"ConfirmationRequired"`
		Description          string             `xml:"Description,omitempty"`
		JobArn               string             `xml:"JobArn"`
		Status               string             `xml:"Status"`
		Operation            s3cOperation       `xml:"Operation"`
		Priority             int32              `xml:"Priority"`
		ProgressSummary      s3cProgress        `xml:"ProgressSummary"`
		StatusUpdateReason   string             `xml:"StatusUpdateReason,omitempty"`
		FailureReasons       []s3cFailure       `xml:"FailureReasons>member,omitempty"`
		Report               s3cReport          `xml:"Report"`
		CreationTime         string             `xml:"CreationTime"`
		TerminationDate      string             `xml:"TerminationDate,omitempty"`
		RoleArn              string             `xml:"RoleArn"`
		SuspendedDate        string             `xml:"SuspendedDate,omitempty"`
		SuspendedCause       string             `xml:"SuspendedCause,omitempty"`
		ManifestGenerator    *s3cManifestGenXML `xml:"ManifestGenerator,omitempty"`
	}
	s3cJobListDescriptor struct {
		JobId           string      `xml:"JobId"`
		Description     string      `xml:"Description,omitempty"`
		Operation       string      `xml:"Operation"`
		Priority        int32       `xml:"Priority"`
		Status          string      `xml:"Status"`
		CreationTime    string      `xml:"CreationTime"`
		TerminationDate string      `xml:"TerminationDate,omitempty"`
		ProgressSummary s3cProgress `xml:"ProgressSummary"`
	}
)

// s3cCreateJob is CreateJob: it validates the request, authorizes s3:CreateJob and
// iam:PassRole of the job's role to batchoperations.s3.amazonaws.com, and starts the job
// (New). A repeated ClientRequestToken returns the job it created.
func (s *Server) s3cCreateJob(c *call, _ string) {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, 1<<20))
	if err != nil {
		c.fail(errf(http.StatusBadRequest, "InvalidRequest", "read request body: %v", err))
		return
	}
	var in s3cCreateJobRequest
	if err := xml.Unmarshal(body, &in); err != nil {
		c.fail(errf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed: %v", err))
		return
	}
	switch {
	case in.ClientRequestToken == "":
		c.fail(errf(http.StatusBadRequest, "InvalidRequest", "ClientRequestToken is required"))
		return
	case in.RoleArn == "":
		c.fail(errf(http.StatusBadRequest, "InvalidRequest", "RoleArn is required"))
		return
	case in.Priority == nil:
		c.fail(errf(http.StatusBadRequest, "InvalidRequest", "Priority is required"))
		return
	case in.Report == nil:
		c.fail(errf(http.StatusBadRequest, "InvalidRequest", "Report is required"))
		return
	case in.Operation.S3ReplicateObject == nil:
		c.fail(errf(http.StatusNotImplemented, "NotImplemented", "localaws simulates only the S3ReplicateObject operation"))
		return
	case in.Manifest != nil || in.ManifestGenerator == nil || in.ManifestGenerator.S3JobManifestGenerator == nil:
		c.fail(errf(http.StatusNotImplemented, "NotImplemented", "localaws simulates only S3-generated manifests (ManifestGenerator.S3JobManifestGenerator)"))
		return
	}
	if in.Report.Enabled && (in.Report.Bucket == "" || in.Report.Format != "Report_CSV_20180820") {
		c.fail(errf(http.StatusBadRequest, "InvalidRequest", "an enabled Report needs Bucket and Format Report_CSV_20180820"))
		return
	}
	gen := in.ManifestGenerator.S3JobManifestGenerator
	for _, st := range statusesOf(gen.Filter) {
		switch st {
		case "NONE", "FAILED", "COMPLETED", "REPLICA":
		default:
			c.fail(errf(http.StatusBadRequest, "InvalidRequest", "ObjectReplicationStatuses value %q is not one of NONE, FAILED, COMPLETED, REPLICA", st))
			return
		}
	}
	srcBucket, ok := strings.CutPrefix(gen.SourceBucket, "arn:aws:s3:::")
	if !ok || srcBucket == "" {
		c.fail(errf(http.StatusBadRequest, "InvalidRequest", "SourceBucket must be a bucket ARN, got %q", gen.SourceBucket))
		return
	}
	var reportBucket string
	if in.Report.Enabled {
		if reportBucket, ok = strings.CutPrefix(in.Report.Bucket, "arn:aws:s3:::"); !ok || reportBucket == "" {
			c.fail(errf(http.StatusBadRequest, "InvalidRequest", "Report.Bucket must be a bucket ARN, got %q", in.Report.Bucket))
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.s3cAuthorize(c, "s3:CreateJob", "*"); err != nil {
		c.fail(err)
		return
	}
	if err := s.authorizePassRole(c.p, in.RoleArn, batchOperationsPrincipal, c.requestContext()); err != nil {
		c.fail(err)
		return
	}
	if s.jobs == nil {
		s.jobs = map[string]*batchJob{}
	}
	for _, j := range s.jobs {
		if j.account == c.p.account && j.clientToken == in.ClientRequestToken {
			c.writeXML(struct {
				XMLName xml.Name `xml:"CreateJobResult"`
				JobId   string   `xml:"JobId"`
			}{JobId: j.id})
			return
		}
	}
	j := &batchJob{
		id: newJobID(), account: c.p.account, region: c.region, status: jobNew,
		confirmationRequired: in.ConfirmationRequired != nil && *in.ConfirmationRequired,
		description:          in.Description, priority: *in.Priority, roleARN: in.RoleArn,
		clientToken: in.ClientRequestToken, created: s.now().UTC(),
		report: *in.Report, reportBucket: reportBucket,
		generator: *gen, sourceBucket: srcBucket,
	}
	if f := gen.Filter; f != nil {
		j.eligibleOnly = f.EligibleForReplication != nil && *f.EligibleForReplication
		j.statuses = statusesOf(f)
	}
	s.jobs[j.id] = j
	s.startJob(j)
	c.writeXML(struct {
		XMLName xml.Name `xml:"CreateJobResult"`
		JobId   string   `xml:"JobId"`
	}{JobId: j.id})
}

func statusesOf(f *s3cFilter) []string {
	if f == nil {
		return nil
	}
	return f.ObjectReplicationStatuses
}

// s3cJob finds a job of the caller's account, authorizing action on its ARN. The caller
// holds s.mu.
func (s *Server) s3cJob(c *call, id, action string) (*batchJob, *apiError) {
	arn := s3cJobARN(c.region, c.p.account, id)
	if err := s.s3cAuthorize(c, action, arn); err != nil {
		return nil, err
	}
	j := s.jobs[id]
	if j == nil || j.account != c.p.account || j.region != c.region {
		return nil, errf(http.StatusNotFound, "NoSuchJob", "The specified job does not exist: %s", id)
	}
	return j, nil
}

// s3cDescribeJob is DescribeJob.
func (s *Server) s3cDescribeJob(c *call, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.s3cJob(c, id, "s3:DescribeJob")
	if err != nil {
		c.fail(err)
		return
	}
	c.writeXML(struct {
		XMLName xml.Name         `xml:"DescribeJobResult"`
		Xmlns   string           `xml:"xmlns,attr"`
		Job     s3cJobDescriptor `xml:"Job"`
	}{Xmlns: s3ControlNS, Job: s.describe(j)})
}

// describe renders a job. The caller holds s.mu.
func (s *Server) describe(j *batchJob) s3cJobDescriptor {
	gen := j.generator
	d := s3cJobDescriptor{
		JobId: j.id, ConfirmationRequired: j.confirmationRequired, Description: j.description,
		JobArn: s3cJobARN(j.region, j.account, j.id), Status: j.status,
		Operation: s3cOperation{S3ReplicateObject: &struct{}{}}, Priority: j.priority,
		ProgressSummary: j.progress(s.now()), StatusUpdateReason: j.statusReason,
		Report: j.report, CreationTime: s3Time(j.created), RoleArn: j.roleARN,
		ManifestGenerator: &s3cManifestGenXML{S3JobManifestGenerator: &gen},
	}
	for _, f := range j.failures {
		d.FailureReasons = append(d.FailureReasons, s3cFailure{FailureCode: f.code, FailureReason: f.reason})
	}
	if !j.terminated.IsZero() {
		d.TerminationDate = s3Time(j.terminated)
	}
	if !j.suspended.IsZero() {
		d.SuspendedDate = s3Time(j.suspended)
		d.SuspendedCause = "AwaitingConfirmation"
	}
	return d
}

// s3cListJobs is ListJobs, newest first, filtered by jobStatuses, paged by maxResults.
func (s *Server) s3cListJobs(c *call, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.s3cAuthorize(c, "s3:ListJobs", "*"); err != nil {
		c.fail(err)
		return
	}
	want := map[string]bool{}
	for _, st := range c.r.URL.Query()["jobStatuses"] {
		want[st] = true
	}
	var jobs []*batchJob
	for _, j := range s.jobs {
		if j.account == c.p.account && j.region == c.region && (len(want) == 0 || want[j.status]) {
			jobs = append(jobs, j)
		}
	}
	sort.Slice(jobs, func(a, b int) bool {
		if !jobs[a].created.Equal(jobs[b].created) {
			return jobs[a].created.After(jobs[b].created)
		}
		return jobs[a].id < jobs[b].id
	})
	start := 0
	if tok := c.r.URL.Query().Get("nextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(jobs) {
			c.fail(errf(http.StatusBadRequest, "InvalidNextTokenException", "invalid nextToken %q", tok))
			return
		}
		start = n
	}
	limit := 1000
	if m := c.r.URL.Query().Get("maxResults"); m != "" {
		if n, err := strconv.Atoi(m); err == nil && n > 0 && n < limit {
			limit = n
		}
	}
	out := struct {
		XMLName   xml.Name               `xml:"ListJobsResult"`
		Xmlns     string                 `xml:"xmlns,attr"`
		Jobs      []s3cJobListDescriptor `xml:"Jobs>member"`
		NextToken string                 `xml:"NextToken,omitempty"`
	}{Xmlns: s3ControlNS}
	end := min(start+limit, len(jobs))
	for _, j := range jobs[start:end] {
		d := s3cJobListDescriptor{JobId: j.id, Description: j.description, Operation: "S3ReplicateObject",
			Priority: j.priority, Status: j.status, CreationTime: s3Time(j.created), ProgressSummary: j.progress(s.now())}
		if !j.terminated.IsZero() {
			d.TerminationDate = s3Time(j.terminated)
		}
		out.Jobs = append(out.Jobs, d)
	}
	if end < len(jobs) {
		out.NextToken = strconv.Itoa(end)
	}
	c.writeXML(out)
}

// s3cUpdateJobStatus is UpdateJobStatus: Ready confirms a Suspended job, Cancelled cancels
// a job that has not ended. Any other transition is JobStatusException, as S3 answers.
func (s *Server) s3cUpdateJobStatus(c *call, id string) {
	q := c.r.URL.Query()
	want, reason := q.Get("requestedJobStatus"), q.Get("statusUpdateReason")
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.s3cJob(c, id, "s3:UpdateJobStatus")
	if err != nil {
		c.fail(err)
		return
	}
	switch {
	case want == jobReady && j.status == jobSuspended:
		j.statusReason = reason
		s.confirmJob(j)
	case want == jobCancelled && !jobEnded(j.status):
		j.statusReason = reason
		j.cancel = true
		if j.status == jobSuspended || j.status == jobNew {
			j.finish(s, jobCancelled)
		}
	default:
		c.fail(errf(http.StatusBadRequest, "JobStatusException",
			"job %s is %s and cannot move to %q", j.id, j.status, want))
		return
	}
	c.writeXML(struct {
		XMLName            xml.Name `xml:"UpdateJobStatusResult"`
		JobId              string   `xml:"JobId"`
		Status             string   `xml:"Status"`
		StatusUpdateReason string   `xml:"StatusUpdateReason,omitempty"`
	}{JobId: j.id, Status: j.status, StatusUpdateReason: j.statusReason})
}

// progress is the job's ProgressSummary at now.
func (j *batchJob) progress(now time.Time) s3cProgress {
	p := s3cProgress{TotalNumberOfTasks: int64(len(j.tasks)), NumberOfTasksSucceeded: j.succeeded, NumberOfTasksFailed: j.failed}
	if !j.activeSince.IsZero() {
		end := now
		if !j.terminated.IsZero() {
			end = j.terminated
		}
		p.Timers.ElapsedTimeInActiveSeconds = int64(end.Sub(j.activeSince) / time.Second)
	}
	return p
}
