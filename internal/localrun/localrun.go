// Package localrun runs s3crr end to end on one machine, with nothing but Go and
// Node: internal/localaws plays the member accounts A and B (and the hub account's
// identity), internal/localhub plays the hub account (kumo for Lambda, SNS, SQS,
// EventBridge and DynamoDB, and the ASL runner for Step Functions), and the real
// provision Lambda binary runs statemachine/provision.asl.json against both
// through the SDK's standard AWS_ENDPOINT_URL_<SERVICE> variables.
//
// Start is the one set-up of the whole local stack: `crr local up` serves it
// until interrupted, `crr local demo` and the end-to-end test drive it through
// its Step Functions API like any client, so what the demo shows is what the
// test asserts and what a user gets from `local up`.
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
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/localhub/sfnapi"
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
	// pauses of every execution (see localhub.RunInput); by default only the redrive poll
	// (WaitForJob) and the canary checks (WaitForReplica) are 200 ms, as the simulator
	// finishes both at once.
	WaitOverrides, RetryOverrides map[string]time.Duration
	// Log receives diagnostics: the Lambda processes' output (unless Hub.Log is
	// set) and events that could not be forwarded to the hub. Default: discarded.
	Log io.Writer
	// MemberAddr is where the member simulator listens; default 127.0.0.1:0, a
	// free port (Env.MemberEndpoint says which).
	MemberAddr string
	// PropagationWindow keeps new IAM roles invisible to KMS, S3 and STS for this
	// long, as IAM's eventual consistency does (localaws.Options).
	PropagationWindow time.Duration
	// BucketNamePrefix limits the provisioner roles and the provision Lambda to
	// bucket names starting with it, as the stacks' bucketNamePrefix does; default
	// every bucket (locally nothing else lives in the accounts).
	BucketNamePrefix string
	// RateLimit, when set, throttles the member simulator's requests per account, Region
	// and service once the deployment is in place (localaws.RateLimit), as AWS's request
	// quotas do when many pairs are provisioned at once.
	RateLimit *localaws.RateLimit
	// ProvisionConcurrency is how many execution environments serve the provision
	// Lambda, as its reserved concurrency would; default localhub's.
	ProvisionConcurrency int
	// Faults are injected into the member simulator before anything is deployed
	// (localaws.Fault: an AWS error or latency for an account, service, operation).
	Faults []localaws.Fault
	// LambdaBootstrap and LambdaArgs, when set, are a binary that serves every hub
	// Lambda handler, run as `LambdaBootstrap LambdaArgs... <functions dir name>`
	// (crr's hidden `__lambda provision`, `__lambda monitor`), so no source tree is
	// needed. Default: functions/<name> built from ModuleRoot.
	LambdaBootstrap string
	LambdaArgs      []string
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
	// StepFunctions is the hub's Step Functions API, served on Hub.Endpoint;
	// StateMachineARN the provision state machine registered in it.
	StepFunctions   *sfnapi.Server
	StateMachineARN string
	// DestroyStateMachineARN is the destroy state machine registered next to it.
	DestroyStateMachineARN string
	// RedriveStateMachineARN is the redrive state machine registered next to it.
	RedriveStateMachineARN string
	// VerifyFunctionARN and VerifyDefinition are the verify Lambda and state machine;
	// VerifyStateMachineARN is where the hub's Step Functions API serves it.
	VerifyFunctionARN     string
	VerifyDefinition      []byte
	VerifyStateMachineARN string

	cfg      Config
	buildDir string
	stopSim  func()
	fwd      *forwarder
	labels   map[string]string
	// destroyLabels are the destroy state machine's stage labels, as labels are provision's.
	destroyLabels map[string]string
	// redriveLabels are the redrive state machine's.
	redriveLabels map[string]string
	sfn           *sfn.Client

	watchMu  sync.Mutex
	watchers map[string]func(localhub.Event) // by execution ARN
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
	e := &Env{cfg: cfg, ExternalID: cfg.ExternalID, fwd: &forwarder{log: cfg.Log}, watchers: map[string]func(localhub.Event){}}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()

	e.Sim = localaws.New(localaws.Options{
		Accounts:          []string{localaws.HubAccount, localaws.SourceAccount, localaws.DestinationAccount},
		ReplicationDelay:  cfg.ReplicationDelay,
		PropagationWindow: cfg.PropagationWindow,
		EventSink:         e.fwd.forward,
	})
	for _, f := range cfg.Faults {
		e.Sim.InjectFault(f)
	}
	if e.MemberEndpoint, e.stopSim, err = serve(e.Sim, cfg.MemberAddr); err != nil {
		e.Sim.Close()
		return nil, err
	}

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

	bootstrap, args, err := e.lambdaCommand(ctx, "provision")
	if err != nil {
		return nil, err
	}
	if err := e.startMonitor(ctx); err != nil {
		return nil, err
	}
	if e.FunctionARN, err = e.Hub.AddFunction(ctx, localhub.Function{
		Name:        cfg.FunctionName,
		Bootstrap:   bootstrap,
		Args:        args,
		Env:         e.functionEnv(creds),
		Timeout:     5 * time.Minute, // the ASL's TimeoutSeconds for every stage
		Concurrency: cfg.ProvisionConcurrency,
	}); err != nil {
		return nil, err
	}

	// The provision state machine ends with the new pair's verification, so the verify
	// Lambda is there before its definition is loaded.
	if err := e.addVerifyFunction(ctx); err != nil {
		return nil, err
	}
	if e.Definition, err = statemachine.Load(statemachine.Provision, map[string]string{
		statemachine.ProvisionFunctionArn: e.FunctionARN,
		statemachine.AlertTopicArn:        e.Hub.TopicARN,
		statemachine.PairsTableName:       e.Hub.TableName,
		statemachine.VerifyFunctionArn:    e.VerifyFunctionARN,
	}); err != nil {
		return nil, err
	}
	if e.labels, err = stageLabels(e.Definition); err != nil {
		return nil, err
	}
	if err := e.serveStepFunctions(); err != nil {
		return nil, err
	}
	if err := e.EnableVerify(ctx); err != nil {
		return nil, err
	}
	e.Sim.SetRateLimit(cfg.RateLimit)
	return e, nil
}

