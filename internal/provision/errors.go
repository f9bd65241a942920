package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// The errors below are the ones the state machine reacts to by name. The Lambda handler
// returns them unwrapped, so aws-lambda-go reports the Go type name as the errorType and
// the ASL's Retry and Catch match it (statemachine/provision.asl.json). Every other error
// reaches the state machine as a plain failure and is caught by States.ALL.

// InvalidSpec means the request does not validate; Message lists every problem with its
// JSON path and fix. Not retried.
type InvalidSpec struct{ Message string }

func (e *InvalidSpec) Error() string { return e.Message }

// PreflightFailed means the accounts, buckets or keys are not in a state s3crr can
// provision (wrong account behind a role, a bucket owned by someone else, a key that is
// disabled or asymmetric, Object Lock on only one side...). Not retried: a person must act.
type PreflightFailed struct{ Message string }

func (e *PreflightFailed) Error() string { return e.Message }

// PrincipalNotReady means AWS does not see a just-created IAM role yet: KMS rejects a key
// policy naming it ("invalid principals"), S3 rejects a bucket policy naming it ("Invalid
// principal in policy") or a replication configuration whose role it cannot assume yet;
// or KMS does not yet authorize by a key's new alias (see classifyAliasAuthorized). The
// state machine retries it with backoff for about five minutes; the Lambda never sleeps.
type PrincipalNotReady struct{ Message string }

func (e *PrincipalNotReady) Error() string { return e.Message }

// AccessDenied means a member account's provisioner role (or the hub role assuming it) is
// not allowed an action. Message names the account, the role and the action.
type AccessDenied struct {
	Account, Role, Action string
	Message               string
}

func (e *AccessDenied) Error() string { return e.Message }

// Conflict means provisioning would overwrite something s3crr did not create: a role of the
// same name without s3crr's tag, another replication rule with the same priority, a
// replication configuration using another role, a bucket default-encrypted with a key the
// request does not name. Not retried.
type Conflict struct{ Message string }

func (e *Conflict) Error() string { return e.Message }

// Throttled means an AWS API kept asking s3crr to slow down (Throttling, SlowDown,
// ThrottlingException...) after the SDK's own retries (adaptive mode, awsclient.Load), as
// happens when many pairs are provisioned at once against one account's API rate limits.
// Nothing is wrong with the pair, so the state machine retries the stage with a longer,
// jittered backoff than the SDK's (docs/aws-facts.md#F-SDK-RETRY-MODES); every stage is
// idempotent, so a retry finishes what the throttled attempt started.
type Throttled struct{ Message string }

func (e *Throttled) Error() string { return e.Message }

// StageFailed is any other failure of a stage: an AWS error that is neither a denial nor
// propagation (Message keeps the AWS error code and the call), or a bug. It exists so the
// execution history and the alert name a failure class instead of Go's internal wrapper
// type; the state machine catches it with States.ALL and does not retry it (the SDK has
// already retried transient AWS errors).
type StageFailed struct {
	Message string
	// Err is the underlying chain, so callers in Go can still reach the AWS error
	// (errors.As to smithy.APIError).
	Err error `json:"-"`
}

func (e *StageFailed) Error() string { return e.Message }

// Unwrap returns the underlying error.
func (e *StageFailed) Unwrap() error { return e.Err }

// surface turns a wrapped chain into the bare named error the Lambda must return, keeping
// the whole chain's text as the message so the cause stays readable in the execution
// history. Errors of no named type become StageFailed.
func surface(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var (
		is *InvalidSpec
		pf *PreflightFailed
		pn *PrincipalNotReady
		ad *AccessDenied
		cf *Conflict
		bf *BatchReplicationFailed
		db *DocumentBusy
		dc *DocumentChanged
	)
	switch {
	case errors.As(err, &is):
		return &InvalidSpec{Message: msg}
	case errors.As(err, &pf):
		return &PreflightFailed{Message: msg}
	case errors.As(err, &pn):
		return &PrincipalNotReady{Message: msg}
	case errors.As(err, &ad):
		return &AccessDenied{Account: ad.Account, Role: ad.Role, Action: ad.Action, Message: msg}
	case errors.As(err, &cf):
		return &Conflict{Message: msg}
	case errors.As(err, &bf):
		return &BatchReplicationFailed{Message: msg}
	case errors.As(err, &db):
		return &DocumentBusy{Message: msg}
	case errors.As(err, &dc):
		return &DocumentChanged{Message: msg}
	case awsclient.IsThrottled(err):
		return &Throttled{Message: msg}
	}
	return &StageFailed{Message: msg, Err: err}
}

// isPrincipalNotReady classifies the errors AWS returns while a new role propagates.
// KMS and S3 give these only as codes shared with real policy mistakes, so the message is
// the one place that tells them apart; it is checked only after the code matched.
func isPrincipalNotReady(err error) bool {
	msg := strings.ToLower(awsclient.ErrorMessage(err))
	switch awsclient.ErrorCode(err) {
	case "MalformedPolicyDocumentException": // KMS
		return strings.Contains(msg, "invalid principal")
	case "MalformedPolicy": // S3 bucket policy
		return strings.Contains(msg, "invalid principal")
	case "InvalidArgument", "InvalidRequest": // S3 replication configuration
		return strings.Contains(msg, "role") && (strings.Contains(msg, "assum") || strings.Contains(msg, "not valid"))
	}
	return false
}

