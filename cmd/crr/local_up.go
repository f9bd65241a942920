package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/localrun"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/schedule"
)

// Default ports of `crr local up`: the hub where LocalStack users expect an AWS stand-in,
// the members on the next port (crr local serve's documented one).
const (
	defaultHubPort     = 4566
	defaultMembersPort = 4567
)

// upOptions are local up's flags.
type upOptions struct {
	port, membersPort int
	envFile           string
	delay, window     time.Duration
	bucketPrefix      string
	// schedule and timeZone are the nightly verification's schedule (--verify-schedule,
	// --verify-time-zone).
	schedule, timeZone string
	faults             faultFlag
	output             outputFlag
}

func upFlags(fs *flag.FlagSet) *upOptions {
	o := &upOptions{}
	fs.IntVar(&o.port, "port", defaultHubPort, "the hub's `port` on 127.0.0.1 (Step Functions, Lambda, SNS, SQS, EventBridge, DynamoDB, STS); 0 picks a free one")
	fs.IntVar(&o.membersPort, "members-port", defaultMembersPort, "the member accounts' `port` on 127.0.0.1 (S3, KMS, IAM, STS, CloudWatch); 0 picks a free one")
	fs.StringVar(&o.envFile, "env-file", "", "once ready, write shell lines to this `file` that point AWS_ENDPOINT_URL, credentials and region at the hub, and S3CRR_LOCAL_MEMBERS_URL at the members (removed on exit)")
	fs.DurationVar(&o.delay, "replication-delay", 0, "postpone each replication by this `duration` (e.g. 2s) to make PENDING observable")
	fs.DurationVar(&o.window, "propagation-window", 0, "new IAM roles stay invisible to KMS, S3 and STS for this `duration`, as IAM's eventual consistency (the state machine retries through it)")
	fs.StringVar(&o.bucketPrefix, "bucket-name-prefix", "", "restrict the provisioner roles and the provision Lambda to bucket names with this `prefix`, as the stacks' bucketNamePrefix; default every bucket")
	fs.StringVar(&o.schedule, "verify-schedule", "", "fire the nightly verification on this EventBridge Scheduler `expression`; default cdk.json's "+schedule.ContextExpression+" context when crr runs in the repository, else "+schedule.DefaultVerifyExpression)
	fs.StringVar(&o.timeZone, "verify-time-zone", "", "the schedule's IANA time `zone`; default cdk.json's "+schedule.ContextTimeZone+", else "+schedule.DefaultVerifyTimeZone)
	fs.Var(&o.faults, "fault", "inject an AWS error into the member accounts: `service:Operation:ErrorCode[:account[:times]]`, e.g. kms:CreateKey:ThrottlingException::2 (repeatable)")
	o.output = addOutputFlag(fs)
	return o
}

