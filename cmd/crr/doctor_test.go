package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/provision"
	"github.com/s3crr/s3crr/internal/verify"
)

// doctorEnv is the sample pair provisioned on the member simulator, with the CLI's
// clients pointed at it and the hub account's credentials, as after `crr local up`.
func doctorEnv(t *testing.T) (endpoint string) {
	t.Helper()
	ctx := context.Background()
	sim := localaws.New(localaws.Options{})
	endpoint, stop := sim.Start()
	t.Cleanup(stop)
	p := localdeploy.Params{Endpoint: endpoint, HubAccount: localaws.HubAccount,
		Members: []string{localaws.SourceAccount, localaws.DestinationAccount}, ExternalID: testExternalID}
	if _, err := localdeploy.Deploy(ctx, p); err != nil {
		t.Fatal(err)
	}
	base, err := localdeploy.HubFunctionConfig(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	req, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	svc := provision.New(provision.Config{ExternalID: testExternalID}, provision.AssumeRoleConnector{Base: base})
	if _, err := svc.Apply(ctx, req); err != nil {
		t.Fatalf("apply the sample pair: %v", err)
	}
	useEndpoints(t, map[string]string{"STS": endpoint, "S3": endpoint, "KMS": endpoint, "IAM": endpoint, "CLOUDWATCH": endpoint})
	t.Setenv("AWS_ACCESS_KEY_ID", localaws.HubAccount)
	t.Setenv(externalIDEnv, testExternalID)
	return endpoint
}

func TestDoctorHealthyPairExitsZero(t *testing.T) {
	doctorEnv(t)
	code, stdout, _ := runCLI(t, "doctor", "-f", samplePath)
	if code != exitOK {
		t.Fatalf("exit code %d, want 0", code)
	}
	if !strings.Contains(stdout, "provisioned by s3crr") || !strings.Contains(stdout, "replication would work; no findings") {
		t.Errorf("stdout does not report a healthy managed pair")
	}
}

func TestDoctorNamesTheFaultAndExitsOne(t *testing.T) {
	endpoint := doctorEnv(t)
	_, err := awsclient.S3(localdeploy.RootConfig(endpoint, localaws.DestinationAccount, "us-east-1")).PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{
		Bucket: aws.String("payments-dst"), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "doctor", "-f", samplePath)
	if code != exitFailure {
		t.Fatalf("exit code %d, want 1", code)
	}
	for _, want := range []string{"destination-versioning → DstBucketUnversioned", "fix: aws s3api put-bucket-versioning --bucket payments-dst", "replication would FAIL", "crr redrive payments-archive --wait"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout does not contain %q", want)
		}
	}
	if !strings.Contains(stderr, "replication would fail") {
		t.Errorf("stderr does not say why the exit code is 1")
	}

	code, stdout, _ = runCLI(t, "doctor", "-f", samplePath, "--output", "json")
	if code != exitFailure {
		t.Fatalf("--output json: exit code %d, want 1", code)
	}
	var rep verify.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--output json is not a report: %v", err)
	}
	if f, ok := rep.Has("destination-versioning"); !ok || f.Code != "DstBucketUnversioned" || f.Fix == "" {
		t.Errorf("JSON report lacks the versioning finding: %+v", rep.Findings)
	}
}

func TestDoctorUsageAndInvalidRequest(t *testing.T) {
	doctorEnv(t)
	dir := t.TempDir()
	bad := dir + "/bad.json"
	if err := os.WriteFile(bad, []byte(`{"pairId":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLICases(t, []cliCase{
		{name: "bad output", give: []string{"doctor", "-f", samplePath, "--output", "yaml"}, want: exitUsage, wantStderr: []string{"--output must be text or json"}},
		{name: "no external id", give: []string{"doctor", "-f", samplePath, "--external-id", ""}, want: exitUsage, wantStderr: []string{"--external-id is required"}},
		{name: "invalid request", give: []string{"doctor", "-f", bad}, want: exitInvalid, wantStderr: []string{"the request is invalid"}},
		{name: "wrong external id", give: []string{"doctor", "-f", samplePath, "--external-id", "nope"}, want: exitFailure, wantStderr: []string{"AccessDenied"}},
	})
}
