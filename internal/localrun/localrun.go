// Package localrun runs s3crr end to end on one machine, with nothing but Go and
// Node: internal/localaws plays the member accounts A and B (and the hub account's
// identity), internal/localhub plays the hub account (kumo for Lambda, SNS, SQS,
// EventBridge and DynamoDB, and the ASL runner for Step Functions), and the real
// provision Lambda binary runs statemachine/provision.asl.json against both
// through the SDK's standard AWS_ENDPOINT_URL_<SERVICE> variables.
//
// `crr local demo` and the end-to-end test share it, so what the demo shows is
// what the test asserts.
//
// The process must call localhub.EnsureKumoPort first thing in main or TestMain:
// the replication failure events reach the hub's inbox queue through kumo's
// calls to itself, which need KUMO_PORT set before the process started.
package localrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/statemachine"
)

// Defaults of Config.
const (
	// DefaultRequestPath is the sample request, relative to the module root.
	DefaultRequestPath = "statemachine/sample-pair.json"
)

// Config configures a local run. The zero value is usable.
type Config struct {
	// ModuleRoot is the repository root (go.mod, node_modules, functions/);
	// default: the nearest parent of the working directory that holds go.mod.
	ModuleRoot string
	// ExternalID defaults to names.LocalExternalID.
	ExternalID string
	// Hub configures the hub stand-in (alert topic and pairs table names, the
	// Lambda log). Tests give each run its own names because kumo's state is
	// process-wide.
	Hub localhub.Config
	// FunctionName defaults to names.ProvisionFunctionName.
	FunctionName string
	// EventBus and EventsInbox default to names.EventBusName and names.LocalEventsInbox.
	EventBus, EventsInbox string
	// Monitor names the monitor's local resources (monitor.go).
	Monitor MonitorConfig
	// ReplicationDelay postpones each replication in the member simulator.
	ReplicationDelay time.Duration
	// WaitOverrides and RetryOverrides shorten the named Wait states and retry
	// pauses of every execution (see localhub.RunInput); default none.
	WaitOverrides, RetryOverrides map[string]time.Duration
	// Log receives diagnostics: the Lambda processes' output (unless Hub.Log is
	// set) and events that could not be forwarded to the hub. Default: discarded.
	Log io.Writer
}

// Env is a running local deployment: the member simulator, the hub stand-in with
// the provision Lambda in it, and the event route between them.
type Env struct {
	// Sim is the member-account simulator; MemberEndpoint its URL.
	Sim            *localaws.Server
	MemberEndpoint string
	// Hub is the hub stand-in.
	Hub *localhub.Hub
	// FunctionARN is the provision Lambda's ARN in the hub.
	FunctionARN string
	// Deployment is what localdeploy created: the hub Lambda role and each
	// member's provisioner role.
	Deployment localdeploy.Result
	// CredentialsExpire is when the provision Lambda's temporary credentials
	// (the hub Lambda role's session, issued by the simulator's STS) expire:
	// after that its calls fail with ExpiredToken. Lambda renews them in AWS;
	// locally a new Env does.
	CredentialsExpire time.Time
	// Definition is the provision state machine with its substitutions.
	Definition []byte
	// EventBusName, EventsInboxURL and EventsInboxARN are the hub side of the
	// replication-event route.
	EventBusName, EventsInboxURL, EventsInboxARN string
	// ExternalID is the deployment's ExternalId.
	ExternalID string
	// Monitor is the monitor Lambda the hub bus rules feed (monitor.go).
	Monitor MonitorRoute

	cfg      Config
	buildDir string
	stopSim  func()
	fwd      *forwarder
	labels   map[string]string
}

