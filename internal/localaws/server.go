// Package localaws simulates the member accounts of an s3crr deployment: S3, KMS, IAM,
// STS, CloudWatch alarms and SQS queues across several AWS accounts and regions, behind
// one HTTP endpoint that speaks the real wire protocols, so that aws-sdk-go-v2 clients
// and the AWS CLI work unchanged with an endpoint override.
//
// No emulator that runs here separates accounts, evaluates IAM, bucket and key policies, or
// performs replication, so this package does all three: the caller's account comes from its
// credentials, every request is authorized by internal/localaws/authz the way AWS evaluates
// it, and a replication engine copies new versions to their destination, checking every
// permission S3 checks and recording the documented failure codes.
//
// The simulator judges the policies s3crr writes, so it must never import internal/policy
// or internal/provision: a permission that is wrong on both sides would pass.
//
// All state belongs to a Server value, so parallel tests never share it. One mutex guards it:
// the simulator is for correctness, not for concurrency throughput.
package localaws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Well-known accounts of a local s3crr deployment.
const (
	// HubAccount plays the automation account. It matches kumo's fixed account so ARNs of
	// the hub's Lambda functions, topics and queues line up in local mode.
	HubAccount = "000000000000"
	// SourceAccount and DestinationAccount are member accounts A and B of the sample pair.
	SourceAccount      = "111111111111"
	DestinationAccount = "222222222222"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Accounts are the simulated account IDs. Requests signed with any other account's
	// credentials are rejected with InvalidClientTokenId. Default: the hub, A and B.
	Accounts []string
	// ReplicationDelay postpones each replication after the write that triggers it, to make
	// PENDING observable. Zero replicates immediately (still asynchronously).
	ReplicationDelay time.Duration
	// PropagationWindow makes a just-created IAM role invisible to KMS key-policy and S3
	// bucket-policy principal validation, and not yet assumable by services, for this long,
	// as IAM's eventual consistency does in AWS.
	PropagationWindow time.Duration
	// PlainHTTPIsInsecure makes requests over plain HTTP count as aws:SecureTransport=false.
	// By default the simulator stands in for AWS's HTTPS endpoints, so plain HTTP counts
	// as secure transport; tests of TLS-only bucket policies turn this on.
	PlainHTTPIsInsecure bool
	// Organizations maps simulated account IDs to their AWS Organizations ID, for the
	// aws:PrincipalOrgID and aws:ResourceOrgID condition keys, which AWS puts in a
	// request's context only for accounts in an organization
	// (docs/aws-facts.md#F-IAM-ORG-CONDITION-KEYS). An account not listed is in none.
	Organizations map[string]string
	// EventSink receives every S3 event notification the simulator emits (replication
	// failure events among them). It is called without the server lock held, from the
	// replication goroutine. Nil drops events (they are still recorded, see Server.Events).
	EventSink func(Event)
	// Now is the clock; tests may replace it. Default time.Now.
	Now func() time.Time
}

// Event is one S3 event notification delivered to a destination of a bucket's
// notification configuration.
type Event struct {
	// TargetARN is the SQS queue, SNS topic or Lambda function ARN the configuration names.
	TargetARN string
	// Bucket, Account and Region identify the source of the event.
	Bucket, Account, Region string
	// EventName is the event type without the "s3:" prefix, e.g.
	// "Replication:OperationFailedReplication".
	EventName string
	// Body is the JSON message S3 sends: {"Records":[...]}.
	Body []byte
}

