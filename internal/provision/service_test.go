package provision

import "testing"

// TestEveryStageHasARunner: the run order (Stages) and the dispatch table name the same
// stages, so a stage added to one cannot be forgotten in the other.
func TestEveryStageHasARunner(t *testing.T) {
	listed := map[string]bool{}
	for _, s := range Stages {
		listed[s.Name] = true
		if stageRunners[s.Name] == nil {
			t.Errorf("stage %q is in Stages but has no runner", s.Name)
		}
	}
	for name := range stageRunners {
		if !listed[name] {
			t.Errorf("stage %q has a runner but is not in Stages", name)
		}
	}
}
