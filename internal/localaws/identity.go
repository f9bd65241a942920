package localaws

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// account is one simulated AWS account: its IAM roles and managed policies. S3 buckets and
// KMS keys live in Server maps because bucket names are global and keys are per region.
type account struct {
	id       string
	roles    map[string]*role          // by role name (names are unique per account, whatever the path)
	policies map[string]*managedPolicy // by policy ARN
}

func newAccount(id string) *account {
	return &account{id: id, roles: map[string]*role{}, policies: map[string]*managedPolicy{}}
}

// role is an IAM role.
type role struct {
	account  string
	name     string
	path     string // "/" or "/s3crr/"
	arn      string // arn:aws:iam::<account>:role<path><name>
	id       string // AROA...
	created  time.Time
	trustDoc string
	trust    *authz.Policy
	inline   map[string]*inlinePolicy // by policy name
	attached []string                 // managed policy ARNs, in attach order
	boundary string                   // permissions boundary policy ARN, "" if none
	tags     map[string]string
	desc     string
	maxSess  int32
}

// inlinePolicy is a role's embedded policy, kept as written (GetRolePolicy returns it).
type inlinePolicy struct {
	doc    string
	parsed *authz.Policy
}

// managedPolicy is a customer managed policy (CreatePolicy). Only the default version is kept.
type managedPolicy struct {
	account string
	name    string
	path    string
	arn     string
	id      string
	doc     string
	parsed  *authz.Policy
	created time.Time
	desc    string            // CreatePolicy Description, returned by GetPolicy
	tags    map[string]string // CreatePolicy Tags, returned by GetPolicy
}

// session is a set of temporary credentials issued by STS AssumeRole.
type session struct {
	accessKey, secret, token string
	account                  string
	roleName                 string
	sessionName              string
	expires                  time.Time
}

// principal is the resolved caller of a request.
type principal struct {
	account     string
	arn         string // what GetCallerIdentity reports: root ARN or assumed-role session ARN
	roleARN     string // for role sessions: the role's ARN, which policies name
	roleName    string
	sessionName string
	isRoot      bool
	service     string // a service principal acting on its own behalf, e.g. "s3.amazonaws.com"
}

// authzPrincipal is the caller as the policy evaluator sees it.
func (p *principal) authzPrincipal() authz.Principal {
	if p.service != "" {
		return authz.Principal{Service: p.service}
	}
	a := authz.Principal{Account: p.account, IsRoot: p.isRoot, ARN: p.roleARN}
	if p.isRoot {
		a.ARN = rootARN(p.account)
	}
	return a
}

func rootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// resolveCaller maps an access key to a principal. Root credentials of a simulated account
// are the account ID itself with any secret (the convention LocalStack users know);
// temporary credentials must come with their session token and be unexpired.
// The caller holds s.mu.
func (s *Server) resolveCaller(accessKey, token string) (*principal, *apiError) {
	if accountIDPattern.MatchString(accessKey) {
		if _, ok := s.accounts[accessKey]; !ok {
			return nil, errf(http.StatusForbidden, "InvalidClientTokenId",
				"The security token included in the request is invalid: account %s is not simulated (simulated: %s)",
				accessKey, strings.Join(s.accountIDs(), ", "))
		}
		return &principal{account: accessKey, arn: rootARN(accessKey), isRoot: true}, nil
	}
	sess, ok := s.sessions[accessKey]
	if !ok {
		return nil, errf(http.StatusForbidden, "InvalidClientTokenId",
			"The security token included in the request is invalid: unknown access key %s; use an account ID as the access key, or credentials from this server's STS", accessKey)
	}
	if token != sess.token {
		return nil, errf(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid")
	}
	if !s.now().Before(sess.expires) {
		return nil, errf(http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
	}
	r := s.accounts[sess.account].roles[sess.roleName]
	if r == nil {
		// The role was deleted after the session began: AWS rejects such sessions' calls.
		return nil, errAccessDenied("the role of this session no longer exists")
	}
	return &principal{
		account:     sess.account,
		arn:         "arn:aws:sts::" + sess.account + ":assumed-role/" + sess.roleName + "/" + sess.sessionName,
		roleARN:     r.arn,
		roleName:    r.name,
		sessionName: sess.sessionName,
	}, nil
}

// accountIDs lists the simulated account IDs in order. The caller holds s.mu.
func (s *Server) accountIDs() []string { return sortedKeys(s.accounts) }

// identityPolicies returns the identity-based policies and the permissions boundary of a
// role-session principal. Root and service principals have none. The caller holds s.mu.
func (s *Server) identityPolicies(p *principal) (identity []*authz.Policy, boundary *authz.Policy) {
	if p.roleName == "" {
		return nil, nil
	}
	acct := s.accounts[p.account]
	r := acct.roles[p.roleName]
	if r == nil {
		return nil, nil
	}
	for _, name := range sortedKeys(r.inline) {
		identity = append(identity, r.inline[name].parsed)
	}
	for _, arn := range r.attached {
		if mp := s.managedPolicy(arn); mp != nil {
			identity = append(identity, mp.parsed)
		}
	}
	if r.boundary != "" {
		if mp := s.managedPolicy(r.boundary); mp != nil {
			boundary = mp.parsed
		} else {
			// A boundary that no longer exists allows nothing, so the role can do nothing.
			boundary = &authz.Policy{}
		}
	}
	return identity, boundary
}

// managedPolicy finds a customer managed policy by ARN. The caller holds s.mu.
func (s *Server) managedPolicy(arn string) *managedPolicy {
	acct := accountOfARN(arn)
	if a := s.accounts[acct]; a != nil {
		return a.policies[arn]
	}
	return nil
}

// roleByARN finds a role by its ARN (the path is part of the ARN). The caller holds s.mu.
func (s *Server) roleByARN(arn string) *role {
	a := s.accounts[accountOfARN(arn)]
	if a == nil {
		return nil
	}
	i := strings.LastIndex(arn, "/")
	if i < 0 {
		return nil
	}
	r := a.roles[arn[i+1:]]
	if r == nil || r.arn != arn {
		return nil
	}
	return r
}

// principalVisible reports whether a principal named in a resource policy (key policy,
// bucket policy) exists and is visible to other services: account IDs and root ARNs of
// well-formed accounts always are; roles only once they exist and the propagation window
// since their creation has passed. The caller holds s.mu.
func (s *Server) principalVisible(name string) bool {
	if name == "*" || accountIDPattern.MatchString(name) {
		return true
	}
	if strings.HasPrefix(name, "arn:aws:iam::") && strings.HasSuffix(name, ":root") {
		return accountIDPattern.MatchString(accountOfARN(name))
	}
	if strings.Contains(name, ":role/") {
		r := s.roleByARN(name)
		return r != nil && s.roleVisible(r)
	}
	if strings.Contains(name, ":assumed-role/") {
		return true // session ARNs are accepted as written, as AWS does
	}
	return false
}

// roleVisible reports whether a role has propagated. The caller holds s.mu.
func (s *Server) roleVisible(r *role) bool {
	return !s.now().Before(r.created.Add(s.opts.PropagationWindow))
}

// accountOfARN returns the account field of an ARN, or "" for malformed ARNs.
func accountOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// authRequest is one authorization check made on behalf of a request or of the replication
// engine.
type authRequest struct {
	p               *principal
	mode            authz.Mode
	action          string
	resource        string
	resourcePolicy  *authz.Policy
	resourceAccount string
	context         map[string][]string
}

// authorize evaluates an authRequest with the caller's identity policies. It returns nil
// when allowed and an AccessDenied-style error naming the action, the resource and the
// evaluator's reason otherwise; callers rewrite the code for their protocol
// (AccessDeniedException in KMS). The caller holds s.mu.
func (s *Server) authorize(a authRequest) *apiError {
	d := s.decide(a)
	if d.Allowed {
		return nil
	}
	who := a.p.arn
	if a.p.service != "" {
		who = a.p.service
	}
	return errAccessDenied("User: " + who + " is not authorized to perform: " + a.action +
		" on resource: " + a.resource + " because " + d.Reason)
}

// decide is authorize without the error formatting. The caller holds s.mu.
func (s *Server) decide(a authRequest) authz.Decision {
	for k := range a.context {
		if !authz.KnownConditionKey(k) {
			s.unknownKeys[k] = true
		}
	}
	identity, boundary := s.identityPolicies(a.p)
	principal := a.p.authzPrincipal()
	if principal.Service == "" {
		principal.OrgID = s.opts.Organizations[principal.Account]
	}
	// Authorize reads the context into a map of its own, so a.context is passed as is.
	return authz.Authorize(authz.Input{
		Request: authz.Request{
			Principal: principal,
			Action:    a.action,
			Resource:  a.resource,
			Context:   a.context,
		},
		Mode:            a.mode,
		Identity:        identity,
		Boundary:        boundary,
		Resource:        a.resourcePolicy,
		ResourceAccount: a.resourceAccount,
		ResourceOrgID:   s.opts.Organizations[a.resourceAccount],
	})
}

// requestContext returns the condition keys every request carries.
func (c *call) requestContext() map[string][]string {
	secure := "false"
	if c.secure {
		secure = "true"
	}
	return map[string][]string{"aws:SecureTransport": {secure}}
}

// addRequestTagContext adds aws:RequestTag/<key> and aws:TagKeys, in request order, for
// the tags a request carries. IAM and KMS set these keys the same way but name their tag
// fields differently, so each passes kv to read one tag; one builder keeps a tag-based
// condition judged alike in both services. A request without tags gets neither key.
func addRequestTagContext[T any](ctx map[string][]string, tags []T, kv func(T) (key, value string)) map[string][]string {
	if len(tags) == 0 {
		return ctx
	}
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		k, v := kv(t)
		ctx["aws:RequestTag/"+k] = []string{v}
		keys = append(keys, k)
	}
	ctx["aws:TagKeys"] = keys
	return ctx
}
