package statemachine

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/s3crr/s3crr/internal/provision"
)

// TestLeasedStagesRetryDocumentBusy: a stage that merges into a document other pairs write
// returns DocumentBusy while another run holds the document's lease, and DocumentChanged
// when a writer without a lease keeps replacing it. The Task must retry both, with full
// jitter (pairs contending for one document must not retry in lockstep), and DocumentBusy
// for longer, on average, than a crashed holder's lease lasts, so such a holder delays the
// next run instead of failing it. The destroy stages take the same leases to take a pair's
// entries out of those documents, so the destroy machine's Tasks are held to the same.
func TestLeasedStagesRetryDocumentBusy(t *testing.T) {
	seen := map[string]bool{}
	for _, machine := range []string{Provision, Destroy} {
		m, _ := loadMachine(t, machine)
		checkLeasedRetries(t, m, seen)
	}
	for _, s := range provision.LeasedStages {
		if !seen[s] {
			t.Errorf("leased stage %s has no Task in the provision or destroy ASL", s)
		}
	}
}

func checkLeasedRetries(t *testing.T, m machine, seen map[string]bool) {
	t.Helper()
	for n, s := range lambdaTasks(t, m) {
		var p payload
		if err := json.Unmarshal(s.Parameters, &p); err != nil {
			t.Fatal(err)
		}
		var ev lambdaEvent
		if err := json.Unmarshal(p.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		find := func(name string) *retrier {
			for i, r := range s.Retry {
				if slices.Contains(r.ErrorEquals, name) {
					return &s.Retry[i]
				}
			}
			return nil
		}
		busy, changed := find("DocumentBusy"), find("DocumentChanged")
		if !slices.Contains(provision.LeasedStages, ev.Stage) {
			if busy != nil || changed != nil {
				t.Errorf("%s (%s) takes no lease, yet retries DocumentBusy/DocumentChanged", n, ev.Stage)
			}
			continue
		}
		seen[ev.Stage] = true
		switch {
		case busy == nil || changed == nil:
			t.Errorf("%s (%s) merges into a shared document but does not retry DocumentBusy and DocumentChanged", n, ev.Stage)
			continue
		case busy.JitterStrategy != "FULL" || changed.JitterStrategy != "FULL":
			t.Errorf("%s: DocumentBusy and DocumentChanged retries must use JitterStrategy FULL", n)
		}
		// Full jitter waits half the backoff on average.
		if mean := maxBackoffSeconds(*busy) / 2; mean < provision.DefaultLeaseDuration.Seconds() {
			t.Errorf("%s: DocumentBusy retries wait %.0fs on average, less than a crashed holder's lease (%s)", n, mean, provision.DefaultLeaseDuration)
		}
	}
}