// localUp runs `crr local up`.
func localUp(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr local up")
	o := upFlags(fs)
	usage := "crr local up [--port 4566] [--members-port 4567] [--env-file FILE] [--replication-delay D] [--propagation-window D]\n" +
		"                   [--bucket-name-prefix P] [--fault service:Op:Code[:account[:times]]]... [--output json]\n\n" +
		"Starts the whole local stack in this process and serves it until interrupted (Ctrl-C or\n" +
		"SIGTERM): the member accounts A and B (S3, KMS, IAM, STS, CloudWatch) and the hub (Step\n" +
		"Functions running statemachine/provision.asl.json, the provision Lambda, SNS, SQS,\n" +
		"EventBridge, DynamoDB), with what MemberStack and HubStack deploy. Then crr plan, apply and\n" +
		"status work against it as against AWS:\n\n" +
		"  crr local up --env-file /tmp/s3crr.env &\n" +
		"  . /tmp/s3crr.env && crr apply -f pair.json --wait\n\n" +
		"--output json prints one JSON document once ready instead of the text."
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	asJSON, err := o.output.json()
	if err != nil {
		return err
	}
	if o.delay < 0 || o.window < 0 {
		return usagef("durations must not be negative")
	}
	if o.port < 0 || o.port > 65535 || o.membersPort < 0 || o.membersPort > 65535 {
		return usagef("ports must be 0 to 65535")
	}
	if o.port != 0 && o.port == o.membersPort {
		return usagef("--port and --members-port must differ")
	}
	if o.envFile != "" {
		if err := checkEnvFile(o.envFile); err != nil {
			return err
		}
	}
	started := time.Now()
	cfg := localrun.Config{
		MemberAddr:        "127.0.0.1:" + strconv.Itoa(o.membersPort),
		ReplicationDelay:  o.delay,
		PropagationWindow: o.window,
		BucketNamePrefix:  o.bucketPrefix,
		Faults:            o.faults.faults,
	}
	sched, err := verifySchedule(o)
	if err != nil {
		return err
	}
	st, err := startStack(ctx, env, cfg)
	if err != nil {
		return err
	}
	keepLog := false
	defer func() { st.Close(keepLog) }()
	run, err := st.Env.StartSchedule(ctx, sched, nil)
	if err != nil {
		return err
	}
	go logFirings(env.stderr, run)
	ready := time.Since(started)

	info := newUpInfo(st, o, ready)
	info.VerifySchedule, info.VerifyTimeZone = run.Schedule.String(), run.Location.String()
	if next, ok := run.Next(); ok {
		info.NextVerification = next.UTC().Format(time.RFC3339)
	}
	if o.envFile != "" {
		if err := writeEnvFile(o.envFile, info); err != nil {
			return err
		}
		defer os.Remove(o.envFile) // its endpoints die with this process
	}
	if asJSON {
		if err := writeJSON(env.stdout, info); err != nil {
			return err
		}
	} else {
		printUp(env.stdout, info)
	}
	<-ctx.Done()
	fmt.Fprintln(env.stderr, "stopping")
	return nil
}

// upInfo is what local up prints when ready (--output json: this document).
type upInfo struct {
	HubEndpoint     string            `json:"hubEndpoint"`
	MembersEndpoint string            `json:"membersEndpoint"`
	HubAccount      string            `json:"hubAccount"`
	HubRegion       string            `json:"hubRegion"`
	AccessKeyID     string            `json:"accessKeyId"`
	SecretAccessKey string            `json:"secretAccessKey"`
	Members         map[string]string `json:"members"` // account ID → role
	StateMachineARN string            `json:"stateMachineArn"`
	FunctionARN     string            `json:"functionArn"`
	PairsTable      string            `json:"pairsTable"`
	AlertTopicARN   string            `json:"alertTopicArn"`
	ExternalID      string            `json:"externalId"`
	BucketPrefix    string            `json:"bucketNamePrefix"`
	LambdaLog       string            `json:"lambdaLog"`
	EnvFile         string            `json:"envFile,omitempty"`
	ReadySeconds    float64           `json:"readySeconds"`
	ReplicationLag  string            `json:"replicationDelay"`
	Propagation     string            `json:"propagationWindow"`
	// VerifySchedule and VerifyTimeZone are the nightly schedule the stack fires, as
	// HubStack's; NextVerification its next firing (RFC 3339, UTC).
	VerifySchedule   string `json:"verifySchedule"`
	VerifyTimeZone   string `json:"verifyTimeZone"`
	NextVerification string `json:"nextVerification,omitempty"`
}

