package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func TestApplyNamesTheAWSErrorAndTheFix(t *testing.T) {
	hub := startHub(t)
	kumoStateMachine(t, hub.Endpoint)
	useEndpoints(t, kumoEndpoints(hub.Endpoint))
	missing := "arn:aws:states:us-east-1:000000000000:stateMachine:s3crr-provision-missing"
	code, _, stderr := runCLI(t, "apply", "-f", requestFile(t, uniqueName("crr-missing")), "--state-machine", missing)
	if code != exitFailure {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{"states:StartExecution " + missing + ": StateMachineDoesNotExist", "fix: deploy the HubStack first", "or pass --state-machine"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q", want)
		}
	}
}

func TestApplyExplainsAWSErrors(t *testing.T) {
	sm := "arn:aws:states:us-east-1:123456789012:stateMachine:s3crr-provision"
	tests := []struct {
		give string
		want []string
	}{
		{"AccessDeniedException", []string{"states:StartExecution " + sm + ": AccessDeniedException", "your credentials are not allowed states:StartExecution on " + sm}},
		{"ExpiredTokenException", []string{"ExpiredTokenException", "renew them"}},
		{"ExecutionLimitExceeded", []string{"ExecutionLimitExceeded", "wait for some to end"}},
		{"InvalidArn", []string{"InvalidArn", "--state-machine must look like arn:aws:states:REGION:ACCOUNT:stateMachine:s3crr-provision"}},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			f := &fakeSFN{t: t, startErr: tt.give}
			useEndpoints(t, map[string]string{"SFN": f.serve()})
			code, _, stderr := runCLI(t, "apply", "-f", samplePath, "--state-machine", sm)
			if code != exitFailure {
				t.Errorf("exit code %d, want 1", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q", w)
				}
			}
		})
	}
}

// TestExplainUsesTheCallsFixThenTheCommonOne pins explain's choice of advice: the call's
// own fix by code, else the advice for denials, throttling and credentials, which it
// recognises by code through wrapping (as the SDK returns errors), never by message.
func TestExplainUsesTheCallsFixThenTheCommonOne(t *testing.T) {
	sdk := func(code, msg string) error {
		return &smithy.OperationError{ServiceID: "SFN", OperationName: "StartExecution", Err: &smithy.GenericAPIError{Code: code, Message: msg}}
	}
	fixes := map[string]string{"StateMachineDoesNotExist": "deploy the HubStack", "AccessDeniedException": "the call's own advice"}
	tests := []struct {
		give    error
		want    string
		wantFix string
	}{
		{give: sdk("StateMachineDoesNotExist", "no such"), want: "states:StartExecution arn:sm: StateMachineDoesNotExist: no such", wantFix: "deploy the HubStack"},
		{give: sdk("AccessDeniedException", "denied"), wantFix: "the call's own advice"},
		{give: sdk("AccessDenied", "denied"), wantFix: "your credentials are not allowed states:StartExecution on arn:sm"},
		{give: sdk("SlowDown", ""), wantFix: "AWS is throttling the calls"},
		{give: sdk("ThrottlingException", ""), wantFix: "AWS is throttling the calls"},
		{give: sdk("ExpiredToken", ""), wantFix: "your session credentials have expired"},
		{give: sdk("InvalidClientTokenId", ""), wantFix: "AWS does not accept your credentials"},
		{give: sdk("InternalError", "AccessDenied Throttling"), want: "InternalError: AccessDenied Throttling"},
	}
	for _, tt := range tests {
		t.Run(tt.give.Error(), func(t *testing.T) {
			err := explain(tt.give, "states:StartExecution", "arn:sm", fixes)
			msg := err.Error()
			if tt.want != "" && !strings.Contains(msg, tt.want) {
				t.Errorf("%q does not contain %q", msg, tt.want)
			}
			_, fix, hasFix := strings.Cut(msg, "\n  fix: ")
			switch {
			case tt.wantFix == "" && hasFix:
				t.Errorf("fix %q for an error with no known advice", fix)
			case tt.wantFix != "" && !strings.HasPrefix(fix, tt.wantFix):
				t.Errorf("fix %q, want it to start with %q", fix, tt.wantFix)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Error("the explained error no longer unwraps to the SDK's")
			}
		})
	}
	plain := errors.New("dial tcp: connection refused")
	if err := explain(plain, "states:StartExecution", "arn:sm", fixes); !errors.Is(err, plain) || !strings.HasPrefix(err.Error(), "states:StartExecution arn:sm: dial tcp") {
		t.Errorf("a non-AWS error: %v", err)
	}
}
