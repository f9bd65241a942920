// Package docs holds the tests that keep docs/ true to the code: every fact a comment cites
// exists, no file points outside the repository, every path the architecture names exists,
// and the dependency rules it states hold.
package docs

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/s3crr/s3crr"

// root is the repository root: this package lives in docs/.
const root = ".."

// skipDir says which directories hold no project text: dependencies, build output, VCS.
func skipDir(name string) bool {
	switch name {
	case "node_modules", ".git", "build", "cdk.out":
		return true
	}
	return false
}

// textFile says which files are the project's own text, where a reference could hide.
func textFile(name string) bool {
	if name == "package-lock.json" || name == "go.sum" {
		return false
	}
	switch filepath.Ext(name) {
	case ".go", ".md", ".json", ".mjs", ".js", ".sh", ".yaml", ".yml", ".txt":
		return true
	}
	return name == "Makefile" || name == "run"
}

// walkText calls fn with the slash path (relative to the root) and content of every
// project text file.
func walkText(t *testing.T, fn func(path, content string)) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !textFile(d.Name()) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		fn(filepath.ToSlash(rel), string(b))
		return nil
	})
	if err != nil {
		t.Fatalf("walk the repository: %v", err)
	}
}

// factIDs returns the fact IDs aws-facts.md defines: its "## F-..." headings.
func factIDs(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open("aws-facts.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := map[string]bool{}
	heading := regexp.MustCompile(`^## (F-[A-Z0-9-]+)$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := heading.FindStringSubmatch(sc.Text()); m != nil {
			if ids[m[1]] {
				t.Errorf("aws-facts.md defines %s twice", m[1])
			}
			ids[m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestFactReferencesResolve checks that every fact ID cited anywhere in the repository
// (docs/aws-facts.md#F-..., or an F-... ID in aws-facts.md's own cross-references) names a
// fact that exists, so a renamed or deleted fact cannot leave a dangling citation.
func TestFactReferencesResolve(t *testing.T) {
	ids := factIDs(t)
	if len(ids) < 20 {
		t.Fatalf("aws-facts.md defines %d facts; the heading format ## F-NAME changed?", len(ids))
	}
	cited := regexp.MustCompile(`aws-facts\.md#(F-[A-Z0-9-]+)`)
	walkText(t, func(path, content string) {
		for _, m := range cited.FindAllStringSubmatch(content, -1) {
			if !ids[m[1]] {
				t.Errorf("%s cites %s, which docs/aws-facts.md does not define", path, m[1])
			}
		}
	})
	b, err := os.ReadFile("aws-facts.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\b(F-[A-Z][A-Z0-9-]*[A-Z0-9])\b`).FindAllStringSubmatch(string(b), -1) {
		if !ids[m[1]] && m[1] != "F-NAME" {
			t.Errorf("aws-facts.md refers to %s, which it does not define", m[1])
		}
	}
}

// TestNoReferenceOutsideRepo checks that no file points at a document a clone of the
// repository does not contain: every Markdown document a file names must be one the
// repository holds (by path from the root, or by name), and nothing cites a tracker's
// issue numbers or the numbered sections of a document outside it.
func TestNoReferenceOutsideRepo(t *testing.T) {
	docs := map[string]bool{}
	walkText(t, func(path, _ string) {
		if strings.HasSuffix(path, ".md") {
			docs[path] = true
			docs[filepath.Base(path)] = true
		}
	})
	mdRef := regexp.MustCompile(`[A-Za-z0-9_./-]+\.md\b`)
	tracker := regexp.MustCompile(`[A-Z]{2,}#\d+|\b[Ii]ssues? #?\d+\b|\x{00A7}`)
	walkText(t, func(path, content string) {
		for i, line := range strings.Split(content, "\n") {
			for _, ref := range mdRef.FindAllString(line, -1) {
				ref = strings.TrimPrefix(strings.TrimPrefix(ref, "./"), "../")
				if !docs[ref] && !docs[filepath.Base(ref)] {
					t.Errorf("%s:%d names %s, which the repository does not contain; point it at docs/architecture.md or docs/aws-facts.md", path, i+1, ref)
				}
			}
			if m := tracker.FindString(line); m != "" {
				t.Errorf("%s:%d refers to %q outside the repository; point it at docs/architecture.md or docs/aws-facts.md", path, i+1, m)
			}
		}
	})
}

// TestArchitecturePathsExist checks that every repository path architecture.md names in
// backquotes exists (patterns such as stage_<name>.go or *_test.go must match a file).
func TestArchitecturePathsExist(t *testing.T) {
	b, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile("`([^`\\s]+)`")
	top := map[string]bool{}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		top[e.Name()] = true
	}
	checked := 0
	for _, m := range code.FindAllStringSubmatch(string(b), -1) {
		p := strings.TrimSuffix(m[1], "/")
		first, _, found := strings.Cut(p, "/")
		if !found || !top[first] || strings.Contains(p, "://") {
			continue // not a repository path (a name, a command, an ARN)
		}
		checked++
		if strings.ContainsAny(p, "<*") {
			glob := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(p, "*")
			matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(glob)))
			if err != nil || len(matches) == 0 {
				if !strings.Contains(p, "<") { // <name> stands for a file to be added
					t.Errorf("architecture.md names %s, which matches nothing", m[1])
				}
			}
			continue
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			t.Errorf("architecture.md names %s, which does not exist", m[1])
		}
	}
	if checked < 30 {
		t.Errorf("checked only %d paths in architecture.md; the path format changed?", checked)
	}
}

