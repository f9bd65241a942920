package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how the helper ended the test instead of ending it.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
}

func TestUnderCI(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "1": true, "TRUE": true, "": false, "false": false, "0": false, "yes": false} {
		t.Setenv("CI", v)
		if got := UnderCI(); got != want {
			t.Errorf("CI=%q: UnderCI() = %v, want %v", v, got, want)
		}
	}
}

func TestMissingSkipsOutsideCIAndFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	Missing(r, "the thing", "install it")
	if r.fatal != "" || !strings.Contains(r.skip, "the thing") || !strings.Contains(r.skip, "install it") {
		t.Errorf("outside CI: fatal %q, skip %q; want a skip naming the thing and the remedy", r.fatal, r.skip)
	}

	t.Setenv("CI", "true")
	r = &recorder{TB: t}
	Missing(r, "the thing", "install it")
	if r.skip != "" || !strings.Contains(r.fatal, "the thing") || !strings.Contains(r.fatal, "install it") {
		t.Errorf("under CI: fatal %q, skip %q; want a failure naming the thing and the remedy", r.fatal, r.skip)
	}
}

func TestRequireNodeModules(t *testing.T) {
	t.Setenv("CI", "true")
	root := t.TempDir()
	r := &recorder{TB: t}
	RequireNodeModules(r, root)
	if !strings.Contains(r.fatal, "npm ci") {
		t.Errorf("without node_modules under CI: fatal %q, want it to name npm ci", r.fatal)
	}
	if err := os.Mkdir(filepath.Join(root, "node_modules"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = &recorder{TB: t}
	RequireNodeModules(r, root)
	if r.fatal != "" || r.skip != "" {
		t.Errorf("with node_modules: fatal %q, skip %q, want neither", r.fatal, r.skip)
	}
}

func TestRequireCommand(t *testing.T) {
	t.Setenv("CI", "true")
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	r := &recorder{TB: t}
	RequireCommand(r, "s3crr-no-such-tool", "apt-get install it")
	if !strings.Contains(r.fatal, "s3crr-no-such-tool") || !strings.Contains(r.fatal, "apt-get install it") {
		t.Errorf("missing command under CI: fatal %q", r.fatal)
	}
	tool := filepath.Join(dir, "s3crr-tool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = &recorder{TB: t}
	if got := RequireCommand(r, "s3crr-tool", "x"); got != tool || r.fatal != "" || r.skip != "" {
		t.Errorf("present command: got %q, fatal %q, skip %q", got, r.fatal, r.skip)
	}
}