// Server is one simulated multi-account AWS. It implements http.Handler.
type Server struct {
	opts Options

	mu       sync.Mutex
	accounts map[string]*account   // by account ID
	sessions map[string]*session   // temporary credentials, by access key ID
	buckets  map[string]*bucket    // bucket names are global across accounts and regions
	kms      map[string]*kmsRegion // by account + "/" + region
	cw       map[string]*cwRegion  // CloudWatch alarms, by account + "/" + region
	sqs      map[string]*sqsQueue  // queues, by account + "/" + region + "/" + name
	events   []Event               // every event emitted, for tests
	stats    map[statKey]int       // request counters
	faults   []*Fault              // injected faults, consumed in order
	repl     replicationWork       // the asynchronous replication engine's bookkeeping
	jobs     map[string]*batchJob  // S3 Batch Operations jobs, by job ID (batch_replication.go)
	cond     *sync.Cond            // signalled when replication work drains
	closed   bool
	// unknownKeys collects condition keys a handler put in a request context that the
	// evaluator does not know: a simulator bug (a policy using such a key would be
	// denied as "unsupported"), surfaced by UnknownContextKeys for tests.
	unknownKeys map[string]bool
	baseCtx     context.Context
	cancel      context.CancelFunc

	// The request-rate throttle (stats.go): the limit, if any; its token buckets by
	// account/region/service; and how many requests were failed with a throttling
	// error (the rate limit's or an injected fault's).
	limit     *RateLimit
	tokens    map[string]*tokenBucket
	throttled int
}

// New returns a Server with empty buckets, keys and roles in each configured account.
func New(opts Options) *Server {
	if len(opts.Accounts) == 0 {
		opts.Accounts = []string{HubAccount, SourceAccount, DestinationAccount}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:        opts,
		accounts:    map[string]*account{},
		sessions:    map[string]*session{},
		buckets:     map[string]*bucket{},
		kms:         map[string]*kmsRegion{},
		cw:          map[string]*cwRegion{},
		sqs:         map[string]*sqsQueue{},
		stats:       map[statKey]int{},
		unknownKeys: map[string]bool{},
		baseCtx:     ctx,
		cancel:      cancel,
	}
	s.cond = sync.NewCond(&s.mu)
	for _, id := range opts.Accounts {
		s.accounts[id] = newAccount(id)
	}
	return s
}

// Accounts lists the simulated account IDs in order.
func (s *Server) Accounts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accountIDs()
}

// Close stops pending replication work. Requests after Close still work; replication
// triggered after Close is dropped.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
}

// UnknownContextKeys lists the condition keys the simulator's own handlers supplied that
// the policy evaluator does not know. It should always be empty; tests check it.
func (s *Server) UnknownContextKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.unknownKeys)
}

// Events returns a copy of every event notification emitted so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// ServeHTTP dispatches a request to S3, KMS, IAM, STS, CloudWatch or SQS by its SigV4 credential
// scope and protocol headers, after resolving the caller from its credentials.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, requestID: newRequestID()}
	w.Header().Set("x-amz-request-id", c.requestID)
	w.Header().Set("x-amzn-RequestId", c.requestID)

	scope, err := parseScope(r)
	if err != nil {
		c.service = guessService(r)
		c.fail(err)
		return
	}
	c.service, c.region = scope.service, scope.region
	if c.service == "monitoring" {
		// CloudWatch signs as "monitoring"; the simulator names it by its IAM prefix, as
		// request counters and injected faults do.
		c.service = "cloudwatch"
	}
	c.secure = r.TLS != nil || !s.opts.PlainHTTPIsInsecure

	s.mu.Lock()
	p, aerr := s.resolveCaller(scope.accessKey, r.Header.Get("X-Amz-Security-Token"))
	s.mu.Unlock()
	if aerr != nil {
		c.fail(aerr)
		return
	}
	c.p = p

	switch c.service {
	case "s3":
		if isS3Control(r) {
			s.serveS3Control(c)
			return
		}
		s.serveS3(c)
	case "kms":
		s.serveKMS(c)
	case "iam":
		s.serveIAM(c)
	case "sts":
		s.serveSTS(c)
	case "cloudwatch":
		s.serveCloudWatch(c)
	case "sqs":
		s.serveSQS(c)
	default:
		c.fail(&apiError{Status: http.StatusBadRequest, Code: "UnknownService",
			Message: fmt.Sprintf("localaws does not simulate service %q", c.service)})
	}
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// now reads the configured clock.
func (s *Server) now() time.Time { return s.opts.Now() }