// serve starts the member simulator's HTTP server on addr.
func serve(sim *localaws.Server, addr string) (endpoint string, stop func(), err error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return "", nil, fmt.Errorf("start the member simulator on %s: %w", addr, localhub.ErrPortInUse)
		}
		return "", nil, fmt.Errorf("start the member simulator on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() {
		_ = srv.Close()
		sim.Close()
	}, nil
}

// serveStepFunctions registers the provision and destroy state machines, as HubStack does,
// in a Step Functions API on the hub's endpoint, which runs executions on the
// hub's ASL runner.
func (e *Env) serveStepFunctions() error {
	e.StepFunctions = sfnapi.New(sfnapi.Config{
		Runner:         e.Hub,
		Region:         e.Hub.Region,
		Account:        e.Hub.Account,
		WaitOverrides:  e.cfg.WaitOverrides,
		RetryOverrides: e.cfg.RetryOverrides,
		Observe:        e.observe,
	})
	roleARN := "arn:aws:iam::" + e.Hub.Account + ":role/" + names.ProvisionStateMachineName
	arn, err := e.StepFunctions.Register(names.ProvisionStateMachineName, string(e.Definition), roleARN)
	if err != nil {
		return fmt.Errorf("register state machine %s: %w", names.ProvisionStateMachineName, err)
	}
	e.StateMachineARN = arn
	// The destroy state machine, as HubStack deploys it next to provision, so
	// `crr destroy` works against `crr local up` as against AWS.
	destroyDef, err := statemachine.Load(statemachine.Destroy, map[string]string{
		statemachine.ProvisionFunctionArn: e.FunctionARN,
		statemachine.AlertTopicArn:        e.Hub.TopicARN,
		statemachine.PairsTableName:       e.Hub.TableName,
	})
	if err != nil {
		return err
	}
	if e.destroyLabels, err = stageLabels(destroyDef); err != nil {
		return err
	}
	if e.DestroyStateMachineARN, err = e.StepFunctions.Register(names.DestroyStateMachineName, string(destroyDef), "arn:aws:iam::"+e.Hub.Account+":role/"+names.DestroyStateMachineName); err != nil {
		return fmt.Errorf("register state machine %s: %w", names.DestroyStateMachineName, err)
	}
	if err := e.registerRedrive(); err != nil {
		return err
	}
	e.Hub.ServeStepFunctions(e.StepFunctions)
	e.sfn = sfn.NewFromConfig(e.Hub.AWSConfig())
	return nil
}

func (e *Env) observe(arn string, ev localhub.Event) {
	e.watchMu.Lock()
	w := e.watchers[arn]
	e.watchMu.Unlock()
	if w != nil {
		w(ev)
	}
}

// watch has fn see the runner events of execution arn until the returned
// function is called.
func (e *Env) watch(arn string, fn func(localhub.Event)) (unwatch func()) {
	e.watchMu.Lock()
	defer e.watchMu.Unlock()
	e.watchers[arn] = fn
	return func() {
		e.watchMu.Lock()
		defer e.watchMu.Unlock()
		delete(e.watchers, arn)
	}
}

