package localaws

import (
	"net/http"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/s3crr/s3crr/internal/awsclient"
)

type statKey struct {
	account, service, op string
}

// CallCount is the number of requests one account made to one operation.
type CallCount struct {
	// Account is the caller's account; Service and Operation name the API call, e.g.
	// "s3" and "PutBucketReplication".
	Account, Service, Operation string
	// Mutating is awsclient.IsMutating(Service, Operation): whether the call changes state.
	// The simulator counts writes with the same definition as the stages' unit-test fakes,
	// so "a second run makes no writes" means the same thing against both.
	Mutating bool
	// Count is how many such requests arrived since the server started or ResetCalls.
	Count int
}

// Calls returns the request counters, sorted by account, service and operation. Requests
// rejected before their operation was known (bad credentials) are not counted.
func (s *Server) Calls() []CallCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CallCount, 0, len(s.stats))
	for k, n := range s.stats {
		out = append(out, CallCount{Account: k.account, Service: k.service, Operation: k.op, Mutating: awsclient.IsMutating(k.service, k.op), Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Operation < b.Operation
	})
	return out
}

// MutatingCalls sums the mutating requests (creates, puts, updates, deletes...) made by
// account, or by every account when account is "".
func (s *Server) MutatingCalls(account string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Mutating && (account == "" || c.Account == account) {
			n += c.Count
		}
	}
	return n
}

// ResetCalls zeroes the request counters, e.g. between a first and a second provisioning run.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = map[statKey]int{}
}

// Fault is an injected failure or delay of matching requests. Empty match fields match
// everything.
type Fault struct {
	Account, Service, Operation string
	// Status, Code and Message, when Code is set, make the request fail with that AWS error
	// (e.g. 503 SlowDown for S3, 400 ThrottlingException for KMS, 400 Throttling for IAM/STS).
	Status  int
	Code    string
	Message string
	// Latency delays matching requests before they are served (or failed).
	Latency time.Duration
	// Times limits how many requests the fault applies to; 0 means every request.
	Times int
	// Before, when set, runs once per matching request before it is served, without
	// the server lock held: a test uses it to make another client act at an exact
	// point of a run (a concurrent duplicate creating the same alias first).
	Before func()

	used int
}

// InjectFault adds a fault. Faults are checked in the order they were added; the first
// that matches and is not exhausted applies.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Throttle returns the fault AWS's throttling looks like for a service's operation
// (docs/aws-facts.md#F-API-THROTTLING).
func Throttle(service, op string, times int) Fault {
	f := Fault{Service: service, Operation: op, Times: times, Message: "Rate exceeded"}
	switch service {
	case "s3", "s3control":
		f.Status, f.Code, f.Message = http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."
	case "kms":
		f.Status, f.Code, f.Message = http.StatusBadRequest, "ThrottlingException", "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
	default: // iam, sts, cloudwatch, sqs (their Query code; the SDK retries it)
		f.Status, f.Code = http.StatusBadRequest, "Throttling"
	}
	return f
}

// RateLimit throttles requests as AWS's request quotas do: each account's calls to each
// service in each Region draw from a token bucket of Burst tokens refilled at PerSecond;
// a call that finds it empty fails with the service's throttling error (Throttle's), so
// the SDK's retries and the client's backoff are exercised by load, not by a scripted
// count. Operations AWS gives a quota of their own (Operations, e.g. KMSRequestQuotas)
// draw from their own bucket instead, at their rate, as KMS counts each operation's quota
// independently of the others (docs/aws-facts.md#F-API-THROTTLING). A test sets PerSecond
// low to make many concurrent pairs meet it.
type RateLimit struct {
	PerSecond float64
	Burst     int
	// Operations maps "service:Operation" to that operation's own quota in requests a
	// second (its burst the same, at least 1); operations sharing a quota name it with the
	// same bucket in quotaBucket.
	Operations map[string]float64
}

