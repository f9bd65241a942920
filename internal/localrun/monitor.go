package localrun

// The hub end of the replication-event route, as HubStack builds it: rules on the hub
// bus for the forwarded replication events and s3crr's alarm state changes, whose target
// is the real monitor Lambda (functions/monitor) running in kumo, with its de-duplication
// table in kumo's DynamoDB and the alert topic it publishes to. kumo's EventBridge
// delivers to a Lambda target as AWS does, by an asynchronous Invoke (kumo retries a
// function error twice, Lambda's default), so the event reaches the monitor through the
// same hops as in AWS. What differs: kumo has no retry policy or dead-letter queue on a
// rule target, and enforces no IAM (the monitor's role is walked with the simulator's
// evaluator instead: internal/provision TestMonitorPermissionsAreMinimal).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// MonitorConfig names the monitor's local resources. Tests give each run its own
// de-duplication table, since kumo's state outlives an Env and a window claimed by an
// earlier run would silence this run's alert.
type MonitorConfig struct {
	// FunctionName defaults to names.MonitorFunctionName.
	FunctionName string
	// DedupTable defaults to names.DedupTableName.
	DedupTable string
	// Window is the alert window (ALERT_WINDOW); default the monitor's own (one hour).
	Window time.Duration
}

// MonitorRoute is the running monitor: the Lambda and the rules that feed it.
type MonitorRoute struct {
	// FunctionARN is the monitor Lambda in kumo.
	FunctionARN string
	// DedupTable is its de-duplication table in kumo's DynamoDB.
	DedupTable string
	// Rules are the hub bus rules whose target is the monitor.
	Rules []string
}

func (c MonitorConfig) withDefaults() MonitorConfig {
	if c.FunctionName == "" {
		c.FunctionName = names.MonitorFunctionName
	}
	if c.DedupTable == "" {
		c.DedupTable = names.DedupTableName
	}
	return c
}

// startMonitor builds and starts the monitor Lambda, creates its de-duplication table
// and points the hub bus rules at it. It runs after startEventRoute (the bus exists).
func (e *Env) startMonitor(ctx context.Context) error {
	mc := e.cfg.Monitor.withDefaults()
	cfg := e.Hub.AWSConfig()
	if err := createDedupTable(ctx, dynamodb.NewFromConfig(cfg), mc.DedupTable); err != nil {
		return err
	}
	bootstrap, args, err := e.lambdaCommand(ctx, names.MonitorFunctionDir)
	if err != nil {
		return err
	}
	env := map[string]string{
		// The hub's own services: kumo. Lambda gives a function its role's credentials;
		// kumo checks none, so the local ones stand in.
		"AWS_ACCESS_KEY_ID":         names.LocalAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     names.LocalSecretAccessKey,
		"AWS_REGION":                hubRegion(e.cfg.Hub),
		"AWS_ENDPOINT_URL_DYNAMODB": e.Hub.Endpoint,
		"AWS_ENDPOINT_URL_SNS":      e.Hub.Endpoint,
		"AWS_EC2_METADATA_DISABLED": "true",
		// HubStack's variables (cdk/function.go).
		"PAIRS_TABLE_NAME": e.Hub.TableName,
		"DEDUP_TABLE_NAME": mc.DedupTable,
		"ALERT_TOPIC_ARN":  e.Hub.TopicARN,
	}
	if mc.Window > 0 {
		env["ALERT_WINDOW"] = mc.Window.String()
	}
	// One execution environment: kumo then hands the monitor its events one at a time,
	// in the order they were put on the bus, so a test that puts a redelivery and then
	// a new event knows the redelivery was handled once the new event's alert arrives.
	// (The monitor is correct at any concurrency: de-duplication is in DynamoDB.)
	arn, err := e.Hub.AddFunction(ctx, localhub.Function{Name: mc.FunctionName, Bootstrap: bootstrap, Args: args, Env: env, Timeout: 30 * time.Second, Concurrency: 1})
	if err != nil {
		return err
	}
	e.Monitor = MonitorRoute{FunctionARN: arn, DedupTable: mc.DedupTable}
	eb := eventbridge.NewFromConfig(cfg)
	for _, r := range MonitorRules() {
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
			Name: aws.String(r.Name), EventBusName: aws.String(e.EventBusName), EventPattern: aws.String(r.Pattern), State: ebtypes.RuleStateEnabled,
		}); err != nil {
			return fmt.Errorf("put rule %s on %s: %w", r.Name, e.EventBusName, err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
			Rule: aws.String(r.Name), EventBusName: aws.String(e.EventBusName),
			Targets: []ebtypes.Target{{Id: aws.String("monitor"), Arn: aws.String(arn)}},
		}); err != nil {
			return fmt.Errorf("put the monitor as target of rule %s: %w", r.Name, err)
		}
		e.Monitor.Rules = append(e.Monitor.Rules, r.Name)
	}
	return nil
}

