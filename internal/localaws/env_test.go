package localaws

import (
	"sync"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/awsclient"
)

// Helpers every test file of the package shares: the settable clock, the server start, and
// reading the AWS error code of an SDK error. The per-service envs (iamEnv, kmsTestEnv,
// s3Env) build on them.

// testClock is a settable clock for Options.Now, safe to read from handler and replication
// goroutines while a test moves it.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

// Now is the clock's current time, the value Options.Now returns.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advance moves the clock forward by d.
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startTestServer serves a simulator configured by opts on a loopback port until the test
// ends, with its clock replaced by one that starts at start and that the test can move.
func startTestServer(t *testing.T, opts Options, start time.Time) (*Server, string, *testClock) {
	t.Helper()
	clock := &testClock{now: start}
	opts.Now = clock.Now
	s := New(opts)
	endpoint, stop := s.Start()
	t.Cleanup(stop)
	checkContextKeys(t, s)
	return s, endpoint, clock
}

// apiCode returns the AWS error code of err: "" for nil, and a "non-API error: ..." text
// for an error that carries no code, so a transport failure never passes as success or as
// the wanted code.
func apiCode(err error) string {
	if code := awsclient.ErrorCode(err); code != "" || err == nil {
		return code
	}
	return "non-API error: " + err.Error()
}

// checkContextKeys fails the test, when it ends, if a handler supplied a condition key the
// evaluator does not know (such a key makes any policy that uses it deny as unsupported).
func checkContextKeys(t testing.TB, s *Server) {
	t.Cleanup(func() {
		if keys := s.UnknownContextKeys(); len(keys) > 0 {
			t.Errorf("handlers supplied condition keys the evaluator does not know: %v", keys)
		}
	})
}
