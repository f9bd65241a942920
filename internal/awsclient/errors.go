package awsclient

import (
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The one place that reads AWS errors. Everything is decided by the error code the SDK
// decoded (smithy.APIError, found through any wrapping), or by the HTTP status when the
// response had no body to carry a code; never by message text, which AWS does not promise
// to keep stable. A caller that must also read the message (provision's propagation
// errors, where AWS gives only a code shared with real mistakes) checks the code here first.

// ErrorCode returns the AWS error code of err (e.g. "NoSuchBucket", "AccessDeniedException"),
// or "" when err carries none: nil, a transport failure, or an error of our own.
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// ErrorMessage returns the message AWS sent with err's code, or "" when err carries no
// code. It is for people (the CLI prints it); deciding by it is the one exception the
// package comment describes.
func ErrorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// HTTPStatus returns the HTTP status of the AWS response behind err, or 0 when err did
// not come from a response.
func HTTPStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// notFoundCodes are the "it does not exist" codes of the calls s3crr makes. S3 gives each
// bucket subresource its own code (a bucket with no policy answers GetBucketPolicy with
// NoSuchBucketPolicy, one with no replication configuration answers with
// ReplicationConfigurationNotFoundError), and a HEAD request, having no body, surfaces
// as NotFound; KMS says NotFoundException and IAM NoSuchEntity.
var notFoundCodes = map[string]bool{
	// S3
	"NoSuchBucket": true, "NoSuchKey": true, "NotFound": true,
	"NoSuchBucketPolicy": true, "NoSuchTagSet": true, "NoSuchTagSetError": true,
	"NoSuchPublicAccessBlockConfiguration": true, "OwnershipControlsNotFoundError": true,
	"ServerSideEncryptionConfigurationNotFoundError": true, "ReplicationConfigurationNotFoundError": true,
	"ObjectLockConfigurationNotFoundError": true, "NoSuchLifecycleConfiguration": true,
	// KMS
	"NotFoundException": true,
	// IAM
	"NoSuchEntity": true,
}

// IsNotFound reports whether err says the resource (or the bucket subresource) asked
// for does not exist, which the ensure-style callers read as "create it".
func IsNotFound(err error) bool { return notFoundCodes[ErrorCode(err)] }

// accessDeniedCodes are the authorization failures of S3 (AccessDenied; Forbidden for a
// HEAD request), KMS (AccessDeniedException), IAM and STS (AccessDenied), and EC2-style
// APIs (UnauthorizedOperation).
var accessDeniedCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true, "Forbidden": true,
}

// IsAccessDenied reports whether err is an authorization failure: one of the denial codes,
// or a 403 response that carried no code at all (an S3 HEAD request has no body).
func IsAccessDenied(err error) bool {
	code := ErrorCode(err)
	if code == "" {
		return HTTPStatus(err) == http.StatusForbidden
	}
	return accessDeniedCodes[code]
}

// IsThrottled reports whether err is AWS asking the caller to slow down (Throttling,
// ThrottlingException, SlowDown, TooManyRequestsException...). The codes are the SDK
// retryer's own list, so "throttled" here means what the SDK has already retried with
// backoff before returning the error. S3 throttles with 503 SlowDown, and the answer to
// a HEAD request (HeadBucket, HeadObject) has no body to carry the code: the SDK then
// names it ServiceUnavailable by its status, which counts too
// (docs/aws-facts.md#F-API-THROTTLING).
func IsThrottled(err error) bool {
	code := ErrorCode(err)
	if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
		return true
	}
	return code == "ServiceUnavailable" && HTTPStatus(err) == http.StatusServiceUnavailable
}