// Start brings up a local deployment: the member simulator on a loopback port,
// the MemberStack and HubStack roles (localdeploy), the hub stand-in, the
// provision Lambda built for this host, and the replication-event route. Close
// it when done.
func Start(ctx context.Context, cfg Config) (env *Env, err error) {
	cfg, err = withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	if err := localhub.CheckRunner(cfg.ModuleRoot); err != nil {
		return nil, err
	}
	e := &Env{cfg: cfg, ExternalID: cfg.ExternalID, fwd: &forwarder{log: cfg.Log}}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()

	e.Sim = localaws.New(localaws.Options{
		Accounts:         []string{localaws.HubAccount, localaws.SourceAccount, localaws.DestinationAccount},
		ReplicationDelay: cfg.ReplicationDelay,
		EventSink:        e.fwd.forward,
	})
	e.MemberEndpoint, e.stopSim = e.Sim.Start()

	params := e.deployParams()
	if e.Deployment, err = localdeploy.Deploy(ctx, params); err != nil {
		return nil, fmt.Errorf("deploy member and hub roles: %w", err)
	}
	issued := time.Now()
	creds, err := localdeploy.HubFunctionCredentials(ctx, params)
	if err != nil {
		return nil, err
	}
	e.CredentialsExpire = creds.Expires
	if e.CredentialsExpire.IsZero() {
		// localdeploy hands the session over as static credentials, which carry no
		// expiry; the session is AssumeRole's default hour, in the simulator as in AWS.
		e.CredentialsExpire = issued.Add(time.Hour)
	}

	if e.Hub, err = localhub.Start(ctx, cfg.Hub); err != nil {
		return nil, fmt.Errorf("start the hub stand-in: %w", err)
	}
	if !e.Hub.SelfCalls {
		return nil, errors.New("start the hub stand-in: KUMO_PORT is not set, so kumo's event deliveries would miss this hub: call localhub.EnsureKumoPort first thing in main or TestMain")
	}
	if err := e.startEventRoute(ctx); err != nil {
		return nil, err
	}

	if e.buildDir, err = os.MkdirTemp("", "s3crr-localrun-"); err != nil {
		return nil, fmt.Errorf("make build directory: %w", err)
	}
	bootstrap, err := localhub.BuildLambda(ctx, cfg.ModuleRoot, "./functions/provision", e.buildDir)
	if err != nil {
		return nil, err
	}
	if err := e.startMonitor(ctx); err != nil {
		return nil, err
	}
	if e.FunctionARN, err = e.Hub.AddFunction(ctx, localhub.Function{
		Name:      cfg.FunctionName,
		Bootstrap: bootstrap,
		Env:       e.functionEnv(creds),
		Timeout:   5 * time.Minute, // the ASL's TimeoutSeconds for every stage
	}); err != nil {
		return nil, err
	}

	if e.Definition, err = statemachine.Load(statemachine.Provision, map[string]string{
		statemachine.ProvisionFunctionArn: e.FunctionARN,
		statemachine.AlertTopicArn:        e.Hub.TopicARN,
		statemachine.PairsTableName:       e.Hub.TableName,
	}); err != nil {
		return nil, err
	}
	if e.labels, err = stageLabels(e.Definition); err != nil {
		return nil, err
	}
	return e, nil
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.ModuleRoot == "" {
		root, err := localhub.FindModuleRoot()
		if err != nil {
			return cfg, err
		}
		cfg.ModuleRoot = root
	}
	if cfg.Hub.ModuleRoot == "" {
		cfg.Hub.ModuleRoot = cfg.ModuleRoot
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Hub.Log == nil {
		cfg.Hub.Log = cfg.Log
	}
	if cfg.ExternalID == "" {
		cfg.ExternalID = names.LocalExternalID
	}
	if cfg.FunctionName == "" {
		cfg.FunctionName = names.ProvisionFunctionName
	}
	if cfg.EventBus == "" {
		cfg.EventBus = names.EventBusName
	}
	if cfg.EventsInbox == "" {
		cfg.EventsInbox = names.LocalEventsInbox
	}
	return cfg, nil
}

func (e *Env) deployParams() localdeploy.Params {
	return localdeploy.Params{
		Endpoint:   e.MemberEndpoint,
		HubAccount: localaws.HubAccount,
		Members:    []string{localaws.SourceAccount, localaws.DestinationAccount},
		ExternalID: e.cfg.ExternalID,
		HubRegion:  hubRegion(e.cfg.Hub),
	}
}

func hubRegion(c localhub.Config) string {
	if c.Region == "" {
		return "us-east-1" // localhub's default, the region kumo puts in its ARNs
	}
	return c.Region
}

// functionEnv is the provision Lambda's whole environment (localhub adds only
// what the Lambda runtime sets): HubStack's variables, the hub Lambda role's
// credentials as Lambda provides them, and the member simulator as the endpoint
// of every service the Lambda calls. Product code has no local branch: these
// standard variables are all it sees.
func (e *Env) functionEnv(creds aws.Credentials) map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":           creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       creds.SecretAccessKey,
		"AWS_SESSION_TOKEN":           creds.SessionToken,
		"AWS_REGION":                  hubRegion(e.cfg.Hub),
		"AWS_ENDPOINT_URL_STS":        e.MemberEndpoint,
		"AWS_ENDPOINT_URL_S3":         e.MemberEndpoint,
		"AWS_ENDPOINT_URL_KMS":        e.MemberEndpoint,
		"AWS_ENDPOINT_URL_IAM":        e.MemberEndpoint,
		"AWS_ENDPOINT_URL_CLOUDWATCH": e.MemberEndpoint,
		"AWS_ENDPOINT_URL_SQS":        e.MemberEndpoint,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"PROVISIONER_ROLE_NAME":       names.ProvisionerRoleName,
		"EXTERNAL_ID":                 e.cfg.ExternalID,
		"BOUNDARY_POLICY_ARN_FORMAT":  names.BoundaryPolicyARNFormat,
		"EVENTS_QUEUE_NAME":           names.EventsQueueName,
		// The local stacks scope the provisioner to every bucket (no prefix), which the
		// deployment setting says explicitly, as HubStack does from bucketNamePrefix.
		names.EnvBucketNamePrefix: names.AnyBucket,
		names.EnvKMSAliasPrefix:   names.AliasPrefix,
	}
}

// Close stops the Lambda processes and the member simulator and removes the
// built binaries. kumo's state stays for the life of the process.
func (e *Env) Close() {
	if e.Hub != nil {
		e.Hub.Close()
	}
	if e.stopSim != nil {
		e.stopSim()
	}
	if e.buildDir != "" {
		os.RemoveAll(e.buildDir)
	}
}

// ModuleRoot is the repository root the run uses.
func (e *Env) ModuleRoot() string { return e.cfg.ModuleRoot }

// RequestPath is the default request's path under the module root.
func RequestPath(moduleRoot string) string {
	return filepath.Join(moduleRoot, filepath.FromSlash(DefaultRequestPath))
}

// RootConfig is an SDK configuration for a member (or hub identity) account's
// root user on the member simulator.
func (e *Env) RootConfig(account, region string) aws.Config {
	return localdeploy.RootConfig(e.MemberEndpoint, account, region)
}
