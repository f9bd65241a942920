package cdk

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildLambdas compiles every hub Lambda (functions/<name>, one per hubFunctions entry)
// into <buildDir>/<name>/bootstrap for provided.al2023 on arm64. The CDK app runs it
// before every synth, so `npx cdk synth` or `npx cdk deploy` on a fresh checkout needs
// no other step, and a binary older than its source cannot be deployed: go build is
// incremental, so an unchanged Lambda costs a cache look-up. root is the repository
// root (the CDK CLI runs the app there); a relative buildDir is relative to root.
func BuildLambdas(root, buildDir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the Go toolchain is not on PATH: install Go (https://go.dev/dl/) to build the Lambdas")
	}
	if !filepath.IsAbs(buildDir) {
		buildDir = filepath.Join(root, buildDir)
	}
	for _, spec := range hubFunctions {
		out := filepath.Join(buildDir, spec.name, "bootstrap")
		cmd := exec.Command(goBin, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w",
			"-o", out, "./functions/"+spec.name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build the %s Lambda (go build ./functions/%s): %v\n%s", spec.name, spec.name, err, strings.TrimSpace(string(msg)))
		}
	}
	return nil
}
