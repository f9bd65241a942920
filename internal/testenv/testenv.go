// Package testenv decides what a test does when a real dependency it needs (the npm
// packages with the ASL runner and Node 22, the AWS CLI, bash) is absent. On a developer's
// machine the test is skipped with the command that installs the dependency; under CI
// (CI=true, as CI systems set it) the test fails with the same message, so a CI machine
// that lacks a dependency cannot pass without running the tests that prove the product
// works against it. `make test` (scripts/setup.sh) installs all of them when it can.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// InstallNodeModules is how to get node_modules: the ASL validator, the local Step
// Functions runner and the Node 22 it runs on, all pinned in package-lock.json.
const InstallNodeModules = "run `npm ci` in the repository root (`make test` does it)"

// InstallAWSCLI is how to get the AWS CLI on the Debian the project builds on.
const InstallAWSCLI = "install Debian's awscli (`apt-get install -y awscli` as root; `make test` does it when it can)"

// UnderCI reports whether the tests run under CI: the CI variable holds a true value
// ("true", "1", ...), which GitHub Actions, GitLab CI and most others set.
func UnderCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// Missing ends t because what is not available: a skip outside CI, a failure under CI.
// install says how to make it available.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	if UnderCI() {
		t.Fatalf("%s is missing, and under CI (CI=%s) a test may not skip for that: %s", what, os.Getenv("CI"), install)
		return // Fatalf has ended the test; the return is for a TB whose Fatalf does not.
	}
	t.Skipf("%s is missing: %s", what, install)
}

// RequireNodeModules ends t through Missing unless root (the repository root, where
// package.json is) has node_modules.
func RequireNodeModules(t testing.TB, root string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "node_modules")); err != nil {
		Missing(t, "node_modules (the ASL validator, the local Step Functions runner and Node 22)", InstallNodeModules)
	}
}

// RequireCommand returns the path of the command name, or ends t through Missing with
// install as the remedy.
func RequireCommand(t testing.TB, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "the command "+name, install)
	}
	return path
}
