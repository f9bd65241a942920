package main

// Explaining AWS errors: every command that calls AWS reports a failure through explain,
// so each names the call, the resource, the AWS code and the fix the same way.

import (
	"fmt"

	"github.com/s3crr/s3crr/internal/awsclient"
)

// explain turns an error from an AWS call into one that names the call (as its IAM
// action), the resource, the AWS error code and what to do. fixes gives call-specific
// advice by error code; common codes (denied, expired or unknown credentials, throttling)
// have advice here.
func explain(err error, action, resource string, fixes map[string]string) error {
	code := awsclient.ErrorCode(err)
	if code == "" {
		return fmt.Errorf("%s %s: %w", action, resource, err)
	}
	fix := fixes[code]
	if fix == "" {
		fix = commonFix(err, code, action, resource)
	}
	where := action
	if resource != "" {
		where += " " + resource
	}
	msg := fmt.Sprintf("%s: %s: %s", where, code, awsclient.ErrorMessage(err))
	if fix != "" {
		msg += "\n  fix: " + fix
	}
	return &awsError{msg: msg, err: err}
}

// commonFix is the advice for errors any call can get: denied, expired or unknown
// credentials, throttling.
func commonFix(err error, code, action, resource string) string {
	switch {
	case awsclient.IsAccessDenied(err):
		return fmt.Sprintf("your credentials are not allowed %s on %s: add it to their IAM policy, or use --profile for a role that has it (aws sts get-caller-identity shows who you are)", action, orAll(resource))
	case awsclient.IsThrottled(err):
		return "AWS is throttling the calls: wait a little and retry"
	}
	switch code {
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
		return "your session credentials have expired: renew them (e.g. aws sso login) and retry"
	case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch":
		return "AWS does not accept your credentials: check --profile / AWS_PROFILE and AWS_ACCESS_KEY_ID"
	}
	return ""
}

// orAll names a missing resource as IAM does: every resource.
func orAll(resource string) string {
	if resource == "" {
		return "*"
	}
	return resource
}

// awsError is an explained AWS error; it keeps the SDK error for errors.As.
type awsError struct {
	msg string
	err error
}

func (e *awsError) Error() string { return e.msg }

func (e *awsError) Unwrap() error { return e.err }