func newUpInfo(st *stack, o *upOptions, ready time.Duration) upInfo {
	return upInfo{
		HubEndpoint: st.Hub.Endpoint, MembersEndpoint: st.MemberEndpoint,
		HubAccount: st.Hub.Account, HubRegion: st.Hub.Region,
		AccessKeyID: names.LocalAccessKeyID, SecretAccessKey: names.LocalSecretAccessKey,
		Members: map[string]string{
			localaws.SourceAccount:      "member A (source)",
			localaws.DestinationAccount: "member B (destination)",
			localaws.HubAccount:         "hub identity (the provision Lambda's role lives here)",
		},
		StateMachineARN: st.StateMachineARN, FunctionARN: st.FunctionARN,
		PairsTable: st.Hub.TableName, AlertTopicARN: st.Hub.TopicARN, ExternalID: st.ExternalID,
		BucketPrefix: o.bucketPrefix, LambdaLog: st.LogPath, EnvFile: o.envFile,
		ReadySeconds:   ready.Seconds(),
		ReplicationLag: o.delay.String(), Propagation: o.window.String(),
	}
}

func printUp(w io.Writer, i upInfo) {
	fmt.Fprintf(w, "hub      %s  account %s, region %s (any credentials; %s / %s in the env file)\n", i.HubEndpoint, i.HubAccount, i.HubRegion, i.AccessKeyID, i.SecretAccessKey)
	fmt.Fprintf(w, "           Step Functions %s\n", i.StateMachineARN)
	fmt.Fprintf(w, "           Lambda %s, DynamoDB table %s, SNS %s, SQS, EventBridge, STS\n", i.FunctionARN, i.PairsTable, i.AlertTopicARN)
	fmt.Fprintf(w, "members  %s  S3 (path-style), KMS, IAM, STS, CloudWatch; any region; access key ID = account ID, any secret\n", i.MembersEndpoint)
	for _, id := range []string{localaws.SourceAccount, localaws.DestinationAccount, localaws.HubAccount} {
		fmt.Fprintf(w, "           %s  %s\n", id, i.Members[id])
	}
	scope := "every bucket"
	if i.BucketPrefix != "" {
		scope = "buckets named " + i.BucketPrefix + "*"
	}
	fmt.Fprintf(w, "settings replication delay %s, IAM propagation window %s, provisioner scope %s, ExternalId %s\n", i.ReplicationLag, i.Propagation, scope, i.ExternalID)
	fmt.Fprintf(w, "schedule %s %s fires the verification of every pair (next %s); now: crr verify --all\n", i.VerifySchedule, i.VerifyTimeZone, i.NextVerification)
	fmt.Fprintf(w, "logs     Lambda output in %s\n", i.LambdaLog)
	if i.EnvFile != "" {
		fmt.Fprintf(w, "env      . %s   then: crr apply -f pair.json --wait; AWS_ACCESS_KEY_ID=%s aws --endpoint-url $S3CRR_LOCAL_MEMBERS_URL s3 ls\n", i.EnvFile, localaws.SourceAccount)
	} else {
		fmt.Fprintf(w, "try      AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s crr apply -f pair.json --wait\n", i.HubEndpoint, i.AccessKeyID, i.SecretAccessKey, i.HubRegion)
	}
	fmt.Fprintf(w, "ready in %.1fs; serving until interrupted (Ctrl-C)\n", i.ReadySeconds)
}

// checkEnvFile fails early, before anything starts, if the env file cannot be written;
// an existing one (from an earlier run) is removed, so that the file appearing is the
// ready signal a script can wait for.
func checkEnvFile(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".s3crr-env-*")
	if err != nil {
		return fmt.Errorf("--env-file %s cannot be written (%v): pass a path in a writable directory", path, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--env-file %s: remove the earlier one: %v: pass another path", path, errors.Unwrap(err))
	}
	return nil
}

// memberServices are the services whose endpoint the env file points at the member
// simulator (AWS_ENDPOINT_URL_<SERVICE>): the ones it plays for every account.
var memberServices = []string{"STS", "S3", "KMS", "IAM", "CLOUDWATCH"}

