package cdk

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

// One app is synthesized per test binary (a synth costs about 1 GiB and 20 s) and every
// test reads the result. The built Lambda asset is invisible to Go's test cache, so run
// these tests with -count=1.

// testContext overrides cdk.json's defaults: a member with two regions (so the
// primary/secondary split shows), a hub account that is no member, a bucket prefix, an
// alias prefix other than the default, and an alert address.
var testContext = map[string]any{
	CtxHubAccount:       "333333333333",
	CtxHubRegion:        "eu-central-1",
	CtxMembers:          "111111111111:ap-south-1,222222222222:us-east-1,111111111111:eu-west-1",
	CtxExternalID:       "test-external-id",
	CtxAlertEmail:       "ops@example.com",
	CtxBucketNamePrefix: "acme-",
	CtxKMSAliasPrefix:   "alias/acme-",
}

// synthesized is the shared result of TestMain's synth.
var synthesized struct {
	stacks    *Stacks
	templates map[string]map[string]any // by stack name
	messages  map[string][]message      // by stack name
	repoRoot  string
	cdkJSON   map[string]any // cdk.json's context
}

// message is one synthesis annotation (info, warning, error) of a stack.
type message struct {
	level, path, text string
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdk tests:", err)
		code = 1
	}
	jsii.Close()
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	// As in scripts/synth.sh: no Node end-of-life banner, and no deprecation notice for
	// the CfnEventBusPolicy property cdk-nag reads. jsii starts Node with this environment.
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	os.Setenv("JSII_DEPRECATED", "quiet")
	root, err := repoRoot()
	if err != nil {
		return 1, err
	}
	synthesized.repoRoot = root
	// Build the assets exactly as the app does; the path is absolute because asset
	// paths are relative to the working directory, which is cdk/ under go test.
	if err := BuildLambdas(root, filepath.Join(root, DefaultBuildDir)); err != nil {
		return 1, err
	}

	ctx, err := loadCDKContext(root)
	if err != nil {
		return 1, err
	}
	synthesized.cdkJSON = ctx
	appCtx := map[string]any{}
	for k, v := range ctx {
		appCtx[k] = v
	}
	for k, v := range testContext {
		appCtx[k] = v
	}
	outdir, err := os.MkdirTemp("", "s3crr-cdk-test-")
	if err != nil {
		return 1, fmt.Errorf("make cdk.out: %w", err)
	}
	defer os.RemoveAll(outdir)

	app := awscdk.NewApp(&awscdk.AppProps{Context: &appCtx, Outdir: jsii.String(outdir)})
	stacks, err := Build(app, Options{BuildDir: filepath.Join(root, DefaultBuildDir)})
	if err != nil {
		return 1, fmt.Errorf("build the app: %w", err)
	}
	synthesized.stacks = stacks
	asm, err := synth(app, outdir)
	if err != nil {
		return 1, err
	}
	if err := collect(asm, stacks); err != nil {
		return 1, err
	}
	return m.Run(), nil
}

// synth synthesizes the app, turning the panic of a failed validation (with cdk.json's
// flags, any cdk-nag error fails the synth) into an error carrying the report.
func synth(app awscdk.App, outdir string) (asm cxapi.CloudAssembly, err error) {
	defer func() {
		if r := recover(); r != nil {
			report, _ := os.ReadFile(filepath.Join(outdir, "validation-report.json"))
			err = fmt.Errorf("synth: %v\n%s", r, report)
		}
	}()
	return app.Synth(nil), nil
}

// loadCDKContext returns cdk.json's context: the feature flags `cdk init` wrote and the
// s3crr defaults. awscdk.NewApp does not read cdk.json (the CLI does), so without this
// the tests would synthesize with different flags than `cdk synth`.
func loadCDKContext(root string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, fmt.Errorf("read cdk.json: %w", err)
	}
	var f struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse cdk.json: %w", err)
	}
	return f.Context, nil
}

func collect(asm cxapi.CloudAssembly, stacks *Stacks) error {
	synthesized.templates = map[string]map[string]any{}
	synthesized.messages = map[string][]message{}
	names := []string{*stacks.Hub.StackName()}
	for _, m := range stacks.Members {
		names = append(names, *m.StackName())
	}
	for _, n := range names {
		art := asm.GetStackArtifact(jsii.String(n))
		b, err := json.Marshal(art.Template())
		if err != nil {
			return fmt.Errorf("encode template %s: %w", n, err)
		}
		var t map[string]any
		if err := json.Unmarshal(b, &t); err != nil {
			return fmt.Errorf("decode template %s: %w", n, err)
		}
		synthesized.templates[n] = t
		synthesized.messages[n] = stackMessages(art)
	}
	return nil
}

// stackMessages returns a stack's annotations with lower-case levels ("error",
// "warning", "info"; the Go enum's values are upper-case).
func stackMessages(art cxapi.CloudFormationStackArtifact) []message {
	var out []message
	for _, msg := range *art.Messages() {
		text, ok := msg.Entry.Data.(string)
		if !ok {
			text = fmt.Sprint(msg.Entry.Data)
		}
		out = append(out, message{level: strings.ToLower(string(msg.Level)), path: *msg.Id, text: text})
	}
	return out
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
