package awsclient

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

// httpErr puts err behind an HTTP response of the given status, as the SDK does.
func httpErr(status int, err error) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}
}

// sdkErr wraps err as an SDK call returns it: an OperationError around the response
// error, here further wrapped by a caller's context.
func sdkErr(service, op string, err error) error {
	return fmt.Errorf("read bucket policy: %w", &smithy.OperationError{ServiceID: service, OperationName: op, Err: err})
}

func TestErrorClassifiers(t *testing.T) {
	tests := []struct {
		name                                   string
		give                                   error
		wantCode                               string
		wantNotFound, wantDenied, wantThrottle bool
	}{
		{name: "nil", give: nil},
		{name: "not an AWS error", give: errors.New("NoSuchBucket: AccessDenied Throttling")},
		{name: "code only in the message", give: apiErr("InternalError", "NoSuchBucket AccessDenied SlowDown"), wantCode: "InternalError"},

		{name: "S3 bucket", give: apiErr("NoSuchBucket", ""), wantCode: "NoSuchBucket", wantNotFound: true},
		{name: "S3 key", give: apiErr("NoSuchKey", ""), wantCode: "NoSuchKey", wantNotFound: true},
		{name: "S3 HEAD", give: httpErr(404, apiErr("NotFound", "Not Found")), wantCode: "NotFound", wantNotFound: true},
		{name: "S3 policy", give: apiErr("NoSuchBucketPolicy", ""), wantCode: "NoSuchBucketPolicy", wantNotFound: true},
		{name: "S3 tags", give: apiErr("NoSuchTagSet", ""), wantCode: "NoSuchTagSet", wantNotFound: true},
		{name: "S3 tags (older code)", give: apiErr("NoSuchTagSetError", ""), wantCode: "NoSuchTagSetError", wantNotFound: true},
		{name: "S3 public access block", give: apiErr("NoSuchPublicAccessBlockConfiguration", ""), wantCode: "NoSuchPublicAccessBlockConfiguration", wantNotFound: true},
		{name: "S3 ownership", give: apiErr("OwnershipControlsNotFoundError", ""), wantCode: "OwnershipControlsNotFoundError", wantNotFound: true},
		{name: "S3 encryption", give: apiErr("ServerSideEncryptionConfigurationNotFoundError", ""), wantCode: "ServerSideEncryptionConfigurationNotFoundError", wantNotFound: true},
		{name: "S3 replication", give: sdkErr("S3", "GetBucketReplication", httpErr(404, apiErr("ReplicationConfigurationNotFoundError", ""))), wantCode: "ReplicationConfigurationNotFoundError", wantNotFound: true},
		{name: "S3 object lock", give: apiErr("ObjectLockConfigurationNotFoundError", ""), wantCode: "ObjectLockConfigurationNotFoundError", wantNotFound: true},
		{name: "KMS", give: sdkErr("KMS", "DescribeKey", apiErr("NotFoundException", "")), wantCode: "NotFoundException", wantNotFound: true},
		{name: "IAM", give: sdkErr("IAM", "GetRole", apiErr("NoSuchEntity", "")), wantCode: "NoSuchEntity", wantNotFound: true},
		{name: "404 alone is no code", give: httpErr(404, errors.New("no body"))},

		{name: "S3 denied", give: apiErr("AccessDenied", ""), wantCode: "AccessDenied", wantDenied: true},
		{name: "KMS denied", give: sdkErr("KMS", "PutKeyPolicy", apiErr("AccessDeniedException", "")), wantCode: "AccessDeniedException", wantDenied: true},
		{name: "EC2-style denied", give: apiErr("UnauthorizedOperation", ""), wantCode: "UnauthorizedOperation", wantDenied: true},
		{name: "S3 HEAD denied", give: httpErr(403, apiErr("Forbidden", "")), wantCode: "Forbidden", wantDenied: true},
		{name: "403 without a body", give: sdkErr("S3", "HeadBucket", httpErr(403, errors.New("no body"))), wantDenied: true},
		{name: "403 with another code", give: httpErr(403, apiErr("ExpiredToken", "")), wantCode: "ExpiredToken"},
		{name: "403 with another code", give: httpErr(403, apiErr("SignatureDoesNotMatch", "")), wantCode: "SignatureDoesNotMatch"},

		{name: "IAM/STS throttled", give: apiErr("Throttling", "Rate exceeded"), wantCode: "Throttling", wantThrottle: true},
		{name: "KMS throttled", give: sdkErr("KMS", "Encrypt", apiErr("ThrottlingException", "")), wantCode: "ThrottlingException", wantThrottle: true},
		{name: "S3 throttled", give: httpErr(503, apiErr("SlowDown", "")), wantCode: "SlowDown", wantThrottle: true},
		{name: "S3 HEAD throttled (no body)", give: httpErr(503, apiErr("ServiceUnavailable", "Service Unavailable")), wantCode: "ServiceUnavailable", wantThrottle: true},
		{name: "S3 500 is not throttling", give: httpErr(500, apiErr("InternalError", "")), wantCode: "InternalError"},
		{name: "Lambda throttled", give: apiErr("TooManyRequestsException", ""), wantCode: "TooManyRequestsException", wantThrottle: true},
		{name: "503 alone is not throttling", give: httpErr(503, errors.New("no body"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.give); got != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tt.wantCode)
			}
			if got := IsNotFound(tt.give); got != tt.wantNotFound {
				t.Errorf("IsNotFound = %v, want %v", got, tt.wantNotFound)
			}
			if got := IsAccessDenied(tt.give); got != tt.wantDenied {
				t.Errorf("IsAccessDenied = %v, want %v", got, tt.wantDenied)
			}
			if got := IsThrottled(tt.give); got != tt.wantThrottle {
				t.Errorf("IsThrottled = %v, want %v", got, tt.wantThrottle)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	if got := ErrorMessage(sdkErr("KMS", "DescribeKey", apiErr("NotFoundException", "Key 'x' does not exist"))); got != "Key 'x' does not exist" {
		t.Errorf("ErrorMessage through wrapping = %q", got)
	}
	if got := ErrorMessage(errors.New("plain")); got != "" {
		t.Errorf("ErrorMessage of a non-AWS error = %q, want empty", got)
	}
}

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		give error
		want int
	}{
		{give: nil},
		{give: apiErr("NoSuchBucket", "")},
		{give: httpErr(404, apiErr("NotFound", "")), want: 404},
		{give: sdkErr("S3", "HeadBucket", httpErr(301, errors.New("moved"))), want: 301},
	}
	for _, tt := range tests {
		if got := HTTPStatus(tt.give); got != tt.want {
			t.Errorf("HTTPStatus(%v) = %d, want %d", tt.give, got, tt.want)
		}
	}
}