// assumeRoleError returns the STS AssumeRole failure inside err, or nil.
func assumeRoleError(err error) *smithy.OperationError {
	if err == nil {
		return nil
	}
	if oe, ok := err.(*smithy.OperationError); ok && oe.ServiceID == "STS" && oe.OperationName == "AssumeRole" {
		return oe
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return assumeRoleError(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if oe := assumeRoleError(e); oe != nil {
				return oe
			}
		}
	}
	return nil
}

// sessionDenied recognises a call that never reached member account m because the hub
// could not assume m's provisioner role (MemberStack not deployed, or trusting another hub
// account or ExternalId). The SDK fetches the session's credentials lazily, so this shows
// up inside whatever call comes first, carrying AssumeRole's 403; read as that call's
// denial it would point at the provisioner's permissions, which are not the problem.
func (m *member) sessionDenied(err error) *AccessDenied {
	oe := assumeRoleError(err)
	if oe == nil || !awsclient.IsAccessDenied(oe) {
		return nil
	}
	return &AccessDenied{
		Account: m.account, Role: m.roleARN, Action: "sts:AssumeRole",
		Message: fmt.Sprintf("the hub could not assume the provisioner role %s in account %s: %v (fix: deploy the MemberStack in %s trusting this deployment's hub account and ExternalId, and check the account ID in the request)",
			m.roleARN, m.account, oe, m.account),
	}
}

// classify wraps an AWS error from member account m with the named type the state machine
// needs, or with context only.
func (m *member) classify(action string, err error) error {
	if ad := m.sessionDenied(err); ad != nil {
		return ad
	}
	switch {
	case err == nil:
		return nil
	case isPrincipalNotReady(err):
		return &PrincipalNotReady{Message: fmt.Sprintf("%s in account %s: %v", action, m.account, err)}
	case awsclient.IsAccessDenied(err):
		return &AccessDenied{
			Account: m.account, Role: m.roleARN, Action: action,
			Message: fmt.Sprintf("%s denied in account %s for role %s: %v (fix: deploy or update the MemberStack in %s so its provisioner role allows %s)",
				action, m.account, m.roleARN, err, m.account, action),
		}
	}
	return fmt.Errorf("%s in account %s: %w", action, m.account, err)
}

// classifyAliasAuthorized classifies the result of a KMS change the provisioner may make
// only on keys with an alias/s3crr* alias (kms:ResourceAliases in its policy) that carry a
// tag only their owner can set (s3crr:managed-by from CreateKey, or the owner's
// s3crr:provisioner-access=allow). The keys stage gives the key that alias moments before,
// and KMS takes up to five minutes to authorize by a new alias ("It might take up to five
// minutes for tag and alias changes to affect KMS key authorization", KMS Developer Guide,
// ABAC). A denial is retried as propagation only when it can be that: the key carries one
// of the tags and its policy lets IAM policies grant the action. A key without the tag, or
// whose policy does not delegate to IAM, is denied for good, so that fails at once with
// the fix instead of being retried for minutes.
func (m *member) classifyAliasAuthorized(ctx context.Context, action, keyARN string, err error) error {
	if err == nil || !awsclient.IsAccessDenied(err) {
		return m.classify(action+" "+keyARN, err)
	}
	if why := m.permanentKeyDenial(ctx, action, keyARN); why != "" {
		return &PreflightFailed{Message: fmt.Sprintf("%s on %s denied in account %s: %s: %v", action, keyARN, m.account, why, err)}
	}
	return &PrincipalNotReady{Message: fmt.Sprintf(
		"%s on %s denied in account %s: KMS may not yet authorize by the key's new alias/s3crr* alias (up to five minutes after it is created); retried. If it persists, the provisioner role %s lacks %s on keys with an alias/s3crr* alias (fix: update the MemberStack): %v",
		action, keyARN, m.account, m.roleARN, action, err)}
}

// permanentKeyDenial says why the provisioner can never make a change on a key, or "" when
// the denial may be the new alias's propagation. It reads what the provisioner may always
// read (tags, key policy); a read that fails says nothing, so the denial stays retryable.
func (m *member) permanentKeyDenial(ctx context.Context, action, keyARN string) string {
	tags := map[string]string{}
	out, err := m.kms.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(keyARN)})
	if err != nil {
		return ""
	}
	for _, t := range out.Tags {
		tags[aws.ToString(t.TagKey)] = aws.ToString(t.TagValue)
	}
	if tags[names.ManagedByTagKey] != names.ManagedByTagValue && tags[names.BroughtKeyTagKey] != names.BroughtKeyTagValue {
		return fmt.Sprintf("s3crr did not create this key and it does not carry the tag %s=%s (fix: the key's owner tags it so, to let s3crr add the pair's statements; or leave kmsKeyArn/kmsKeyAlias out so s3crr creates a key)",
			names.BroughtKeyTagKey, names.BroughtKeyTagValue)
	}
	kp, err := m.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default")})
	if err != nil {
		return ""
	}
	doc, err := policy.ParseDocument([]byte(aws.ToString(kp.Policy)))
	if err != nil || policy.DelegatesToIAM(doc, m.account, action) {
		return ""
	}
	return fmt.Sprintf("the key policy does not let IAM policies grant %s (no \"Enable IAM User Permissions\" statement for arn:aws:iam::%s:root), so the provisioner role's grant cannot apply (fix: add that statement to the key policy, or a statement allowing %s to %s)",
		action, m.account, action, m.roleARN)
}
