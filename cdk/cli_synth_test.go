package cdk

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
)

// `npx cdk synth` is the only command a CDK user needs: from a checkout with no build
// output, the plain CDK CLI runs cdk.json's app, which builds the Lambdas and
// synthesizes. The checkout is a copy of the repository's files (tracked and new, as git
// lists them) in a temporary directory, without build/ or cdk.out/; node_modules is
// linked. Slow (a Go build of the app and a second synth): one test.
func TestCDKSynthFromCleanCheckout(t *testing.T) {
	root := synthesized.repoRoot
	cdkBin := filepath.Join(root, "node_modules", ".bin", "cdk")
	if _, err := os.Stat(cdkBin); err != nil {
		t.Fatalf("the CDK CLI is missing (%v): run npm ci", err)
	}
	dir := t.TempDir()
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if f == "" || strings.HasPrefix(f, "build/") || strings.HasPrefix(f, "cdk.out/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) { // deleted in the working tree
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	modules, err := filepath.EvalSymlinks(filepath.Join(root, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "build")); !os.IsNotExist(err) {
		t.Fatalf("the copy has a build directory (%v)", err)
	}

	cmd := exec.Command(filepath.Join(dir, "node_modules", ".bin", "cdk"), "synth", "--no-notices", "--quiet",
		"-c", CtxExternalID+"=clean-checkout-test", "-c", CtxBucketNamePrefix+"=acme-")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CDK_DISABLE_VERSION_CHECK=1", "AWS_EC2_METADATA_DISABLED=true",
		"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20", "JSII_DEPRECATED=quiet",
		"GOPROXY=off", "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cdk synth in a clean checkout: %v\n%s", err, stderr.String())
	}

	bin := filepath.Join(dir, "build", "provision", "bootstrap")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("the app did not build the provision Lambda: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("%s is built for %v, want arm64 (the functions run on Graviton)", bin, f.Machine)
	}
	if _, err := os.Stat(filepath.Join(dir, "cdk.out", names.HubStackName+".template.json")); err != nil {
		t.Errorf("no hub template: %v", err)
	}
	// The assets CDK staged are the binaries just built (one per hub Lambda), not some
	// other ones.
	assets, _ := filepath.Glob(filepath.Join(dir, "cdk.out", "asset.*", "bootstrap"))
	if len(assets) != len(hubFunctions) {
		t.Fatalf("%d staged bootstrap assets, want %d (one per hub Lambda)", len(assets), len(hubFunctions))
	}
	for _, fn := range hubFunctions {
		want, err := os.ReadFile(filepath.Join(dir, "build", fn.name, "bootstrap"))
		if err != nil {
			t.Errorf("the app did not build the %s Lambda: %v", fn.name, err)
			continue
		}
		if !slices.ContainsFunc(assets, func(a string) bool { got, _ := os.ReadFile(a); return bytes.Equal(got, want) }) {
			t.Errorf("no staged asset is the %s binary the app built", fn.name)
		}
	}
}

// Without Go the app says so in one line instead of a jsii stack trace.
func TestBuildLambdasWithoutGo(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := BuildLambdas(synthesized.repoRoot, t.TempDir())
	if err == nil {
		t.Fatal("BuildLambdas succeeded without go on PATH")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "Go toolchain") {
		t.Errorf("error %q, want one line naming the Go toolchain", msg)
	}
}
