package verify

import "testing"

// BenchmarkDoctorOnePair checks the sample pair on the simulator and reports the API
// calls one check makes (the target: under 40 reads, no writes), counted by the
// simulator: go test ./internal/verify -run '^$' -bench DoctorOnePair.
func BenchmarkDoctorOnePair(b *testing.B) {
	env := newLocalEnv(b)
	raw := sampleRequest(b)
	env.provision(b, raw)
	req := mustParse(b, raw)
	env.srv.ResetCalls()
	b.ResetTimer()
	for b.Loop() {
		env.doctor(b, req)
	}
	b.StopTimer()
	reads, writes, assumes := 0, 0, 0
	for _, c := range env.srv.Calls() {
		switch {
		case c.Service == "sts":
			assumes += c.Count
		case c.Mutating:
			writes += c.Count
		default:
			reads += c.Count
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(reads)/n, "reads/pair")
	b.ReportMetric(float64(writes)/n, "writes/pair")
	b.ReportMetric(float64(assumes)/n, "assumes/pair")
}
