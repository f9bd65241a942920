package monitor

import (
	"testing"
	"time"
)

// BenchmarkDecode is the baseline: a Pipe event (string body, the common route) decoded.
func BenchmarkDecode(b *testing.B) {
	payload := readEvent(b, "pipe-string-body.json")
	b.ReportAllocs()
	for b.Loop() {
		if d, err := Decode(payload); err != nil || len(d.Signals) != 1 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeClassify adds what the monitor does for every event: the reason's entry,
// the pair ID to look up and the window key. The target is 50,000 events/s per
// core; compare with BenchmarkDecode for the ratio. Alert text is rendered once per window
// (BenchmarkDecodeClassifyRender), not per event.
func BenchmarkDecodeClassify(b *testing.B) {
	benchPipeline(b, false)
}

// BenchmarkDecodeClassifyRender adds the alert (subject, e-mail text) and the SNS message
// (JSON form, attributes): everything but the AWS calls, as for the first event of a window.
func BenchmarkDecodeClassifyRender(b *testing.B) {
	benchPipeline(b, true)
}

func benchPipeline(b *testing.B, render bool) {
	payload := readEvent(b, "pipe-string-body.json")
	pair := Pair{ID: "payments-archive", Source: Side{Account: "111111111111", Region: "ap-south-1", Bucket: "payments-src"}, Destination: Side{Account: "222222222222", Region: "us-east-1", Bucket: "payments-dst"}}
	b.ReportAllocs()
	for b.Loop() {
		d, err := Decode(payload)
		if err != nil {
			b.Fatal(err)
		}
		sig := d.Signals[0]
		r, ok := LookupReason(sig.Reason)
		if !ok || candidatePairID(sig) != pair.ID || (deduper{}).windowKey(pair.ID, r.Code) == "" {
			b.Fatal("not classified")
		}
		if render {
			a := build(sig, pair, true, 1, time.Time{})
			if _, err := PublishInput("arn:aws:sns:eu-west-1:333333333333:s3crr-alerts", a); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkStorm sends 10,000 distinct failure events of one (pair, reason) within one
// window, then the same for three reasons, through the whole handler with the fakes, and
// reports the alerts and the DynamoDB and SNS calls per event.
func BenchmarkStorm(b *testing.B) {
	const events = 10000
	for _, tc := range []struct {
		name    string
		reasons []string
	}{
		{"one-reason", []string{"DstPutObjectNotPermitted"}},
		{"three-reasons", []string{"DstPutObjectNotPermitted", "SrcGetObjectNotPermitted", "DstKmsKeyInvalidState"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			payloads := make([][]byte, events)
			for i := range payloads {
				payloads[i] = failure(tc.reasons[i%len(tc.reasons)], i)
			}
			var ddb, snsCalls, alerts int
			for b.Loop() {
				svc, db, pub, c := newTestService(b)
				for _, p := range payloads {
					if err := svc.Handle(b.Context(), p); err != nil {
						b.Fatal(err)
					}
					c.t = c.t.Add(100 * time.Millisecond) // 10,000 events in under 17 minutes
				}
				ddb = db.count("GetItem") + db.count("TransactWriteItems") + db.count("UpdateItem")
				snsCalls, alerts = len(pub.msgs), len(pub.msgs)
			}
			if alerts != len(tc.reasons) {
				b.Fatalf("%d alerts, want %d", alerts, len(tc.reasons))
			}
			b.ReportMetric(float64(alerts), "alerts")
			b.ReportMetric(float64(ddb)/events, "dynamodb-calls/event")
			b.ReportMetric(float64(snsCalls)/events, "sns-calls/event")
		})
	}
}