// ExecutionARN is the ARN of the provision execution named name.
func (e *Env) ExecutionARN(name string) string { return executionARN(e.StateMachineARN, name) }

// executionARN is the ARN Step Functions gives execution name of a state machine.
func executionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// lambdaCommand is how the hub runs the Lambda of functions/<dir>: the multi-handler
// binary of Config.LambdaBootstrap with dir as its last argument, or else the package
// built from the module root.
func (e *Env) lambdaCommand(ctx context.Context, dir string) (bootstrap string, args []string, err error) {
	if e.cfg.LambdaBootstrap != "" {
		return e.cfg.LambdaBootstrap, append(append([]string(nil), e.cfg.LambdaArgs...), dir), nil
	}
	if e.buildDir == "" {
		if e.buildDir, err = os.MkdirTemp("", "s3crr-localrun-"); err != nil {
			return "", nil, fmt.Errorf("make build directory: %w", err)
		}
	}
	bootstrap, err = localhub.BuildLambda(ctx, e.cfg.ModuleRoot, "./functions/"+dir, e.buildDir)
	return bootstrap, nil, err
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
	// The simulator's Batch jobs end in milliseconds; AWS's take minutes, which the
	// redrive ASL's 30-second poll is for. It replicates a canary at once (or after
	// ReplicationDelay), and every provision run now ends with one: the deployed 15 s
	// between canary checks would only make `crr apply --wait` slow locally.
	waits := map[string]time.Duration{redriveWaitState: 200 * time.Millisecond, canaryWaitState: 200 * time.Millisecond}
	for k, v := range cfg.WaitOverrides {
		waits[k] = v
	}
	cfg.WaitOverrides = waits
	return cfg, nil
}

func (e *Env) deployParams() localdeploy.Params {
	return localdeploy.Params{
		Endpoint:   e.MemberEndpoint,
		HubAccount: localaws.HubAccount,
		Members:    []string{localaws.SourceAccount, localaws.DestinationAccount},
		ExternalID: e.cfg.ExternalID,
		HubRegion:  hubRegion(e.cfg.Hub),
		// The provisioner roles' policy takes a pattern; "" is every bucket.
		BucketPattern: bucketPattern(e.cfg.BucketNamePrefix),
	}
}

func bucketPattern(prefix string) string {
	if prefix == "" {
		return ""
	}
	return prefix + "*"
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
		"AWS_ENDPOINT_URL_S3_CONTROL": e.MemberEndpoint,
		"AWS_ENDPOINT_URL_KMS":        e.MemberEndpoint,
		"AWS_ENDPOINT_URL_IAM":        e.MemberEndpoint,
		"AWS_ENDPOINT_URL_CLOUDWATCH": e.MemberEndpoint,
		"AWS_ENDPOINT_URL_SQS":        e.MemberEndpoint,
		// The lease table and the pairs registry are the hub's (kumo's DynamoDB), which
		// checks no credentials.
		"AWS_ENDPOINT_URL_DYNAMODB":  e.Hub.Endpoint,
		names.EnvLeaseTable:          e.Hub.LeaseTableName,
		"AWS_EC2_METADATA_DISABLED":  "true",
		"PROVISIONER_ROLE_NAME":      names.ProvisionerRoleName,
		"EXTERNAL_ID":                e.cfg.ExternalID,
		"BOUNDARY_POLICY_ARN_FORMAT": names.BoundaryPolicyARNFormat,
		"EVENTS_QUEUE_NAME":          names.EventsQueueName,
		// Without a prefix the local stacks scope the provisioner to every bucket, which
		// the deployment setting says explicitly, as HubStack does from bucketNamePrefix.
		names.EnvBucketNamePrefix: bucketScope(e.cfg.BucketNamePrefix),
		names.EnvKMSAliasPrefix:   names.AliasPrefix,
		// Teardown reads the pairs registry in the hub (kumo), as HubStack's Lambda does.
		names.EnvPairsTable: e.Hub.TableName,
	}
}

func bucketScope(prefix string) string {
	if prefix == "" {
		return names.AnyBucket
	}
	return prefix
}

// Close stops the running executions, the Lambda processes and the member
// simulator and removes the built binaries. kumo's state stays for the life of
// the process.
func (e *Env) Close() {
	if e.StepFunctions != nil {
		if e.Hub != nil {
			e.Hub.ServeStepFunctions(nil)
		}
		e.StepFunctions.Close()
	}
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
