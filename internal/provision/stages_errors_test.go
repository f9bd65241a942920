package provision

// Error paths: every AWS call every stage makes is made to fail, and the stage must turn
// the failure into the error the state machine reacts to (AccessDenied naming account,
// role and action; PrincipalNotReady for propagation; otherwise the error with context and
// its AWS code), returned by Run unwrapped.

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// stageState is a starting point for a stage: the accounts as a first run or a re-run
// finds them.
type stageState struct {
	name  string
	setup func(t *testing.T, env *fakeEnv, stage, side string, req []byte)
}

var stageStates = []stageState{
	{"first run", func(t *testing.T, env *fakeEnv, stage, side string, req []byte) { env.applyBefore(t, stage, side, req) }},
	{"re-run", func(t *testing.T, env *fakeEnv, _, _ string, req []byte) { env.applyAll(t, req) }},
	{"interrupted key creation", func(t *testing.T, env *fakeEnv, stage, side string, req []byte) {
		// Unaliased s3crr keys from a run that died after CreateKey, in both accounts.
		for _, s := range []*fakeSide{env.src, env.dst} {
			alias := "alias/s3crr-src"
			if s == env.dst {
				alias = "alias/s3crr-dst"
			}
			s.kms.addKey(func(k *fakeKey) {
				k.tags = kmsTags(names.ManagedByTagKey, names.ManagedByTagValue, names.AliasTagKey, alias)
			})
		}
		env.applyBefore(t, stage, side, req)
	}},
}

// stageCall is one distinct call a stage makes.
type stageCall struct{ account, service, op string }