// writeEnvFile writes the env file atomically (a reader never sees half of it).
func writeEnvFile(path string, i upInfo) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by crr local up (pid %d); valid while it runs\n", os.Getpid())
	lines := [][2]string{
		{"AWS_ENDPOINT_URL", i.HubEndpoint},
		// The hub account's ID is its root user's access key in the member simulator, and
		// kumo accepts any key: so one set of credentials is the hub's identity on both.
		{"AWS_ACCESS_KEY_ID", i.HubAccount},
		{"AWS_SECRET_ACCESS_KEY", i.SecretAccessKey},
		{"AWS_REGION", i.HubRegion},
		{"S3CRR_LOCAL_MEMBERS_URL", i.MembersEndpoint},
		// crr doctor reads it (--external-id's default), so it works with the file sourced.
		{externalIDEnv, i.ExternalID},
	}
	// The services the member simulator plays are one service across accounts in AWS
	// (STS assumes a member's role from the hub; S3, KMS, IAM and CloudWatch then answer
	// for that member), so they go there: crr doctor reads the members with the hub's
	// credentials exactly as it does against AWS. Everything else stays on kumo.
	for _, svc := range memberServices {
		lines = append(lines, [2]string{"AWS_ENDPOINT_URL_" + svc, i.MembersEndpoint})
	}
	for _, kv := range lines {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], kv[1])
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write --env-file %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write --env-file %s: %w", path, err)
	}
	return nil
}

// faultFlag collects --fault values.
type faultFlag struct{ faults []localaws.Fault }

func (f *faultFlag) String() string { return "" }

// Set parses service:Operation:ErrorCode[:account[:times]]. The HTTP status follows the
// code: S3's SlowDown and ServiceUnavailable are 503, InternalError 500, the rest 400.
func (f *faultFlag) Set(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) < 3 || len(parts) > 5 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return fmt.Errorf("want service:Operation:ErrorCode[:account[:times]], e.g. kms:CreateKey:ThrottlingException, got %q", v)
	}
	ft := localaws.Fault{Service: strings.ToLower(parts[0]), Operation: parts[1], Code: parts[2], Status: 400, Message: "injected by crr local up --fault"}
	switch ft.Code {
	case "SlowDown", "ServiceUnavailable":
		ft.Status = 503
	case "InternalError", "InternalFailure":
		ft.Status = 500
	}
	if len(parts) > 3 && parts[3] != "" {
		ft.Account = parts[3]
	}
	if len(parts) > 4 {
		n, err := strconv.Atoi(parts[4])
		if err != nil || n < 0 {
			return fmt.Errorf("times %q is not a count", parts[4])
		}
		ft.Times = n
	}
	f.faults = append(f.faults, ft)
	return nil
}

// upPorts returns the ports local up's command line asks for, before flags are parsed
// properly: main needs the hub's port to re-execute with KUMO_PORT set. A malformed
// value is left to the flag parser to report.
func upPorts(args []string) (hub, members int) {
	hub, members = defaultHubPort, defaultMembersPort
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		if a == args[i] {
			continue // not a flag
		}
		name, val, hasVal := strings.Cut(a, "=")
		if name != "port" && name != "members-port" {
			continue
		}
		if !hasVal && i+1 < len(args) {
			val = args[i+1]
		}
		n, err := strconv.Atoi(val)
		if err != nil {
			continue
		}
		if name == "port" {
			hub = n
		} else {
			members = n
		}
	}
	return hub, members
}

// ensureUpPorts is main's first step for local up: it refuses ports in use with the fix,
// then re-executes crr with KUMO_PORT set to the hub's port (localhub.EnsureKumoPortAt).
func ensureUpPorts(args []string) error {
	hub, members := upPorts(args)
	if os.Getenv("KUMO_PORT") == "" && members != 0 {
		if err := localhub.CheckPortFree(members); err != nil {
			return explainStart(fmt.Errorf("members port: %w", err), "")
		}
	}
	if err := localhub.EnsureKumoPortAt(hub); err != nil {
		if errors.Is(err, localhub.ErrPortInUse) {
			return explainStart(fmt.Errorf("hub port: %w", err), "")
		}
		return err
	}
	return nil
}
