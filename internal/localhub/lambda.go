package localhub

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Function is a Lambda function for the hub: a provided.al2023 bootstrap
// binary built for this host (see BuildLambda) and its configuration.
type Function struct {
	// Name is the function name; its ARN is kumo's, in the hub's account and region.
	Name string
	// Bootstrap is the path of the built binary.
	Bootstrap string
	// Args are the bootstrap's arguments. A binary that serves several handlers
	// (crr's hidden `__lambda <name>` command) is told by them which one to serve,
	// so the hub needs no source tree to build a Lambda from.
	Args []string
	// Env is the function's environment variables. The process gets only these
	// and the variables the Lambda runtime sets (AWS_LAMBDA_*, AWS_REGION, ...),
	// never the caller's environment, as in Lambda.
	Env map[string]string
	// Timeout is the function timeout; kumo fails an invocation that runs
	// longer with Sandbox.Timedout. Default one minute.
	Timeout time.Duration
	// Concurrency is how many execution environments (processes) serve the
	// function at once, so that the branches of a Parallel state run side by
	// side as in AWS. Default 3.
	Concurrency int
}

// BuildLambda builds the Go Lambda in package dir pkg (a path such as
// "./functions/provision", relative to the module root) for this host, the way
// the deployed ones are built for arm64, and returns the bootstrap's path under
// outDir/<base of pkg>/bootstrap.
func BuildLambda(ctx context.Context, moduleRoot, pkg, outDir string) (string, error) {
	out, err := filepath.Abs(filepath.Join(outDir, filepath.Base(pkg), "bootstrap"))
	if err != nil {
		return "", fmt.Errorf("build lambda %s: %w", pkg, err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, pkg)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build lambda %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// function is a running function: its supervisors and their processes.
type function struct {
	name, arn string
	// invoked is the proxy's invocation count for the name when this hub added
	// the function: earlier hubs in the process may have used the same name.
	invoked  int
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	restarts int
	exit     string // how the last environment that exited ended, with its last output line
	mu       sync.Mutex
}

// AddFunction creates fn in kumo and starts its execution environments: each
// one the bootstrap process, pointed at kumo's Lambda Runtime API, restarted
// if it exits (as Lambda replaces a crashed environment). It returns once every
// environment is polling for invocations, so an Invoke right after succeeds.
// An existing function of the same name is replaced.
func (h *Hub) AddFunction(ctx context.Context, fn Function) (string, error) {
	if fn.Name == "" || fn.Bootstrap == "" {
		return "", errors.New("add function: Name and Bootstrap are required")
	}
	if fn.Timeout == 0 {
		fn.Timeout = time.Minute
	}
	if fn.Concurrency == 0 {
		fn.Concurrency = 3
	}
	code, err := zipBootstrap(fn.Bootstrap, fn.Args)
	if err != nil {
		return "", fmt.Errorf("add function %s: %w", fn.Name, err)
	}
	h.stopFunction(fn.Name)
	if _, err := h.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fn.Name)}); err != nil {
		var nf *lambdatypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			return "", fmt.Errorf("replace function %s: %w", fn.Name, err)
		}
	}
	out, err := h.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName:  aws.String(fn.Name),
		Runtime:       lambdatypes.RuntimeProvidedal2023,
		Handler:       aws.String("bootstrap"),
		Role:          aws.String("arn:aws:iam::" + h.Account + ":role/" + fn.Name),
		Architectures: []lambdatypes.Architecture{hostArchitecture()},
		Timeout:       aws.Int32(int32(fn.Timeout / time.Second)),
		MemorySize:    aws.Int32(128),
		Code:          &lambdatypes.FunctionCode{ZipFile: code},
		Environment:   &lambdatypes.Environment{Variables: fn.Env},
	})
	if err != nil {
		return "", fmt.Errorf("create function %s: %w", fn.Name, err)
	}
	arn := aws.ToString(out.FunctionArn)

	runCtx, cancel := context.WithCancel(context.Background())
	f := &function{name: fn.Name, arn: arn, cancel: cancel, invoked: h.front.invocationCount(fn.Name)}
	h.mu.Lock()
	h.functions[fn.Name] = f
	h.mu.Unlock()

	if err := h.registerRuntime(ctx, fn.Name); err != nil {
		return "", err
	}
	already := h.front.pollCount(fn.Name) // polls from an earlier hub in this process
	env := h.lambdaEnv(fn)
	for i := 0; i < fn.Concurrency; i++ {
		f.wg.Add(1)
		go h.supervise(runCtx, f, fn.Bootstrap, fn.Args, env, i)
	}
	waitCtx, stop := context.WithTimeout(ctx, 15*time.Second)
	defer stop()
	crashed := make(chan error, 1)
	go func() { crashed <- f.waitCrashes(waitCtx, 2*fn.Concurrency) }()
	polled := make(chan error, 1)
	go func() { polled <- h.front.waitPolls(waitCtx, fn.Name, already+fn.Concurrency) }()
	var werr error
	select {
	case werr = <-polled:
	case werr = <-crashed:
		if werr == nil { // the environments exit before polling: the binary is broken
			werr = fmt.Errorf("the bootstrap %s exits before polling the Runtime API (last: %s): run it with AWS_LAMBDA_RUNTIME_API unset to see why, or rebuild crr", fn.Bootstrap, f.lastExit())
		}
	}
	stop()
	if werr != nil {
		h.stopFunction(fn.Name)
		return "", fmt.Errorf("start function %s: %w", fn.Name, werr)
	}
	return arn, nil
}

