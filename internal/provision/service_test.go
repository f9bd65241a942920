package provision

import "testing"

// TestEveryStageHasARunner: the run orders (Stages, DestroyStages) and the dispatch table
// name the same stages, so a stage added to one cannot be forgotten in the other.
func TestEveryStageHasARunner(t *testing.T) {
	listed := map[string]bool{}
	for _, s := range append(Stages[:len(Stages):len(Stages)], DestroyStages...) {
		listed[s.Name] = true
		if stageRunners[s.Name] == nil {
			t.Errorf("stage %q is in Stages but has no runner", s.Name)
		}
	}
	for name := range stageRunners {
		if !listed[name] {
			t.Errorf("stage %q has a runner but is in neither Stages nor DestroyStages", name)
		}
	}
}
