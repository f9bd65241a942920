package awsclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// TestWithEndpointURLWinsOverTheEnvironment: --endpoint-url, like the AWS CLI's, sends
// every call to its URL even when AWS_ENDPOINT_URL_<SERVICE> names another, which the
// SDK would otherwise prefer to BaseEndpoint.
func TestWithEndpointURLWinsOverTheEnvironment(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"stateMachines":[]}`))
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:1") // nothing listens there
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	cfg, err := Load(context.Background(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RetryMaxAttempts = 1
	if _, err := SFN(WithEndpointURL(cfg, srv.URL)).ListStateMachines(context.Background(), &sfn.ListStateMachinesInput{}); err != nil {
		t.Fatalf("ListStateMachines through --endpoint-url: %v", err)
	}
	if hits.Load() != 1 {
		t.Errorf("the endpoint saw %d calls, want 1", hits.Load())
	}
	// Without it, the environment's service endpoint is used (and fails here).
	if _, err := SFN(cfg).ListStateMachines(context.Background(), &sfn.ListStateMachinesInput{}); err == nil {
		t.Error("without WithEndpointURL the call did not go to AWS_ENDPOINT_URL_SFN")
	}
}
