package localaws

import (
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Start serves s on a loopback port (for tests and in-process local runs) and returns its
// endpoint URL and a function that stops serving and closes s.
func (s *Server) Start() (endpoint string, stop func()) {
	ts := httptest.NewServer(s)
	return ts.URL, func() {
		ts.Close()
		s.Close()
	}
}

// RootConfig returns an SDK configuration that calls endpoint as the root user of account
// in region: the access key ID is the account ID, the secret is ignored by the simulator.
// S3 clients built from it must set UsePathStyle, since <bucket>.localhost does not resolve.
func RootConfig(endpoint, account, region string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(account, "localaws-secret", ""),
		// Tests inject throttling on purpose; one retry keeps them fast but still shows
		// that the SDK's retryer recognises the codes.
		RetryMaxAttempts: 2,
	}
}

// SessionConfig returns an SDK configuration for temporary credentials issued by the
// simulator's STS.
func SessionConfig(endpoint, region string, creds aws.Credentials) aws.Config {
	cfg := RootConfig(endpoint, "", region)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	return cfg
}
