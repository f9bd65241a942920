package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/internal/verify"
	"github.com/s3crr/s3crr/internal/verifyjob"
)

// fakeVerifyLambda answers the verify Lambda's stages: the canary stays pending for
// `pending` checks, then completes (or fails with failErr as a function error).
type fakeVerifyLambda struct {
	stages  []string
	pending int
}

func (f *fakeVerifyLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	var ev verifyjob.Event
	if err := json.Unmarshal(in.Payload, &ev); err != nil {
		return nil, err
	}
	f.stages = append(f.stages, ev.Stage)
	st := *ev.State
	switch ev.Stage {
	case verifyjob.StageCheck:
		st.SourceKeyARN, st.DestinationKeyARN = "arn:src", "arn:dst"
	case verifyjob.StageCanaryPut:
		st.Canary = &verify.CanaryResult{Status: verify.CanaryPending, Canary: verify.Canary{Key: "k", SourceKeyARN: st.SourceKeyARN}}
	case verifyjob.StageCanaryCheck:
		if f.pending > 0 {
			f.pending--
		} else {
			st.Canary.Status, st.Canary.LatencySeconds = verify.CanaryCompleted, 3
		}
	}
	b, _ := json.Marshal(st)
	return &lambda.InvokeOutput{Payload: b}, nil
}

func TestDoctorCanaryPollsThenCleansUp(t *testing.T) {
	defer func(d time.Duration) { canaryPoll = d }(canaryPoll)
	canaryPoll = time.Millisecond
	f := &fakeVerifyLambda{pending: 2}
	req, err := spec.Parse([]byte(`{"pairId":"pay","source":{"account":"111111111111","region":"ap-south-1","bucket":"a-src"},"destination":{"account":"222222222222","region":"us-east-1","bucket":"a-dst"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runCanary(context.Background(), f, "s3crr-verify", req)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"check", "canaryPut", "canaryCheck", "canaryCheck", "canaryCheck", "cleanup"}
	if !slices.Equal(f.stages, want) {
		t.Errorf("stages %v, want %v", f.stages, want)
	}
	if res.Status != verify.CanaryCompleted || res.Canary.SourceKeyARN != "arn:src" {
		t.Errorf("result %+v: want completed, with the key the check stage read", res)
	}
}
