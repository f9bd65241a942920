package localaws

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// STS limits (STS API reference, AssumeRole).
const (
	stsMinDuration      = 900
	stsDefaultDuration  = 3600
	stsChainingDuration = 3600 // a role session assuming another role gets at most an hour
)

var (
	stsSessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	stsExternalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	stsRoleARNPattern     = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:role/.+`)
)

// stsOps maps STS Query actions to their handlers.
var stsOps = map[string]iamHandler{
	"AssumeRole":        (*Server).stsAssumeRole,
	"GetCallerIdentity": (*Server).stsGetCallerIdentity,
}

// stsUnsupported are AssumeRole parameters the simulator refuses rather than ignores:
// session policies would narrow the session's permissions, session tags and source
// identity would need their own trust permissions (sts:TagSession, sts:SetSourceIdentity),
// and MFA has no meaning here. Ignoring any of them would grant more than AWS does.
var stsUnsupported = []string{"Policy", "PolicyArns", "Tags", "TransitiveTagKeys", "SerialNumber", "TokenCode", "SourceIdentity", "ProvidedContexts"}

// serveSTS serves the STS Query API: AssumeRole and GetCallerIdentity.
func (s *Server) serveSTS(c *call) {
	s.iamServeQuery(c, stsNamespace, "2011-06-15", stsOps)
}

type stsCredentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type stsAssumedRoleUserXML struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

type stsAssumeRoleResult struct {
	Credentials     stsCredentialsXML     `xml:"Credentials"`
	AssumedRoleUser stsAssumedRoleUserXML `xml:"AssumedRoleUser"`
}

type stsCallerIdentityResult struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

func (s *Server) stsGetCallerIdentity(c *call, _ iamQueryArgs) (any, *apiError) {
	// GetCallerIdentity needs no permission: AWS answers it even under an explicit deny.
	p := c.p
	res := stsCallerIdentityResult{UserID: p.account, Account: p.account, Arn: p.arn}
	if p.roleName != "" {
		if r := s.accounts[p.account].roles[p.roleName]; r != nil {
			res.UserID = r.id + ":" + p.sessionName
		}
	}
	return res, nil
}

func (s *Server) stsAssumeRole(c *call, q iamQueryArgs) (any, *apiError) {
	for _, name := range stsUnsupported {
		if q.hasPrefix(name) {
			return nil, errf(http.StatusNotImplemented, "NotImplemented",
				"localaws does not simulate the AssumeRole parameter %s; call AssumeRole without it", name)
		}
	}
	arn := q.get("RoleArn")
	switch {
	case !q.has("RoleArn"):
		return nil, iamErrMissing("roleArn")
	case len(arn) < 20 || len(arn) > 2048:
		return nil, iamErrValidation("roleArn", arn, "Member must have length less than or equal to 2048 and greater than or equal to 20")
	case !stsRoleARNPattern.MatchString(arn):
		return nil, errf(http.StatusBadRequest, "ValidationError", "%s is invalid", arn)
	}
	sessionName := q.get("RoleSessionName")
	switch {
	case !q.has("RoleSessionName"):
		return nil, iamErrMissing("roleSessionName")
	case len(sessionName) < 2 || len(sessionName) > 64:
		return nil, iamErrValidation("roleSessionName", sessionName, "Member must have length less than or equal to 64 and greater than or equal to 2")
	case !stsSessionNamePattern.MatchString(sessionName):
		return nil, iamErrValidation("roleSessionName", sessionName, `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	externalID := q.get("ExternalId")
	if q.has("ExternalId") {
		switch {
		case len(externalID) < 2 || len(externalID) > 1224:
			return nil, iamErrValidation("externalId", externalID, "Member must have length less than or equal to 1224 and greater than or equal to 2")
		case !stsExternalIDPattern.MatchString(externalID):
			return nil, iamErrValidation("externalId", externalID, `Member must satisfy regular expression pattern: [\w+=,.@:\/-]*`)
		}
	}
	duration := stsDefaultDuration
	if v := q.get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < stsMinDuration || n > 43200 {
			return nil, iamErrValidation("durationSeconds", v, "Member must have value less than or equal to 43200 and greater than or equal to 900")
		}
		duration = n
	}

	sess, r, err := s.trustAssume(c.p, arn, sessionName, externalID, c.requestContext())
	if err != nil {
		return nil, err
	}
	// Session limits are checked only once the caller is known to be trusted, so they do
	// not reveal the role's settings to others.
	if c.p.roleName != "" && duration > stsChainingDuration {
		return nil, errf(http.StatusBadRequest, "ValidationError",
			"The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if duration > int(r.maxSess) {
		return nil, errf(http.StatusBadRequest, "ValidationError",
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	expires := s.now().Add(time.Duration(duration) * time.Second)
	ak := iamRandomID("ASIA", 16)
	secret := iamRandomSecret(30) // 40 base64 characters, like AWS secret keys
	token := "IQoJb3JpZ2luX2VjE" + strings.NewReplacer("+", "", "/", "", "=", "").Replace(iamRandomSecret(180))
	s.sessions[ak] = &session{
		accessKey:   ak,
		secret:      secret,
		token:       token,
		account:     r.account,
		roleName:    r.name,
		sessionName: sessionName,
		expires:     expires,
	}
	return stsAssumeRoleResult{
		Credentials: stsCredentialsXML{
			AccessKeyID:     ak,
			SecretAccessKey: secret,
			SessionToken:    token,
			Expiration:      iamTime(expires),
		},
		AssumedRoleUser: stsAssumedRoleUserXML{
			AssumedRoleID: r.id + ":" + sessionName,
			Arn:           sess.arn,
		},
	}, nil
}

// assumeRole is sts:AssumeRole by caller p (an AWS principal, or a service principal such
// as s3.amazonaws.com for replication): it evaluates the role's trust policy (with
// sts:ExternalId when externalID is not "") and, for cross-account AWS callers, p's identity
// policies, and returns the session principal. For service callers the role must also have
// propagated (PropagationWindow). The caller holds s.mu.
func (s *Server) assumeRole(p *principal, roleARN, sessionName, externalID string) (*principal, *apiError) {
	sess, _, err := s.trustAssume(p, roleARN, sessionName, externalID, nil)
	return sess, err
}

// trustAssume is assumeRole with extra request context (aws:SecureTransport for API
// calls); it also returns the role. A role that does not exist, or that a service cannot
// see yet, is denied with the same message as an untrusted caller, as STS does, so the
// answer does not reveal which roles exist. The caller holds s.mu.
func (s *Server) trustAssume(p *principal, roleARN, sessionName, externalID string, extra map[string][]string) (*principal, *role, *apiError) {
	who := p.arn
	if p.service != "" {
		who = p.service
	}
	notAuthorized := errAccessDenied("User: " + who + " is not authorized to perform: sts:AssumeRole on resource: " + roleARN)
	r := s.roleByARN(roleARN)
	if r == nil {
		return nil, nil, notAuthorized
	}
	if p.service != "" && !s.roleVisible(r) {
		return nil, nil, notAuthorized
	}
	ctx := map[string][]string{"sts:RoleSessionName": {sessionName}}
	if externalID != "" {
		ctx["sts:ExternalId"] = []string{externalID}
	}
	for k, v := range extra {
		ctx[k] = v
	}
	if err := s.authorize(authRequest{
		p:               p,
		mode:            authz.ModeTrust,
		action:          "sts:AssumeRole",
		resource:        r.arn,
		resourcePolicy:  r.trust,
		resourceAccount: r.account,
		context:         ctx,
	}); err != nil {
		return nil, nil, err
	}
	return &principal{
		account:     r.account,
		arn:         "arn:aws:sts::" + r.account + ":assumed-role/" + r.name + "/" + sessionName,
		roleARN:     r.arn,
		roleName:    r.name,
		sessionName: sessionName,
	}, r, nil
}