// MonitorRule is one hub bus rule that feeds the monitor.
type MonitorRule struct {
	Name, Pattern string
}

// MonitorRules are HubStack's monitor rules with their event patterns as EventBridge
// JSON: MemberStack's replication events, and the state changes of alarms named with
// s3crr's prefix (the pair's failed-replication alarm, the events DLQ alarm).
func MonitorRules() []MonitorRule {
	repl, _ := json.Marshal(map[string]any{
		"source":      []string{names.ReplicationEventSource},
		"detail-type": []string{names.ReplicationEventDetailType},
	})
	alarm, _ := json.Marshal(map[string]any{
		"source":      []string{names.AlarmEventSource},
		"detail-type": []string{names.AlarmDetailType},
		"detail":      map[string]any{"alarmName": []any{map[string]string{"prefix": names.AlarmNamePrefix}}},
	})
	return []MonitorRule{
		{Name: names.MonitorReplicationRuleName, Pattern: string(repl)},
		{Name: names.MonitorAlarmRuleName, Pattern: string(alarm)},
	}
}

// createDedupTable creates the monitor's table as HubStack does (key and TTL attribute);
// an existing one is kept, as kumo's state outlives an Env.
func createDedupTable(ctx context.Context, db *dynamodb.Client, table string) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(names.DedupTableKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(names.DedupTableKey), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	var inUse *ddbtypes.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create de-duplication table %s: %w", table, err)
	}
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(names.DedupTTLAttribute), Enabled: aws.Bool(true)},
	}); err != nil {
		return fmt.Errorf("enable TTL on %s: %w", table, err)
	}
	return nil
}

// MonitorAlert is an alert the monitor published, as the alert topic's SQS subscriber
// reads it: SNS's envelope and the alert's facts (the message's "default" JSON).
type MonitorAlert struct {
	Subject string
	// Attributes are the SNS message attributes (pair, reason, severity, account).
	Attributes map[string]string
	// Facts is the alert as JSON fields: Pair, Reason, Object, VersionID, Cause, Fix, ...
	Pair, Reason, Severity, Object, VersionID, Cause string
	Fix, Statements                                  []string
	Count                                            int64
}

// WaitMonitorAlerts reads the alert subscription until an alert for pair and reason
// arrives or wait passes, and returns every monitor alert it read (for any pair and
// reason), so a caller also sees the alerts it did not expect. Other messages (the state
// machine's run notices) are read and dropped.
func (e *Env) WaitMonitorAlerts(ctx context.Context, pair, reason string, wait time.Duration) ([]MonitorAlert, error) {
	var out []MonitorAlert
	deadline := time.Now().Add(wait)
	for {
		msgs, err := e.Hub.ReceiveAlerts(ctx, max(time.Until(deadline), 0))
		if err != nil {
			return out, err
		}
		for _, m := range msgs {
			if a, ok := monitorAlert(m); ok {
				out = append(out, a)
			}
		}
		if FindAlert(out, pair, reason) >= 0 || time.Now().After(deadline) {
			return out, nil
		}
	}
}

// FindAlert is the index of the first alert for pair and reason, -1 if none.
func FindAlert(alerts []MonitorAlert, pair, reason string) int {
	for i, a := range alerts {
		if a.Pair == pair && a.Reason == reason {
			return i
		}
	}
	return -1
}

// monitorAlert decodes a monitor alert; ok is false for other messages on the topic.
func monitorAlert(m localhub.Alert) (MonitorAlert, bool) {
	if !strings.HasPrefix(m.Subject, "s3crr ") || m.MessageAttributes["reason"].Value == "" {
		return MonitorAlert{}, false
	}
	var a MonitorAlert
	if err := json.Unmarshal([]byte(m.Message), &a); err != nil {
		return MonitorAlert{}, false
	}
	a.Subject = m.Subject
	a.Attributes = map[string]string{}
	for k, v := range m.MessageAttributes {
		a.Attributes[k] = v.Value
	}
	return a, true
}

// DedupItems counts the monitor's de-duplication items: occurrences (event#) and alert
// windows (alert#).
func (e *Env) DedupItems(ctx context.Context) (occurrences, windows int, err error) {
	db := dynamodb.NewFromConfig(e.Hub.AWSConfig())
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(e.Monitor.DedupTable)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("scan %s: %w", e.Monitor.DedupTable, err)
		}
		for _, it := range out.Items {
			k, _ := it[names.DedupTableKey].(*ddbtypes.AttributeValueMemberS)
			switch {
			case k == nil:
			case strings.HasPrefix(k.Value, policy.DedupEventKeyPrefix):
				occurrences++
			case strings.HasPrefix(k.Value, policy.DedupWindowKeyPrefix):
				windows++
			}
		}
	}
	return occurrences, windows, nil
}