// callsOf runs a stage once from a state and returns the distinct calls it made, in order.
func callsOf(t *testing.T, state stageState, stage, side string, req []byte) []stageCall {
	t.Helper()
	env := newFakeEnv(t)
	state.setup(t, env, stage, side, req)
	env.log.reset()
	if _, err := env.run(t, stage, side, req); err != nil {
		t.Fatalf("%s from %s: %v", stageLabel(stage, side), state.name, err)
	}
	var out []stageCall
	for _, c := range env.log.calls {
		sc := stageCall{c.Account, c.Service, c.Op}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// fakeOf returns the fake of a service in an account of env.
func (e *fakeEnv) fakeOf(account, service string) *fakeBase {
	s := e.src
	if account == e.dst.account {
		s = e.dst
	}
	switch service {
	case "s3":
		return &s.s3.fakeBase
	case "kms":
		return &s.kms.fakeBase
	case "iam":
		return &s.iam.fakeBase
	case "sts":
		return &s.sts.fakeBase
	case "cloudwatch":
		return &s.cloudwatch.fakeBase
	case "sqs":
		return &s.sqs.fakeBase
	}
	panic("no fake for " + service)
}

// iamAction is the IAM action that authorizes an SDK operation, where the names differ.
func iamAction(service, op string) string {
	renamed := map[string]string{
		"s3:HeadBucket":                         "s3:ListBucket",
		"s3:ListObjectsV2":                      "s3:ListBucket",
		"s3:GetBucketEncryption":                "s3:GetEncryptionConfiguration",
		"s3:PutBucketEncryption":                "s3:PutEncryptionConfiguration",
		"s3:GetBucketReplication":               "s3:GetReplicationConfiguration",
		"s3:PutBucketReplication":               "s3:PutReplicationConfiguration",
		"s3:GetBucketNotificationConfiguration": "s3:GetBucketNotification",
		"s3:PutBucketNotificationConfiguration": "s3:PutBucketNotification",
		"s3:GetObjectLockConfiguration":         "s3:GetBucketObjectLockConfiguration",
		"s3:GetPublicAccessBlock":               "s3:GetBucketPublicAccessBlock",
		"s3:PutPublicAccessBlock":               "s3:PutBucketPublicAccessBlock",
		"s3:GetBucketLifecycleConfiguration":    "s3:GetLifecycleConfiguration",
		"s3:PutBucketLifecycleConfiguration":    "s3:PutLifecycleConfiguration",
		"s3:DeleteBucketLifecycle":              "s3:PutLifecycleConfiguration",
	}
	if a, ok := renamed[service+":"+op]; ok {
		return a
	}
	return service + ":" + op
}

// deniedError is the error each service returns for a denied call.
func deniedError(service string) error {
	switch service {
	case "s3":
		return httpErr(http.StatusForbidden, apiErr("AccessDenied", "Access Denied"))
	case "kms":
		return apiErr("AccessDeniedException", "User: arn:aws:sts::111111111111:assumed-role/s3crr-provisioner/s3crr-payments-archive is not authorized to perform this operation")
	default: // iam, sts
		return apiErr("AccessDenied", "User is not authorized to perform this operation")
	}
}

// internalError is each service's server-side failure code.
func internalError(service string) (error, string) {
	switch service {
	case "s3":
		return httpErr(http.StatusInternalServerError, apiErr("InternalError", "We encountered an internal error. Please try again.")), "InternalError"
	case "kms":
		return apiErr("KMSInternalException", "internal error"), "KMSInternalException"
	case "iam":
		return apiErr("ServiceFailure", "internal error"), "ServiceFailure"
	case "cloudwatch":
		return apiErr("InternalServiceError", "internal error"), "InternalServiceError"
	default:
		return apiErr("InternalFailure", "internal error"), "InternalFailure"
	}
}

// aliasAuthorized are the KMS changes the provisioner may make only on keys with an
// alias/s3crr* alias (kms:ResourceAliases), whose denial is first treated as propagation.
var aliasAuthorized = map[string]bool{"kms:PutKeyPolicy": true, "kms:EnableKeyRotation": true}

// grantedActions lists the actions the generated provisioner policy grants.
func grantedActions(account string) []string {
	var out []string
	for _, s := range policy.ProvisionerPolicy(policy.ProvisionerParams{Account: account, HubAccount: "999999999999", ExternalID: "x"}).Statement {
		out = append(out, s.Action...)
	}
	return out
}

// TestEveryDeniedCallIsAccessDenied walks every call of every stage (from a first run, a
// re-run and after an interrupted key creation) and denies it: the stage must return
// exactly *AccessDenied naming the account, the provisioner role and the IAM action, which
// the provisioner policy must grant, with a fix. Walking the calls the stages really make
// means a new call cannot slip in without its error path.
func TestEveryDeniedCallIsAccessDenied(t *testing.T) {
	req := requestJSON(t)
	for _, state := range stageStates {
		for _, s := range Stages {
			for _, side := range s.Sides {
				for _, c := range callsOf(t, state, s.Name, side, req) {
					name := state.name + "/" + stageLabel(s.Name, side) + "/" + c.account + " " + c.service + ":" + c.op
					t.Run(name, func(t *testing.T) {
						env := newFakeEnv(t)
						state.setup(t, env, s.Name, side, req)
						env.fakeOf(c.account, c.service).fail(c.op, deniedError(c.service))
						_, err := env.run(t, s.Name, side, req)
						want := iamAction(c.service, c.op)
						if aliasAuthorized[want] {
							// KMS authorizes these by the key's new alias, which takes up to
							// five minutes: first propagation, retried by the state machine.
							pn, ok := err.(*PrincipalNotReady)
							if !ok || !strings.Contains(pn.Message, want) || !strings.Contains(pn.Message, "fix:") {
								t.Fatalf("err = %v (%T), want *PrincipalNotReady naming %s with a fix", err, err, want)
							}
							return
						}
						ad, ok := err.(*AccessDenied)
						if !ok {
							t.Fatalf("err = %v (%T), want *AccessDenied", err, err)
						}
						if ad.Account != c.account || ad.Role != "arn:aws:iam::"+c.account+":role/s3crr-provisioner" || !strings.HasPrefix(ad.Action, want) {
							t.Errorf("AccessDenied{Account: %q, Role: %q, Action: %q}, want account %s, its provisioner role, action %s", ad.Account, ad.Role, ad.Action, c.account, want)
						}
						if !strings.Contains(ad.Message, c.account) || !strings.Contains(ad.Message, ad.Role) || !strings.Contains(ad.Message, "fix:") {
							t.Errorf("message %q does not name the account and role with a fix", ad.Message)
						}
						if want != "sts:GetCallerIdentity" && !slices.Contains(grantedActions(c.account), want) {
							t.Errorf("the stage needs %s, which the provisioner policy does not grant", want)
						}
					})
				}
			}
		}
	}
}

// TestEveryOtherFailureKeepsItsCode: any other error from any call fails the stage as
// *StageFailed (not retried by the state machine, and named, not Go's wrapError), with the
// stage and account in the message and the AWS error still reachable with errors.As.
func TestEveryOtherFailureKeepsItsCode(t *testing.T) {
	req := requestJSON(t)
	for _, state := range stageStates[:2] {
		for _, s := range Stages {
			for _, side := range s.Sides {
				for _, c := range callsOf(t, state, s.Name, side, req) {
					name := state.name + "/" + stageLabel(s.Name, side) + "/" + c.account + " " + c.service + ":" + c.op
					t.Run(name, func(t *testing.T) {
						env := newFakeEnv(t)
						state.setup(t, env, s.Name, side, req)
						injected, code := internalError(c.service)
						env.fakeOf(c.account, c.service).fail(c.op, injected)
						_, err := env.run(t, s.Name, side, req)
						switch err.(type) {
						case *StageFailed:
						case nil:
							t.Fatal("the failure was swallowed")
						default:
							t.Fatalf("err = %v (%T), want *StageFailed", err, err)
						}
						var ae smithy.APIError
						if !errors.As(err, &ae) || ae.ErrorCode() != code {
							t.Errorf("errors.As(smithy.APIError) on %v: want code %s", err, code)
						}
						if msg := err.Error(); !strings.Contains(msg, "stage "+stageLabel(s.Name, side)) || !strings.Contains(msg, c.account) {
							t.Errorf("message %q lacks the stage or the account", msg)
						}
					})
				}
			}
		}
	}
}

// throttledError is each service's throttling error, as the SDK returns it once its own
// retries are spent (docs/aws-facts.md#F-SDK-RETRY-MODES).
func throttledError(service string) error {
	switch service {
	case "s3":
		return httpErr(http.StatusServiceUnavailable, apiErr("SlowDown", "Please reduce your request rate."))
	case "kms":
		return apiErr("ThrottlingException", "Rate exceeded")
	default: // iam, sts, cloudwatch
		return apiErr("Throttling", "Rate exceeded")
	}
}

// TestEveryThrottledCallIsThrottled: a call still throttled after the SDK's retries fails
// its stage as *Throttled, which the state machine retries with backoff, wherever the call
// is, with the stage, the account and the AWS code in the message.
func TestEveryThrottledCallIsThrottled(t *testing.T) {
	req := requestJSON(t)
	for _, state := range stageStates[:2] {
		for _, s := range Stages {
			for _, side := range s.Sides {
				for _, c := range callsOf(t, state, s.Name, side, req) {
					name := state.name + "/" + stageLabel(s.Name, side) + "/" + c.account + " " + c.service + ":" + c.op
					t.Run(name, func(t *testing.T) {
						env := newFakeEnv(t)
						state.setup(t, env, s.Name, side, req)
						injected := throttledError(c.service)
						env.fakeOf(c.account, c.service).fail(c.op, injected)
						_, err := env.run(t, s.Name, side, req)
						th, ok := err.(*Throttled)
						if !ok {
							t.Fatalf("err = %v (%T), want *Throttled", err, err)
						}
						if msg := th.Message; !strings.Contains(msg, "stage "+stageLabel(s.Name, side)) || !strings.Contains(msg, c.account) || !strings.Contains(msg, awsclient.ErrorCode(injected)) {
							t.Errorf("message %q lacks the stage, the account or the AWS code", msg)
						}
					})
				}
			}
		}
	}
}

// TestPropagationErrorsArePrincipalNotReady: the errors KMS and S3 give while a new role
// propagates become *PrincipalNotReady (retried by the state machine); the same codes with
// other messages are real policy mistakes and are not.
func TestPropagationErrorsArePrincipalNotReady(t *testing.T) {
	tests := []struct {
		name        string
		stage, side string
		service, op string
		give        error
		want        bool
	}{
		{"KMS invalid principals", names.StageKeyPolicy, SideDestination, "kms", "PutKeyPolicy",
			apiErr("MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals."), true},
		{"KMS lockout check", names.StageKeyPolicy, SideDestination, "kms", "PutKeyPolicy",
			apiErr("MalformedPolicyDocumentException", "The new key policy will not allow you to update the key policy in the future."), false},
		{"KMS bad JSON", names.StageKeyPolicy, SideDestination, "kms", "PutKeyPolicy",
			apiErr("MalformedPolicyDocumentException", "Policy contains invalid JSON"), false},
		{"S3 bucket policy invalid principal", names.StageBucketPolicy, SideDestination, "s3", "PutBucketPolicy",
			httpErr(http.StatusBadRequest, apiErr("MalformedPolicy", "Invalid principal in policy")), true},
		{"S3 bucket policy invalid action", names.StageBucketPolicy, SideDestination, "s3", "PutBucketPolicy",
			httpErr(http.StatusBadRequest, apiErr("MalformedPolicy", "Policy has invalid action")), false},
		{"S3 replication role not assumable yet", names.StageReplication, SideSource, "s3", "PutBucketReplication",
			httpErr(http.StatusBadRequest, apiErr("InvalidArgument", "Invalid Role specified in replication configuration: role arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55 does not exist or is not yet assumable by Amazon S3")), true},
		{"S3 replication role ARN malformed", names.StageReplication, SideSource, "s3", "PutBucketReplication",
			httpErr(http.StatusBadRequest, apiErr("InvalidArgument", "Invalid Role specified in replication configuration")), false},
		{"S3 replication other argument", names.StageReplication, SideSource, "s3", "PutBucketReplication",
			httpErr(http.StatusBadRequest, apiErr("InvalidArgument", "Priority must not be duplicated")), false},
		{"S3 replication versioning", names.StageReplication, SideSource, "s3", "PutBucketReplication",
			httpErr(http.StatusBadRequest, apiErr("InvalidRequest", "Versioning must be 'Enabled' on the bucket to apply a replication configuration")), false},
	}
	req := requestJSON(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			env.applyBefore(t, tt.stage, tt.side, req)
			account := fakeSrcAccount
			if tt.side == SideDestination {
				account = fakeDstAccount
			}
			env.fakeOf(account, tt.service).fail(tt.op, tt.give)
			res, err := env.run(t, tt.stage, tt.side, req)
			if len(res.Changes) != 0 {
				t.Errorf("a failed write is reported as a change: %q", changeActions(res))
			}
			switch e := err.(type) {
			case *PrincipalNotReady:
				if !tt.want {
					t.Fatalf("err = %v: a real policy mistake classified as PrincipalNotReady", err)
				}
				if !strings.Contains(e.Message, account) || !strings.Contains(e.Message, "stage "+stageLabel(tt.stage, tt.side)) {
					t.Errorf("message %q lacks the account or the stage", e.Message)
				}
			case nil:
				t.Fatal("no error")
			default:
				if tt.want {
					t.Fatalf("err = %v (%T), want *PrincipalNotReady", err, err)
				}
				if _, ok := err.(*StageFailed); !ok {
					t.Errorf("err = %v (%T), want *StageFailed", err, err)
				}
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != awsclient.ErrorCode(tt.give) {
					t.Errorf("err = %v: the AWS code %s is lost", err, awsclient.ErrorCode(tt.give))
				}
			}
		})
	}
}

