package localhub

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	sfnrunner "github.com/s3crr/s3crr/localhub/sfn-runner"
)

var update = flag.Bool("update", false, "rewrite localhub/sfn-runner/package.json and package-lock.json from the root lock")

// TestLockIsTheRootLockSubset holds the embedded runner lock to the repository's: the
// packages the runner needs, resolved as Node resolves them, at the root lock's versions.
// A dependency bump in package-lock.json fails here until the subset is regenerated.
func TestLockIsTheRootLockSubset(t *testing.T) {
	root, err := FindModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	rootLock, err := os.ReadFile(filepath.Join(root, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	rootManifest, err := os.ReadFile(filepath.Join(root, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	manifest, lock, err := lockSubset(rootManifest, rootLock, sfnrunner.Dependencies)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "localhub", "sfn-runner")
	if *update {
		if err := os.WriteFile(filepath.Join(dir, "package.json"), manifest, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), lock, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string][]byte{"package.json": manifest, "package-lock.json": lock} {
		got, err := sfnrunner.Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("localhub/sfn-runner/%s is not the subset of the root lock the runner needs: run go test ./internal/localhub -run TestLockIsTheRootLockSubset -update", name)
		}
	}
	var l struct {
		Packages map[string]json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		t.Fatal(err)
	}
	for _, dep := range sfnrunner.Dependencies {
		if l.Packages["node_modules/"+dep] == nil {
			t.Errorf("the runner lock lacks %s", dep)
		}
	}
	if _, ok := l.Packages["node_modules/aws-cdk"]; ok {
		t.Error("the runner lock holds aws-cdk, which the runner does not need")
	}
}

// lockSubset returns a package.json depending on deps at the root lock's versions and a
// package-lock.json with exactly the packages they need, as Node resolves a require:
// the nearest node_modules/<name> from the requiring package up.
func lockSubset(rootManifest, rootLock []byte, deps []string) (manifest, lock []byte, err error) {
	var rm struct {
		AllowScripts map[string]any `json:"allowScripts"`
	}
	if err := json.Unmarshal(rootManifest, &rm); err != nil {
		return nil, nil, err
	}
	var l struct {
		LockfileVersion int                       `json:"lockfileVersion"`
		Packages        map[string]map[string]any `json:"packages"`
	}
	if err := json.Unmarshal(rootLock, &l); err != nil {
		return nil, nil, err
	}
	resolve := func(from, name string) string {
		dir := from
		for {
			cand := "node_modules/" + name
			if dir != "" {
				cand = dir + "/" + cand
			}
			if _, ok := l.Packages[cand]; ok {
				return cand
			}
			if dir == "" {
				return ""
			}
			if i := strings.LastIndex(dir, "/node_modules/"); i >= 0 {
				dir = dir[:i]
			} else {
				dir = ""
			}
		}
	}
	seen := map[string]bool{}
	var walk func(path string)
	walk = func(path string) {
		if path == "" || seen[path] {
			return
		}
		seen[path] = true
		for _, field := range []string{"dependencies", "optionalDependencies", "peerDependencies"} {
			m, _ := l.Packages[path][field].(map[string]any)
			for dep := range m {
				walk(resolve(path, dep))
			}
		}
	}
	rootDev, _ := l.Packages[""]["devDependencies"].(map[string]any)
	top := map[string]any{}
	for _, d := range deps {
		top[d] = rootDev[d]
		walk(resolve("", d))
	}
	m := map[string]any{"name": "s3crr-sfn-runner", "private": true, "dependencies": top}
	if rm.AllowScripts != nil {
		m["allowScripts"] = rm.AllowScripts // the node package's install script fetches Node 22
	}
	pkgs := map[string]any{"": map[string]any{"name": "s3crr-sfn-runner", "dependencies": top}}
	paths := make([]string, 0, len(seen))
	for p := range seen {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e := map[string]any{}
		for k, v := range l.Packages[p] {
			if k != "dev" && k != "devOptional" {
				e[k] = v
			}
		}
		pkgs[p] = e
	}
	out := map[string]any{"name": "s3crr-sfn-runner", "lockfileVersion": l.LockfileVersion, "requires": true, "packages": pkgs}
	if manifest, err = json.MarshalIndent(m, "", "  "); err != nil {
		return nil, nil, err
	}
	if lock, err = json.MarshalIndent(out, "", "  "); err != nil {
		return nil, nil, err
	}
	return append(manifest, '\n'), append(lock, '\n'), nil
}