// waitCrashes returns nil once the function's environments have exited n times
// in all, or ctx's error.
func (f *function) waitCrashes(ctx context.Context, n int) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		f.mu.Lock()
		got := f.restarts
		f.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (f *function) lastExit() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exit
}

// registerRuntime makes kumo route Invoke calls for fn to the Runtime API.
// kumo does that once it has seen fn there, which a poll from a process does
// only at some moment after it arrives; a response posted for a request id
// that does not exist registers fn at once, and does nothing else.
func (h *Hub) registerRuntime(ctx context.Context, fn string) error {
	u := h.Endpoint + "/_runtime/" + fn + "/2018-06-01/runtime/invocation/s3crr-register/response"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader("null"))
	if err != nil {
		return fmt.Errorf("register %s with the Runtime API: %w", fn, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("register %s with the Runtime API: %w", fn, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("register %s with the Runtime API: status %s", fn, resp.Status)
	}
	return nil
}

// Invocations is how many times fn was invoked through the hub's endpoint
// since this hub added it.
func (h *Hub) Invocations(fn string) int {
	h.mu.Lock()
	f := h.functions[fn]
	h.mu.Unlock()
	base := 0
	if f != nil {
		base = f.invoked
	}
	return h.front.invocationCount(fn) - base
}

// Restarts is how many times an execution environment of fn exited and was replaced.
func (h *Hub) Restarts(fn string) int {
	h.mu.Lock()
	f := h.functions[fn]
	h.mu.Unlock()
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restarts
}

// lambdaEnv is the environment of an execution environment: what Lambda sets,
// then the function's own variables.
func (h *Hub) lambdaEnv(fn Function) []string {
	vars := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          strings.TrimPrefix(h.Endpoint, "http://") + "/_runtime/" + fn.Name,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"AWS_REGION":                      h.Region,
		"AWS_DEFAULT_REGION":              h.Region,
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
		"LAMBDA_TASK_ROOT":                filepath.Dir(fn.Bootstrap),
	}
	for k, v := range fn.Env {
		vars[k] = v
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// supervise keeps one execution environment of f running until ctx ends.
func (h *Hub) supervise(ctx context.Context, f *function, bootstrap string, args, env []string, idx int) {
	defer f.wg.Done()
	prefix := f.name + "[" + strconv.Itoa(idx) + "] "
	for ctx.Err() == nil {
		cmd := exec.CommandContext(ctx, bootstrap, args...)
		cmd.Env = env
		cmd.Dir = filepath.Dir(bootstrap)
		logw := h.prefixWriter(prefix)
		cmd.Stdout, cmd.Stderr = logw, logw
		err := cmd.Run()
		logw.flush()
		if ctx.Err() != nil {
			return
		}
		fmt.Fprintf(h.logWriter(), "%sexited (%v); starting a new execution environment\n", prefix, err)
		f.mu.Lock()
		f.exit = fmt.Sprint(err)
		if last := logw.lastLine(); last != "" {
			f.exit += ": " + last
		}
		f.restarts++
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond): // do not spin on a binary that cannot start
		}
	}
}

func (h *Hub) stopFunction(name string) {
	h.mu.Lock()
	f := h.functions[name]
	delete(h.functions, name)
	h.mu.Unlock()
	if f != nil {
		f.cancel()
		f.wg.Wait()
	}
}

func hostArchitecture() lambdatypes.Architecture {
	if runtime.GOARCH == "arm64" {
		return lambdatypes.ArchitectureArm64
	}
	return lambdatypes.ArchitectureX8664
}

// zipBootstrap packs the binary the way a Lambda deployment package holds it.
// A bootstrap with arguments is a multi-handler binary (crr itself, tens of MB):
// kumo only stores the code, the hub runs the processes, so the package holds
// the script that would start it instead of a copy.
func zipBootstrap(path string, args []string) ([]byte, error) {
	var bin []byte
	if len(args) > 0 {
		bin = []byte("#!/bin/sh\nexec " + shellQuote(append([]string{path}, args...)) + "\n")
	} else {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read bootstrap: %w", err)
		}
		bin = b
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return nil, fmt.Errorf("zip bootstrap: %w", err)
	}
	if _, err := w.Write(bin); err != nil {
		return nil, fmt.Errorf("zip bootstrap: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip bootstrap: %w", err)
	}
	return buf.Bytes(), nil
}

func shellQuote(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// lineWriter prefixes each complete line written to it and passes it on.
type lineWriter struct {
	mu     sync.Mutex
	prefix string
	out    io.Writer
	buf    []byte
	last   string
}

func (w *lineWriter) lastLine() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

func (h *Hub) prefixWriter(prefix string) *lineWriter {
	return &lineWriter{prefix: prefix, out: h.logWriter()}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(w.out, "%s%s\n", w.prefix, w.buf[:i])
		if line := strings.TrimSpace(string(w.buf[:i])); line != "" {
			w.last = line
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		sc := bufio.NewScanner(bytes.NewReader(w.buf))
		for sc.Scan() {
			fmt.Fprintf(w.out, "%s%s\n", w.prefix, sc.Text())
			if line := strings.TrimSpace(sc.Text()); line != "" {
				w.last = line
			}
		}
		w.buf = nil
	}
}
