package monitor

import (
	"testing"
	"time"
)

// TestPairWindowsReadsWhatTheMonitorWrote: after alerts and suppressed repeats in kumo's
// DynamoDB, PairWindows returns one window per reason of the pair (not another pair's),
// with the last alert, whether it was sent, and the occurrences counted since.
func TestPairWindowsReadsWhatTheMonitorWrote(t *testing.T) {
	h := startKumo(t)
	svc := New(Config{PairsTable: h.pairs, DedupTable: h.dedup, TopicARN: h.topicARN, Window: time.Hour}, h.db, h.sns)
	c := &clock{t: time.Date(2026, 12, 3, 4, 11, 0, 0, time.UTC)}
	svc.now = c.now
	ctx := t.Context()
	for i := range 4 {
		c.t = c.t.Add(time.Minute)
		if err := svc.Handle(ctx, failure("DstPutObjectNotPermitted", 100+i)); err != nil {
			t.Fatal(err)
		}
	}
	c.t = c.t.Add(time.Minute)
	if err := svc.Handle(ctx, failure("SrcGetObjectNotPermitted", 200)); err != nil {
		t.Fatal(err)
	}
	ws, err := PairWindows(ctx, h.db, h.dedup, "payments-archive")
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 {
		t.Fatalf("%d windows, want 2: %+v", len(ws), ws)
	}
	first := time.Date(2026, 12, 3, 4, 12, 0, 0, time.UTC)
	dst := ws[1]
	if ws[0].Reason != "SrcGetObjectNotPermitted" || dst.Reason != "DstPutObjectNotPermitted" {
		t.Fatalf("reasons %s, %s: want the latest occurrence first", ws[0].Reason, dst.Reason)
	}
	if !dst.Sent || !dst.LastAlert.Equal(first) || dst.SinceAlert != 3 || !dst.FirstSeen.Equal(first) || !dst.LastSeen.Equal(first.Add(3*time.Minute)) || !dst.WindowEnd.Equal(first.Add(time.Hour)) {
		t.Errorf("window %+v: want sent at %s, 3 since, last seen 3 minutes later", dst, first)
	}
	if other, err := PairWindows(ctx, h.db, h.dedup, "payments"); err != nil || len(other) != 0 {
		t.Errorf("pair payments (a prefix of payments-archive) got %+v, %v", other, err)
	}
}
