package localaws

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Replication event notifications ([UG] replication-metrics-events, notification-content-
// structure). S3 sends them only to the SQS, SNS and Lambda targets of the source bucket's
// notification configuration, and only for rules with Metrics enabled. The simulator emits:
//
//   - Replication:OperationFailedReplication, when a task fails, with the failure code;
//   - Replication:OperationMissedThreshold and then Replication:OperationReplicatedAfterThreshold
//     (or OperationMissedThreshold alone when the late replication failed), for rules with
//     Replication Time Control, when the time between the write and the end of replication
//     on the server's clock (Options.Now) exceeds the rule's Metrics EventThreshold (15
//     minutes). With the real clock that takes a ReplicationDelay above 15 minutes; tests
//     move Options.Now instead. S3 sends the missed-threshold event when the threshold
//     passes; the simulator notices only when the task runs, so it sends both together.
//     The "threshold" and "replicationTime" fields S3 adds to these events are left out:
//     their format is not documented;
//   - never Replication:OperationNotTracked: the simulator always tracks metrics.

// Event names, without the "s3:" prefix, as they appear in eventName. A notification
// configuration names them with the prefix ("s3:Replication:*").
const (
	EventReplicationFailed          = "Replication:OperationFailedReplication"
	EventReplicationMissedThreshold = "Replication:OperationMissedThreshold"
	EventReplicationAfterThreshold  = "Replication:OperationReplicatedAfterThreshold"
)

// rtcThreshold is S3 Replication Time Control's threshold ("within 15 minutes").
const rtcThreshold = 15 * time.Minute

// replicationEvents builds the notifications one finished task causes: failure is its
// failure code, "" on success. It records them in s.events; the caller delivers them to the
// sink after releasing s.mu. The caller holds s.mu.
func (s *Server) replicationEvents(src *bucket, rule *replicationRule, t replicationTask, failure string) []Event {
	if !rule.metrics || src.notification == nil {
		return nil
	}
	var names []string
	if rule.rtc {
		threshold := rtcThreshold
		if rule.metricsMinutes > 0 {
			threshold = time.Duration(rule.metricsMinutes) * time.Minute
		}
		if s.now().Sub(t.requestTime) > threshold {
			names = append(names, EventReplicationMissedThreshold)
			if failure == "" {
				names = append(names, EventReplicationAfterThreshold)
			}
		}
	}
	if failure != "" {
		names = append(names, EventReplicationFailed)
	}
	var out []Event
	for _, name := range names {
		for _, target := range src.notification.replTargets() {
			if !target.replWants(name, t.key) {
				continue
			}
			body, err := s.replEventBody(src, rule, t, name, target.id, failure)
			if err != nil {
				continue // cannot happen: the body is built from plain strings and numbers
			}
			out = append(out, Event{
				TargetARN: target.arn, Bucket: src.name, Account: src.account, Region: src.region,
				EventName: name, Body: body,
			})
		}
	}
	s.events = append(s.events, out...)
	return out
}

// replTargets lists every queue, topic and function target of the configuration.
func (n *notificationConfig) replTargets() []notificationTarget {
	out := make([]notificationTarget, 0, len(n.queues)+len(n.topics)+len(n.lambdas))
	out = append(out, n.queues...)
	out = append(out, n.topics...)
	return append(out, n.lambdas...)
}

// replWants reports whether the target subscribes to the event (name without "s3:") for
// an object key: one of its event types equals it or is a trailing wildcard covering it
// ("s3:Replication:*"), and the key passes its prefix and suffix filters.
func (t notificationTarget) replWants(name, key string) bool {
	if !strings.HasPrefix(key, t.prefix) || !strings.HasSuffix(key, t.suffix) {
		return false
	}
	for _, e := range t.events {
		e = strings.TrimPrefix(e, "s3:")
		if e == name {
			return true
		}
		if stem, ok := strings.CutSuffix(e, "*"); ok && strings.HasPrefix(name, stem) {
			return true
		}
	}
	return false
}

// The event message, field for field as [UG] replication-metrics-events shows it and
// aws-lambda-go's events.S3EventRecord decodes it.
type replEventMessage struct {
	Records []replEventRecord `json:"Records"`
}

type replEventRecord struct {
	EventVersion         string            `json:"eventVersion"`
	EventSource          string            `json:"eventSource"`
	AWSRegion            string            `json:"awsRegion"`
	EventTime            string            `json:"eventTime"`
	EventName            string            `json:"eventName"`
	UserIdentity         replPrincipalID   `json:"userIdentity"`
	RequestParameters    replSourceIP      `json:"requestParameters"`
	ResponseElements     map[string]string `json:"responseElements"`
	S3                   replEventS3       `json:"s3"`
	ReplicationEventData replEventData     `json:"replicationEventData"`
}

type replPrincipalID struct {
	PrincipalID string `json:"principalId"`
}

type replSourceIP struct {
	SourceIPAddress string `json:"sourceIPAddress"`
}

type replEventS3 struct {
	SchemaVersion   string          `json:"s3SchemaVersion"`
	ConfigurationID string          `json:"configurationId"`
	Bucket          replEventBucket `json:"bucket"`
	Object          replEventObject `json:"object"`
}

type replEventBucket struct {
	Name          string          `json:"name"`
	OwnerIdentity replPrincipalID `json:"ownerIdentity"`
	ARN           string          `json:"arn"`
}

type replEventObject struct {
	Key       string `json:"key"`
	Size      *int64 `json:"size,omitempty"`
	ETag      string `json:"eTag,omitempty"`
	VersionID string `json:"versionId"`
	Sequencer string `json:"sequencer"`
}

type replEventData struct {
	ReplicationRuleID string `json:"replicationRuleId"`
	DestinationBucket string `json:"destinationBucket"`
	S3Operation       string `json:"s3Operation"`
	RequestTime       string `json:"requestTime"`
	FailureReason     string `json:"failureReason,omitempty"`
}

// replEventBody renders one event message. The caller holds s.mu.
func (s *Server) replEventBody(src *bucket, rule *replicationRule, t replicationTask, name, configID, failure string) ([]byte, error) {
	s.repl.seq++
	now := s.now()
	obj := replEventObject{
		Key:       replEventKey(t.key),
		VersionID: t.versionID,
		// Sequencers order events of one key: time first, then a counter for events of the
		// same millisecond.
		Sequencer: fmt.Sprintf("%012X%06X", uint64(now.UnixMilli())&0xFFFFFFFFFFFF, s.repl.seq&0xFFFFFF),
	}
	// AWS documents only OBJECT_PUT; delete markers get the name of what S3 does to
	// replicate them, a put of a delete marker.
	op := "OBJECT_PUT"
	if t.v.isDeleteMarker {
		op = "DELETE_MARKER_PUT"
	} else {
		size := t.v.size
		obj.Size = &size
		obj.ETag = strings.Trim(t.v.etag, `"`)
	}
	rec := replEventRecord{
		EventVersion:      "2.2",
		EventSource:       "aws:s3",
		AWSRegion:         src.region,
		EventTime:         replEventTime(now),
		EventName:         name,
		UserIdentity:      replPrincipalID{PrincipalID: "s3.amazonaws.com"},
		RequestParameters: replSourceIP{SourceIPAddress: "s3.amazonaws.com"},
		ResponseElements: map[string]string{
			"x-amz-request-id": newRequestID(),
			"x-amz-id-2":       replHostID(),
		},
		S3: replEventS3{
			SchemaVersion:   "1.0",
			ConfigurationID: configID,
			Bucket: replEventBucket{
				Name:          src.name,
				OwnerIdentity: replPrincipalID{PrincipalID: src.account},
				ARN:           "arn:aws:s3:::" + src.name,
			},
			Object: obj,
		},
		ReplicationEventData: replEventData{
			ReplicationRuleID: rule.id,
			DestinationBucket: rule.destBucketARN,
			S3Operation:       op,
			RequestTime:       replEventTime(t.requestTime),
			FailureReason:     failure,
		},
	}
	if name != EventReplicationFailed {
		rec.ReplicationEventData.FailureReason = ""
	}
	return json.Marshal(replEventMessage{Records: []replEventRecord{rec}})
}

// replEventTime formats a time as S3 events do: UTC with milliseconds.
func replEventTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// replEventKey URL-encodes an object key as S3 event messages carry it (form encoding,
// spaces as "+"), leaving the "/" separators readable as S3 does.
func replEventKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}

// replHostID is a random x-amz-id-2 value.
func replHostID() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