// TestRunReturnsNamedErrorsUnwrapped: Run returns each named error as the bare type (what
// aws-lambda-go reports as errorType, and the ASL matches), with the stage in the message.
func TestRunReturnsNamedErrorsUnwrapped(t *testing.T) {
	tests := []struct {
		name     string
		stage    string
		side     string
		give     func(t *testing.T, env *fakeEnv, req []byte) []byte
		wantType string
		wantText []string
	}{
		{
			name: "invalid request", stage: names.StageBucket, side: SideSource, wantType: "InvalidSpec",
			give: func(*testing.T, *fakeEnv, []byte) []byte {
				return []byte(`{"pairId":"p1x","source":{"account":"12","region":"ap-south-1","bucket":"a"},"destination":{"account":"222222222222","region":"us-east-1","bucket":"Bad_Bucket"},"rule":{}}`)
			},
			wantText: []string{"source.account", "source.bucket", "destination.bucket", "fix:"},
		},
		{
			name: "wrong account", stage: names.StagePreflight, wantType: "PreflightFailed",
			give: func(_ *testing.T, env *fakeEnv, req []byte) []byte {
				env.dst.sts.caller = "333333333333"
				return req
			},
			wantText: []string{"stage preflight", "333333333333", "222222222222"},
		},
		{
			name: "propagation", stage: names.StageKeyPolicy, side: SideDestination, wantType: "PrincipalNotReady",
			give: func(t *testing.T, env *fakeEnv, req []byte) []byte {
				env.applyBefore(t, names.StageKeyPolicy, SideDestination, req)
				env.dst.kms.fail("PutKeyPolicy", apiErr("MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals."))
				return req
			},
			wantText: []string{"stage keyPolicy(destination)", "invalid principals"},
		},
		{
			name: "denied", stage: names.StageBucketPolicy, side: SideDestination, wantType: "AccessDenied",
			give: func(t *testing.T, env *fakeEnv, req []byte) []byte {
				env.applyBefore(t, names.StageBucketPolicy, SideDestination, req)
				env.dst.s3.fail("PutBucketPolicy", deniedError("s3"))
				return req
			},
			wantText: []string{"stage bucketPolicy(destination)", "s3:PutBucketPolicy", "222222222222", "s3crr-provisioner"},
		},
		{
			name: "other AWS failure", stage: names.StageEvents, side: SideSource, wantType: "StageFailed",
			give: func(t *testing.T, env *fakeEnv, req []byte) []byte {
				env.applyBefore(t, names.StageEvents, SideSource, req)
				env.src.s3.fail("PutBucketNotificationConfiguration", httpErr(http.StatusBadRequest,
					apiErr("InvalidArgument", "Unable to validate the following destination configurations")))
				return req
			},
			wantText: []string{"stage events(source)", "InvalidArgument", "111111111111"},
		},
		{
			name: "foreign role", stage: names.StageRole, side: SideSource, wantType: "Conflict",
			give: func(t *testing.T, env *fakeEnv, req []byte) []byte {
				env.applyBefore(t, names.StageRole, SideSource, req)
				env.iams[fakeSrcAccount].addRole("s3crr-repl-payments-src-38d30e55", "/", "{}", nil)
				return req
			},
			wantText: []string{"stage role(source)", "s3crr-repl-payments-src-38d30e55", "fix:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			req := tt.give(t, env, requestJSON(t))
			_, err := env.run(t, tt.stage, tt.side, req)
			var msg string
			switch e := err.(type) {
			case *InvalidSpec:
				msg = e.Message
			case *PreflightFailed:
				msg = e.Message
			case *PrincipalNotReady:
				msg = e.Message
			case *AccessDenied:
				msg = e.Message
				if e.Account == "" || e.Role == "" || e.Action == "" {
					t.Errorf("AccessDenied without account, role or action: %+v", e)
				}
			case *Conflict:
				msg = e.Message
			case *StageFailed:
				msg = e.Message
				var ae smithy.APIError
				if !errors.As(err, &ae) {
					t.Error("StageFailed lost the AWS error underneath")
				}
			default:
				t.Fatalf("err = %v (%T), want a bare named error", err, err)
			}
			if got := reflect.TypeOf(err).Elem().Name(); got != tt.wantType {
				t.Errorf("error type name = %s, want %s (the errorType the ASL matches)", got, tt.wantType)
			}
			if _, ok := err.(*StageFailed); !ok && errors.Unwrap(err) != nil {
				t.Error("the named error wraps another chain")
			}
			for _, w := range tt.wantText {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
}

// TestBadEventsAreInvalidSpec: an unknown stage, an unknown side, a stage run for a side
// it does not have, and a request that is not a valid pair request are *InvalidSpec with
// a message naming the field, before any AWS call.
func TestBadEventsAreInvalidSpec(t *testing.T) {
	good := requestJSON(t)
	tests := []struct {
		name      string
		give      Event
		wantPaths []string
	}{
		{"unknown stage", Event{Stage: "buckets", Side: SideSource, Request: good}, []string{"event.stage", `"buckets"`, names.StageBucket}},
		{"empty stage", Event{Stage: "", Request: good}, []string{"event.stage"}},
		{"unknown side", Event{Stage: names.StageBucket, Side: "both", Request: good}, []string{"event.side", `"both"`}},
		{"bucket policy on the source", Event{Stage: names.StageBucketPolicy, Side: SideSource, Request: good}, []string{"event.side", "destination only"}},
		{"not JSON", Event{Stage: names.StageBucket, Side: SideSource, Request: []byte(`{"pairId":`)}, []string{"invalid pair request"}},
		{"no request", Event{Stage: names.StageValidate}, []string{"invalid pair request"}},
		{"bad fields", Event{Stage: names.StageValidate, Request: requestJSON(t, func(r *spec.Request) {
			r.Source.Region = "ap-south-9"
			r.Destination.KMSKeyAlias = "alias/aws/s3"
			r.Rule.Tags = map[string]string{"class": "invoice"} // with delete-marker replication on
		})}, []string{"source.region", "destination.kmsKeyAlias", "rule.tags"}},
		{"same bucket both sides", Event{Stage: names.StageValidate, Request: requestJSON(t, func(r *spec.Request) {
			r.Destination = r.Source
		})}, []string{"destination"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			res, err := env.svc.Run(t.Context(), tt.give)
			is, ok := err.(*InvalidSpec)
			if !ok {
				t.Fatalf("err = %v (%T), want *InvalidSpec", err, err)
			}
			for _, w := range tt.wantPaths {
				if !strings.Contains(is.Message, w) {
					t.Errorf("message %q lacks %q", is.Message, w)
				}
			}
			if res.Stage != tt.give.Stage || len(res.Changes) != 0 {
				t.Errorf("result %+v", res)
			}
			if tt.name != "bucket policy on the source" && len(env.log.calls) != 0 {
				t.Errorf("AWS calls before the event was validated: %v", env.log.calls)
			}
			if len(env.log.mutating()) != 0 {
				t.Errorf("mutating calls %q", env.log.mutating())
			}
		})
	}
}

// TestPrincipalNotReadyByCodeThenMessage pins the one classifier that reads a message:
// propagation shares its codes with real policy mistakes, so the message counts only
// after the code matched. (Not-found, denial and throttling are awsclient's, tested there.)
func TestPrincipalNotReadyByCodeThenMessage(t *testing.T) {
	tests := []struct {
		give error
		want bool
	}{
		{give: apiErr("MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals."), want: true},
		{give: apiErr("MalformedPolicy", "Invalid principal in policy"), want: true},
		{give: apiErr("InvalidArgument", "role arn:aws:iam::1:role/x is not yet assumable by Amazon S3"), want: true},
		{give: httpErr(400, apiErr("InvalidRequest", "The role is not valid")), want: true},
		{give: apiErr("MalformedPolicyDocumentException", "invalid JSON")},
		{give: apiErr("InvalidRequest", "Versioning must be 'Enabled'")},
		{give: apiErr("Invalid principal in policy", "NoSuchBucket")}, // the message never counts on its own
		{give: errors.New("MalformedPolicy: invalid principals")},
		{give: apiErr("AccessDenied", "invalid principal")},
		{give: apiErr("InternalError", "")},
	}
	for _, tt := range tests {
		t.Run(tt.give.Error(), func(t *testing.T) {
			if got := isPrincipalNotReady(tt.give); got != tt.want {
				t.Errorf("isPrincipalNotReady = %v, want %v", got, tt.want)
			}
		})
	}
}

// sessionError is what the SDK returns for any call of a member session whose
// AssumeRole is refused: the call's operation error around the credential error.
func sessionError(service, op, account string) error {
	assume := &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRole",
		Err: httpErr(http.StatusForbidden, apiErr("AccessDenied", "User: arn:aws:sts::000000000000:assumed-role/s3crr-provision-function/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::"+account+":role/s3crr-provisioner"))}
	return &smithy.OperationError{ServiceID: service, OperationName: op,
		Err: fmt.Errorf("get identity: get credentials: %w", fmt.Errorf("failed to refresh cached credentials, %w", assume))}
}

// TestUnassumableProvisionerRoleNamesTheTrust: when the hub cannot assume a member's
// provisioner role, whichever call a stage makes first fails with AssumeRole's 403 inside.
// Every stage must report AccessDenied for sts:AssumeRole with a fix about the trust
// (MemberStack, hub account, ExternalId), not about the provisioner's permissions, and
// HeadBucket's 403 must not read as a bucket name taken by another account.
func TestUnassumableProvisionerRoleNamesTheTrust(t *testing.T) {
	req := requestJSON(t)
	for _, s := range Stages {
		if s.Name == names.StageValidate {
			// Validate only reads the source bucket's role to adopt; an account it cannot
			// reach is left to preflight, which reports it (TestPlanReportsTheFailedStage
			// in cmd/crr), and refuses a role the run did not adopt.
			continue
		}
		for _, side := range s.Sides {
			for _, account := range []string{fakeSrcAccount, fakeDstAccount} {
				calls := callsOf(t, stageStates[0], s.Name, side, req)
				if !slices.ContainsFunc(calls, func(c stageCall) bool { return c.account == account }) {
					continue // the stage does not reach this account
				}
				t.Run(stageLabel(s.Name, side)+"/"+account, func(t *testing.T) {
					env := newFakeEnv(t)
					env.applyBefore(t, s.Name, side, req)
					for _, svc := range []string{"s3", "kms", "iam", "sts"} {
						env.fakeOf(account, svc).all = sessionError(strings.ToUpper(svc), "Call", account)
					}
					_, err := env.run(t, s.Name, side, req)
					ad, ok := err.(*AccessDenied)
					if !ok {
						t.Fatalf("err = %v (%T), want *AccessDenied", err, err)
					}
					if ad.Action != "sts:AssumeRole" || ad.Account != account || ad.Role != "arn:aws:iam::"+account+":role/s3crr-provisioner" {
						t.Errorf("AccessDenied{Account: %q, Role: %q, Action: %q}", ad.Account, ad.Role, ad.Action)
					}
					for _, w := range []string{"could not assume the provisioner role", "ExternalId", "fix: deploy the MemberStack in " + account} {
						if !strings.Contains(ad.Message, w) {
							t.Errorf("message lacks %q: %s", w, ad.Message)
						}
					}
					if strings.Contains(ad.Message, "taken by another account") || strings.Contains(ad.Message, "so its provisioner role allows") {
						t.Errorf("message blames the wrong thing: %s", ad.Message)
					}
				})
			}
		}
	}
}
