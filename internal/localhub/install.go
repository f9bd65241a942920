package localhub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sfnrunner "github.com/s3crr/s3crr/localhub/sfn-runner"
)

// InstallNode is what to install when Node or npm is missing or too old.
const InstallNode = "install Node.js 20 or later with npm (Debian/Ubuntu: apt-get install nodejs npm; otherwise https://nodejs.org)"

// installedMarker is written last: a directory without it is an interrupted install.
const installedMarker = ".s3crr-installed"

// InstallRunner returns a directory laid out like the repository for the ASL runner
// (localhub/sfn-runner/*.mjs, node_modules with Node 22 and the runner's packages), for
// a crr that runs outside a checkout. The runner is embedded in the binary; its npm
// packages, pinned by the embedded lock file, are installed on first use with `npm ci`
// into the per-user cache (os.UserCacheDir()/s3crr/sfn-runner-<content hash>), reporting
// progress to progress. Later calls, and other crr binaries with the same runner, reuse it.
func InstallRunner(ctx context.Context, progress io.Writer) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user cache directory for the Step Functions runner: %w (set XDG_CACHE_HOME or HOME)", err)
	}
	sum, err := runnerHash()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "s3crr", "sfn-runner-"+sum)
	if _, err := os.Stat(filepath.Join(dir, installedMarker)); err == nil && CheckRunner(dir) == nil {
		return dir, nil
	}
	if err := checkNode(ctx); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("make the runner cache directory: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".sfn-runner-install-")
	if err != nil {
		return "", fmt.Errorf("make the runner cache directory: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing after a successful rename
	if err := writeRunnerFiles(tmp); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "crr: first use: installing the local Step Functions runner's npm packages (Node 22, aws-local-stepfunctions, AWS SDK clients) into %s ...\n", dir)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("install the Step Functions runner's npm packages (npm ci in %s): %v: %s", dir, err, lastLines(out, 5))
	}
	if err := CheckRunner(tmp); err != nil {
		return "", fmt.Errorf("install the Step Functions runner: npm ci finished but %v", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, installedMarker), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("install the Step Functions runner: %w", err)
	}
	os.RemoveAll(dir) // an interrupted earlier install
	if err := os.Rename(tmp, dir); err != nil {
		// Another crr finished the same install first: use it.
		if _, serr := os.Stat(filepath.Join(dir, installedMarker)); serr == nil {
			return dir, nil
		}
		return "", fmt.Errorf("install the Step Functions runner into %s: %w", dir, err)
	}
	fmt.Fprintf(progress, "crr: installed in %.0fs\n", time.Since(start).Seconds())
	return dir, nil
}

// runnerHash names the install by the embedded files' content, so a crr with another
// runner or lock installs next to, not over, an older one.
func runnerHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(sfnrunner.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := sfnrunner.Files.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read the embedded runner: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// writeRunnerFiles lays the embedded files out as in the repository: the manifest and
// lock at the root, the scripts under localhub/sfn-runner.
func writeRunnerFiles(dir string) error {
	entries, err := fs.ReadDir(sfnrunner.Files, ".")
	if err != nil {
		return fmt.Errorf("read the embedded runner: %w", err)
	}
	scripts := filepath.Join(dir, filepath.FromSlash(filepath.Dir(runnerScript)))
	if err := os.MkdirAll(scripts, 0o755); err != nil {
		return fmt.Errorf("write the runner: %w", err)
	}
	for _, e := range entries {
		b, err := sfnrunner.Files.ReadFile(e.Name())
		if err != nil {
			return fmt.Errorf("read the embedded runner: %w", err)
		}
		target := filepath.Join(dir, e.Name())
		if strings.HasSuffix(e.Name(), ".mjs") {
			target = filepath.Join(scripts, e.Name())
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return fmt.Errorf("write the runner: %w", err)
		}
	}
	return nil
}

// checkNode makes sure npm and a Node of at least version 20 are on PATH, naming what to
// install otherwise. (The runner itself runs on the Node 22 that npm installs.)
func checkNode(ctx context.Context) error {
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("npm is not on PATH, and the local Step Functions runner needs it once to install its packages: %s", InstallNode)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("node is not on PATH: %s", InstallNode)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return fmt.Errorf("run node --version: %w: %s", err, InstallNode)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		return fmt.Errorf("node --version says %q, not a version: %s", out, InstallNode)
	}
	if major < 20 {
		return errors.New("node is version " + v + ", older than 20: " + InstallNode)
	}
	return nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
