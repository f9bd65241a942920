package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/s3crr/s3crr/internal/monitor"
	"github.com/s3crr/s3crr/internal/names"
)

// monitorEvent is one of internal/monitor's sample events.
func monitorEvent(name string) string {
	return filepath.Join("..", "..", "internal", "monitor", "testdata", name)
}

func TestMonitorPreviewPrintsTheAlert(t *testing.T) {
	code, stdout, _ := runCLI(t, "monitor", "preview", "-f", monitorEvent("pipe-string-body.json"))
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{
		"Subject: s3crr FAILURE DstPutObjectNotPermitted: unmanaged (payments-src -> payments-dst)\n",
		"Attribute reason: DstPutObjectNotPermitted\n", "Attribute severity: failure\n", "Attribute account: ",
		"\nHow to fix\n", "crr apply --rerun",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
}

func TestMonitorPreviewJSON(t *testing.T) {
	code, stdout, _ := runCLI(t, "monitor", "preview", "-f", monitorEvent("batch.json"), "--output", "json")
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	var got []previewAlert
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not the JSON array of alerts: %v", err)
	}
	// The same payload through the library: one printed alert per alert it builds.
	b, err := os.ReadFile(monitorEvent("batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := monitor.Preview(context.Background(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) < 2 {
		t.Fatalf("%d alerts printed, the monitor builds %d", len(got), len(want))
	}
	for i, a := range got {
		if a.Subject != want[i].Subject || a.Attributes["reason"] != want[i].Reason || a.Body != want[i].Body || a.Alert.Reason != want[i].Reason {
			t.Errorf("alert %d: %q %v, want %q reason %s", i, a.Subject, a.Attributes, want[i].Subject, want[i].Reason)
		}
	}
}

func TestMonitorPreviewNoAlertAndErrors(t *testing.T) {
	for _, tt := range []struct{ give, want string }{
		{"s3-test-event.json", "no alert: s3:TestEvent"},
		{"alarm-ok.json", "no alert: alarm s3crr-payments-archive-failed-replication went ALARM → OK"},
	} {
		code, stdout, _ := runCLI(t, "monitor", "preview", "-f", monitorEvent(tt.give))
		if code != exitOK || !strings.HasPrefix(stdout, tt.want) || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%s: exit code %d, stdout %q; want 0 and one line %q...", tt.give, code, stdout, tt.want)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"hello": "world"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(dir, "not.json")
	if err := os.WriteFile(notJSON, []byte("Records: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCLICases(t, []cliCase{
		{"unrecognised shape", []string{"monitor", "preview", "-f", bad}, exitFailure, []string{"bad.json", "expected an S3 event notification"}},
		{"not JSON", []string{"monitor", "preview", "-f", notJSON}, exitFailure, []string{"not.json", "expected"}},
		{"missing file", []string{"monitor", "preview", "-f", filepath.Join(dir, "nope.json")}, exitFailure, []string{"nope.json"}},
		{"no -f", []string{"monitor", "preview"}, exitUsage, []string{"-f is required"}},
		{"bad output", []string{"monitor", "preview", "-f", bad, "--output", "yaml"}, exitUsage, []string{`--output must be text or json, not "yaml"`}},
	})
	for _, f := range []string{bad, notJSON} {
		_, _, stderr := runCLI(t, "monitor", "preview", "-f", f)
		if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
			t.Errorf("%s: the error is %d lines, want one:\n%s", f, n+1, stderr)
		}
	}
}

// TestStatusShowsThePairsAlerts: the monitor (the library the Lambda runs) records a storm
// for a pair in kumo's DynamoDB; `crr status` lists the reason, the last alert and the
// occurrences counted since.
func TestStatusShowsThePairsAlerts(t *testing.T) {
	hub := startHub(t)
	kumoStateMachine(t, hub.Endpoint)
	useEndpoints(t, kumoEndpoints(hub.Endpoint))
	ctx := context.Background()
	pairID := uniqueName("crr-alerts")
	dedup := pairID + "-dedup"
	cfg := hub.AWSConfig()
	db := dynamodb.NewFromConfig(cfg)
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(dedup),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(names.DedupTableKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(names.DedupTableKey), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	registerPair(t, hub.Endpoint, hub.TableName, pairID, "arn:aws:states:us-east-1:000000000000:execution:s3crr-provision:"+pairID+"-0123456789")
	svc := monitor.New(monitor.Config{PairsTable: hub.TableName, DedupTable: dedup, TopicARN: hub.TopicARN, Window: time.Hour}, db, sns.NewFromConfig(cfg))
	raw, err := os.ReadFile(monitorEvent("s3-failed-dst-put.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		ev := strings.ReplaceAll(string(raw), "s3crr-payments-archive", names.RuleID(pairID))
		ev = strings.Replace(ev, `"sequencer": "`, `"sequencer": "`+string(rune('A'+i)), 1)
		if err := svc.Handle(ctx, json.RawMessage(ev)); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, _ := runCLI(t, "status", pairID, "--table", hub.TableName, "--alerts-table", dedup)
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	if !strings.Contains(stdout, "alerts (latest occurrence first):") {
		t.Fatalf("no alerts section:\n%s", stdout)
	}
	var row string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "DstPutObjectNotPermitted ") {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) != 4 || f[2] != "2" || strings.HasSuffix(f[1], "!") {
		t.Errorf("alert row %q: want the reason, its published alert, 2 occurrences since and the last seen", row)
	}
	code, stdout, _ = runCLI(t, "status", pairID, "--table", hub.TableName, "--alerts-table", pairID+"-no-such-table")
	if code != exitOK || !strings.Contains(stdout, "alerts: not read from table "+pairID+"-no-such-table") {
		t.Errorf("a missing alerts table: exit code %d, want 0 with a note", code)
	}
}
