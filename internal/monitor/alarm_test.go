package monitor

import (
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
)

// TestAlarmsOtherThanTheFailedReplicationAlarm: the member alarm on the events
// dead-letter queue says events are not reaching the hub, with a fix naming the queue and
// the hops; any other s3crr alarm is alerted with its own reason. Neither is read as a
// pair's failed-operation count.
func TestAlarmsOtherThanTheFailedReplicationAlarm(t *testing.T) {
	for _, tt := range []struct {
		give     string
		kind     Kind
		wantBody []string
	}{
		{"events-dlq-alarm.json", KindEventsUndelivered, []string{"not reaching the hub", names.EventsDLQName, names.EventsPipeName, names.ForwardReplicationRuleName, "111111111111", "ap-south-1", "start-message-move-task"}},
		{"other-s3crr-alarm.json", KindOtherAlarm, []string{"s3crr-something-else", "Threshold Crossed", "111111111111"}},
	} {
		t.Run(tt.give, func(t *testing.T) {
			alerts, _, err := Preview(t.Context(), readEvent(t, tt.give), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(alerts) != 1 {
				t.Fatalf("%d alerts, want 1", len(alerts))
			}
			a := alerts[0]
			if a.Kind != tt.kind || a.Reason != string(tt.kind) || a.Severity != SeverityFailure {
				t.Errorf("kind %s reason %s severity %s, want %s, %s, failure", a.Kind, a.Reason, a.Severity, tt.kind, tt.kind)
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(a.Body, w) {
					t.Errorf("body lacks %q:\n%s", w, a.Body)
				}
			}
			if strings.Contains(a.Body, "failed replication operations") {
				t.Errorf("body reads the alarm as a failed-replication count:\n%s", a.Body)
			}
			if !strings.Contains(a.Subject, "account 111111111111 ap-south-1") || len(a.Subject) >= 100 {
				t.Errorf("subject %q: want the account and region, under 100 characters", a.Subject)
			}
		})
	}
}
