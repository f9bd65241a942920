package awsclient

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestLoadRetriesAdaptivelyUnlessTheOperatorChose: clients from Load use the SDK's adaptive
// retry mode with DefaultMaxAttempts, and an operator's AWS_RETRY_MODE / AWS_MAX_ATTEMPTS
// (the SDKs' documented settings) still win.
func TestLoadRetriesAdaptivelyUnlessTheOperatorChose(t *testing.T) {
	tests := []struct {
		name         string
		mode, max    string
		wantMode     aws.RetryMode
		wantAttempts int
	}{
		{name: "defaults", wantMode: aws.RetryModeAdaptive, wantAttempts: DefaultMaxAttempts},
		{name: "operator's mode", mode: "standard", wantMode: aws.RetryModeStandard, wantAttempts: DefaultMaxAttempts},
		{name: "operator's attempts", max: "9", wantMode: aws.RetryModeAdaptive, wantAttempts: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_CONFIG_FILE", "/dev/null")
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
			t.Setenv("AWS_RETRY_MODE", tt.mode)
			t.Setenv("AWS_MAX_ATTEMPTS", tt.max)
			cfg, err := Load(context.Background(), "eu-west-1")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RetryMode != tt.wantMode || cfg.RetryMaxAttempts != tt.wantAttempts {
				t.Errorf("RetryMode %q, RetryMaxAttempts %d; want %q, %d", cfg.RetryMode, cfg.RetryMaxAttempts, tt.wantMode, tt.wantAttempts)
			}
			// A role assumed from it keeps them: the stages' clients are built that way.
			if a := AssumeRole(cfg, "arn:aws:iam::111111111111:role/r", "x", "s", "us-east-1"); a.RetryMode != tt.wantMode || a.RetryMaxAttempts != tt.wantAttempts {
				t.Errorf("assumed-role config: RetryMode %q, RetryMaxAttempts %d", a.RetryMode, a.RetryMaxAttempts)
			}
		})
	}
}
