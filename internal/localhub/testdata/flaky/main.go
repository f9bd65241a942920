// Command flaky is a test Lambda that fails with PrincipalNotReady (the error
// IAM and KMS propagation produces in s3crr) on its first FLAKY_FAILURES
// invocations and then succeeds. It counts invocations in the file
// FLAKY_COUNTER, so the count survives a restarted execution environment.
// With FLAKY_PANIC set it panics on its first invocation instead, which makes
// aws-lambda-go end the process, as a crashed Lambda environment.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
)

// PrincipalNotReady has the name the state machine's Retry matches: aws-lambda-go
// reports the error's Go type name as errorType.
type PrincipalNotReady struct{ attempt int64 }

func (e *PrincipalNotReady) Error() string {
	return fmt.Sprintf("invocation %d: the replication role is not yet visible to KMS", e.attempt)
}

type result struct {
	Stage   string            `json:"stage"`
	Changes []any             `json:"changes"`
	Outputs map[string]string `json:"outputs"`
}

func handle(_ context.Context, _ map[string]any) (*result, error) {
	f, err := os.OpenFile(os.Getenv("FLAKY_COUNTER"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Write([]byte{'.'}); err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if os.Getenv("FLAKY_PANIC") != "" && st.Size() == 1 {
		panic(fmt.Sprintf("crash on invocation %d", st.Size()))
	}
	failures, _ := strconv.ParseInt(os.Getenv("FLAKY_FAILURES"), 10, 64)
	if st.Size() <= failures {
		return nil, &PrincipalNotReady{attempt: st.Size()}
	}
	return &result{Stage: "provision", Changes: []any{}, Outputs: map[string]string{"attempt": strconv.FormatInt(st.Size(), 10)}}, nil
}

func main() { lambda.Start(handle) }