// KMSRequestQuotas are KMS's default request quotas, per account and Region, of the
// operations s3crr and the simulated replication call (docs/aws-facts.md#F-API-THROTTLING,
// from KMS's table of request quotas): creating keys and aliases is the scarcest, reads are
// plentiful, and the cryptographic operations share one quota (5,500 a second in the Regions
// with the lowest).
var KMSRequestQuotas = map[string]float64{
	"kms:CreateKey": 5, "kms:CreateAlias": 5, "kms:DeleteAlias": 15, "kms:PutKeyPolicy": 15,
	"kms:EnableKeyRotation": 15, "kms:ScheduleKeyDeletion": 15, "kms:TagResource": 10, "kms:UntagResource": 5,
	"kms:DisableKey": 5, "kms:EnableKey": 5, "kms:UpdateAlias": 5,
	"kms:DescribeKey": 2000, "kms:GetKeyPolicy": 1000, "kms:GetKeyRotationStatus": 1000,
	"kms:ListAliases": 500, "kms:ListKeys": 500, "kms:ListResourceTags": 2000, "kms:ListKeyPolicies": 100,
	"kms:" + kmsCryptoQuota: 5500,
}

// kmsCryptoQuota names the quota KMS's symmetric cryptographic operations share.
const kmsCryptoQuota = "cryptographic operations (symmetric)"

// quotaBucket is the name of the quota a service's operation draws from: the operation
// itself, or the quota it shares.
func quotaBucket(service, op string) string {
	if service == "kms" {
		switch op {
		case "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncrypt", "GenerateRandom", "GenerateMac", "VerifyMac":
			return service + ":" + kmsCryptoQuota
		}
	}
	return service + ":" + op
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

// SetRateLimit starts throttling by rate (nil stops it), e.g. once a test's deployment
// is in place.
func (s *Server) SetRateLimit(limit *RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = limit
	s.tokens = map[string]*tokenBucket{}
}

// Throttled returns how many requests the simulator failed with a throttling error (the
// rate limit's and Throttle faults'): each is a retry for the SDK, or a stage failed as
// Throttled for the state machine to retry.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// overRate takes a token for the caller's account, region and the quota the call draws
// from (its operation's own, else its service's), and reports whether there was none.
// Called with s.mu held.
func (s *Server) overRate(c *call) bool {
	if s.limit == nil {
		return false
	}
	rate, burst, scope := s.limit.PerSecond, float64(s.limit.Burst), c.service
	if q := quotaBucket(c.service, c.op); s.limit.Operations[q] > 0 {
		rate, scope = s.limit.Operations[q], q
		burst = max(1, rate)
	}
	if rate <= 0 {
		return false
	}
	now := s.now()
	key := c.p.account + "/" + c.region + "/" + scope
	b := s.tokens[key]
	if b == nil {
		b = &tokenBucket{tokens: burst, last: now}
		s.tokens[key] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return true
	}
	b.tokens--
	return false
}

// begin records an operation once the handler knows its name, counts it, and applies any
// injected fault. It returns false when the request was failed by a fault (the response is
// written). Service handlers call it exactly once per request, without s.mu held.
func (s *Server) begin(c *call, op string) bool {
	c.op = op
	s.mu.Lock()
	s.stats[statKey{account: c.p.account, service: c.service, op: op}]++
	var hit *Fault
	for _, f := range s.faults {
		if (f.Account == "" || f.Account == c.p.account) && (f.Service == "" || f.Service == c.service) &&
			(f.Operation == "" || f.Operation == op) && (f.Times == 0 || f.used < f.Times) {
			f.used++
			hit = f
			break
		}
	}
	var latency time.Duration
	var fail *apiError
	var before func()
	if hit != nil {
		latency, before = hit.Latency, hit.Before
		if hit.Code != "" {
			fail = &apiError{Status: hit.Status, Code: hit.Code, Message: hit.Message}
		}
	}
	if fail == nil && s.overRate(c) {
		t := Throttle(c.service, op, 0)
		fail = &apiError{Status: t.Status, Code: t.Code, Message: t.Message}
	}
	if _, ok := retry.DefaultThrottleErrorCodes[fail.codeOrEmpty()]; ok {
		s.throttled++
	}
	s.mu.Unlock()
	if before != nil {
		before()
	}
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-c.r.Context().Done():
		}
	}
	if fail != nil {
		c.fail(fail)
		return false
	}
	return true
}

// sortedKeys returns the keys of m in order, so responses and evaluation do not depend on
// map iteration order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (e *apiError) codeOrEmpty() string {
	if e == nil {
		return ""
	}
	return e.Code
}
