package localaws

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// kmsTestEnv is a running simulator with a settable clock.
type kmsTestEnv struct {
	s        *Server
	endpoint string
	clock    *testClock
}

func newKMSTestEnv(t *testing.T, opts Options) *kmsTestEnv {
	t.Helper()
	s, endpoint, clock := startTestServer(t, opts, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	return &kmsTestEnv{s: s, endpoint: endpoint, clock: clock}
}

// root returns a KMS client acting as the root user of account in region.
func (e *kmsTestEnv) root(account, region string) *kms.Client {
	return kms.NewFromConfig(RootConfig(e.endpoint, account, region))
}

// role creates an IAM role directly in the simulator's state (independently of the IAM
// API) with an optional inline identity policy, and returns its ARN.
func (e *kmsTestEnv) role(t *testing.T, account, name, policy string) string {
	t.Helper()
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	r := &role{
		account: account,
		name:    name,
		path:    "/",
		arn:     "arn:aws:iam::" + account + ":role/" + name,
		id:      "AROA" + kmsRandHex(8),
		created: e.s.now(),
		inline:  map[string]*inlinePolicy{},
		tags:    map[string]string{},
	}
	if policy != "" {
		p, err := authz.Parse([]byte(policy))
		if err != nil {
			t.Fatalf("parse identity policy of %s: %v", name, err)
		}
		r.inline["inline"] = &inlinePolicy{doc: policy, parsed: p}
	}
	e.s.accounts[account].roles[name] = r
	return r.arn
}

// setRolePolicy replaces the inline policy of a role made by role.
func (e *kmsTestEnv) setRolePolicy(t *testing.T, account, name, policy string) {
	t.Helper()
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	r := e.s.accounts[account].roles[name]
	r.inline = map[string]*inlinePolicy{}
	if policy != "" {
		p, err := authz.Parse([]byte(policy))
		if err != nil {
			t.Fatalf("parse identity policy of %s: %v", name, err)
		}
		r.inline["inline"] = &inlinePolicy{doc: policy, parsed: p}
	}
}

// session issues temporary credentials for a role made by role, without going through STS.
func (e *kmsTestEnv) session(account, roleName string) (*principal, aws.Credentials) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	sess := &session{
		accessKey:   "ASIA" + kmsRandHex(8),
		secret:      kmsRandHex(16),
		token:       kmsRandHex(24),
		account:     account,
		roleName:    roleName,
		sessionName: "kms-test",
		expires:     e.s.now().Add(240 * time.Hour),
	}
	e.s.sessions[sess.accessKey] = sess
	p, aerr := e.s.resolveCaller(sess.accessKey, sess.token)
	if aerr != nil {
		panic(aerr)
	}
	return p, aws.Credentials{AccessKeyID: sess.accessKey, SecretAccessKey: sess.secret, SessionToken: sess.token}
}

// roleClient returns a KMS client acting as a session of a role made by role.
func (e *kmsTestEnv) roleClient(account, roleName, region string) *kms.Client {
	_, creds := e.session(account, roleName)
	return kms.NewFromConfig(SessionConfig(e.endpoint, region, creds))
}

func kmsRandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// kmsIs reports whether err unwraps to the SDK's typed error T.
func kmsIs[T error](err error) bool {
	var e T
	return errors.As(err, &e)
}