// imports maps each of the module's package directories to the module packages its
// non-test files (tests: false) or all its files (tests: true) import.
func imports(t *testing.T, tests bool) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (skipDir(d.Name()) || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || (!tests && strings.HasSuffix(p, "_test.go")) {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		dir = filepath.ToSlash(dir)
		if out[dir] == nil {
			out[dir] = map[string]bool{}
		}
		for _, is := range f.Imports {
			path, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return err
			}
			if rest, ok := strings.CutPrefix(path, module+"/"); ok {
				out[dir][rest] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("parse imports: %v", err)
	}
	return out
}

// reaches returns every module package reachable from start through graph.
func reaches(graph map[string]map[string]bool, start map[string]bool) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(d string) {
		if seen[d] {
			return
		}
		seen[d] = true
		for dep := range graph[d] {
			visit(dep)
		}
	}
	for d := range start {
		visit(d)
	}
	deps := make([]string, 0, len(seen))
	for d := range seen {
		deps = append(deps, d)
	}
	sort.Strings(deps)
	return deps
}

// under reports whether pkg is dir or below it.
func under(pkg, dir string) bool {
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

// TestDependencyRules checks the rules architecture.md states: product code never depends
// on the local stand-ins; the simulator never depends on the policies and stages it judges,
// not even in its tests; the CDK never depends on the stages.
func TestDependencyRules(t *testing.T) {
	local := []string{"internal/localaws", "internal/localhub", "internal/localdeploy", "internal/localrun"}
	product := []string{"functions", "internal/spec", "internal/policy", "internal/provision", "internal/verify", "internal/verifyjob",
		"internal/awsclient", "internal/names", "internal/monitor", "internal/lease", "statemachine", "cdk"}
	rules := []struct {
		name      string
		tests     bool
		from      []string
		forbidden []string
	}{
		{"product code never imports the local stand-ins", false, product, local},
		{"the simulator never imports what it judges", true, []string{"internal/localaws"}, []string{"internal/policy", "internal/provision"}},
		{"the CDK never runs stages", false, []string{"cdk"}, []string{"internal/provision"}},
	}
	// Dependencies are followed through non-test imports; a rule with tests also counts
	// the test files of the packages it constrains (a dependency's tests are not linked in).
	graph := imports(t, false)
	withTests := imports(t, true)
	if len(graph) < 10 {
		t.Fatalf("found only %d packages; is the test running from docs/?", len(graph))
	}
	for _, r := range rules {
		direct := graph
		if r.tests {
			direct = withTests
		}
		for dir := range direct {
			if !anyUnder(dir, r.from) {
				continue
			}
			for _, dep := range reaches(graph, direct[dir]) {
				if anyUnder(dep, r.forbidden) {
					t.Errorf("%s: %s depends on %s", r.name, dir, dep)
				}
			}
		}
	}
}

// anyUnder reports whether pkg is one of dirs or below one of them.
func anyUnder(pkg string, dirs []string) bool {
	for _, d := range dirs {
		if under(pkg, d) {
			return true
		}
	}
	return false
}
