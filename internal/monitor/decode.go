package monitor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	// segmentio's decoder is encoding/json's behaviour (names matched regardless of case,
	// last duplicate wins, invalid UTF-8 replaced, the same errors) in one pass with no
	// separate validation scan: about twice as fast on an event, which the monitor's 50,000
	// events/s per core needs. Pure Go with assembly only where a generic version exists,
	// so it builds for the arm64 Lambda. goccy/go-json was faster but matches names by case.
	"errors"
	"fmt"
	"github.com/segmentio/encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3crr/s3crr/internal/names"
)

// Kind is what a decoded signal reports.
type Kind string

// Kinds, one per S3 replication event type plus the alarm.
const (
	// KindFailed is s3:Replication:OperationFailedReplication: the object will not replicate.
	KindFailed Kind = "OperationFailedReplication"
	// KindMissedThreshold is s3:Replication:OperationMissedThreshold (RTC's 15 minutes).
	KindMissedThreshold Kind = "OperationMissedThreshold"
	// KindReplicatedAfterThreshold is s3:Replication:OperationReplicatedAfterThreshold.
	KindReplicatedAfterThreshold Kind = "OperationReplicatedAfterThreshold"
	// KindNotTracked is s3:Replication:OperationNotTracked.
	KindNotTracked Kind = "OperationNotTracked"
	// KindAlarm is a state change of a pair's OperationsFailedReplication alarm into ALARM.
	KindAlarm Kind = "OperationsFailedReplicationAlarm"
	// KindEventsUndelivered is the member alarm on the events dead-letter queue
	// (names.EventsDLQAlarmName) going into ALARM: failure events are not reaching the hub.
	KindEventsUndelivered Kind = "EventsNotReachingHub"
	// KindOtherAlarm is any other s3crr alarm going into ALARM: alerted with its reason,
	// never mistaken for a pair's failed-replication count.
	KindOtherAlarm Kind = "AlarmStateChange"
)

// Signal is one replication event, whatever envelope it came in.
type Signal struct {
	// ID identifies the occurrence, the same for every delivery of it: S3's record content
	// (bucket, key, version, sequencer, event, reason) or the alarm's name and state time.
	// De-duplication of retried deliveries keys on it.
	ID string
	// Origin says where the signal came from (the envelope IDs), for logs.
	Origin string
	Kind   Kind
	// Reason is S3's failureReason (KindFailed), empty otherwise.
	Reason string
	// SourceBucket, DestinationBucket and RuleID identify the pair (bucket names, not ARNs).
	SourceBucket      string
	DestinationBucket string
	RuleID            string
	// Region is the source bucket's Region (the event's awsRegion); Account the account the
	// event came from (the EventBridge envelope's), when known.
	Region  string
	Account string
	// Object facts (S3 events only). Key is URL-decoded.
	Key         string
	VersionID   string
	Size        int64
	Sequencer   string
	S3Operation string
	// RequestTime is when the replicated request was made; EventTime when S3 sent the event.
	RequestTime time.Time
	EventTime   time.Time
	// Threshold and ReplicationTime come with the threshold events.
	Threshold       string
	ReplicationTime string
	// Alarm facts (KindAlarm only).
	AlarmName   string
	AlarmReason string
	// FailedOperations is the alarm's last datapoint (failed operations in the period).
	FailedOperations float64
	// record is the decoded S3 record or alarm detail, rendered for reasons the table does
	// not know (RawJSON); kept decoded because most events never need it.
	record *node
}

// RawJSON is the S3 record or alarm detail the signal came from, as JSON (the fields the
// monitor decodes).
func (s Signal) RawJSON() json.RawMessage {
	if s.record == nil {
		return nil
	}
	b, err := json.Marshal(s.record)
	if err != nil {
		return nil
	}
	return b
}

// Skip is an input that is not malformed but produces no alert.
type Skip struct {
	ID  string
	Why string
}

// Malformed is an input record that could not be decoded; the rest of the batch is kept.
type Malformed struct {
	ID  string
	Err error
}

// Decoded is everything found in one invocation's payload.
type Decoded struct {
	Signals   []Signal
	Skipped   []Skip
	Malformed []Malformed
}

// ErrUnrecognised is returned (wrapped) for a payload in none of the shapes Decode knows.
var ErrUnrecognised = errors.New("expected an S3 event notification (Records[]), an SQS event or record, an EventBridge event, an s3:TestEvent, or a JSON array of those")

// maxDepth bounds envelope nesting (EventBridge → SQS record → body → Records is 3).
const maxDepth = 6

// Decode finds the replication events in payload, by shape (docs/aws-facts.md#F-REPL-FAILURE-EVENTS,
// docs/aws-facts.md#F-PIPES-SQS-SOURCE, docs/aws-facts.md#F-CW-ALARM-EVENT): an S3 notification, an SQS
// event or record whose body is one (as a JSON string or already parsed, which is how a
// Pipe's implicit body parsing may pass it on), an EventBridge event whose detail is any of
// those or a CloudWatch alarm state change, or a JSON array of any of those. Records that
// cannot be decoded are reported in Malformed; an error means the payload as a whole is not
// JSON or not in any known shape.
func Decode(payload []byte) (Decoded, error) {
	var d Decoded
	if err := d.value(payload, envelope{}, 0); err != nil {
		return d, fmt.Errorf("decode event: %w", err)
	}
	return d, nil
}

// envelope carries what outer layers know about the records inside.
type envelope struct {
	origin  string
	account string
	region  string
}

func (e envelope) with(kind, id string) envelope {
	if id == "" {
		id = "?"
	}
	if e.origin != "" {
		e.origin += " > "
	}
	e.origin += kind + ":" + id
	return e
}

// node is every shape at once: an EventBridge event, an SQS record, an S3 notification, an
// S3 record, S3's test event and an alarm state change's detail. Decoding a whole envelope
// into it is one pass of the decoder (each further Unmarshal of a nested RawMessage
// would validate and scan it again, which is what made the decoder slow); only a body
// that is a JSON string needs a second. The decoder matches names regardless of case, and
// no two shapes use the same name for different things.
type node struct {
	// EventBridge.
	DetailType *string `json:"detail-type,omitempty"`
	ID         string  `json:"id,omitempty"`
	Source     string  `json:"source,omitempty"`
	Account    string  `json:"account,omitempty"`
	Region     string  `json:"region,omitempty"`
	Time       string  `json:"time,omitempty"`
	Detail     *node   `json:"detail,omitempty"`
	// SQS record (the body is a string or, after a Pipe's implicit parsing, an object).
	MessageID string `json:"messageId,omitempty"`
	// Body is any so that a string body is decoded in the same pass as its envelope
	// (a RawMessage would be validated and scanned again to unquote it).
	Body        any    `json:"body,omitempty"`
	EventSource string `json:"eventSource,omitempty"`
	AWSRegion   string `json:"awsRegion,omitempty"`
	// S3 notification, and S3's test event.
	Records []node `json:"Records,omitempty"`
	Event   string `json:"Event,omitempty"`
	// S3 record.
	EventVersion         string            `json:"eventVersion,omitempty"`
	EventName            string            `json:"eventName,omitempty"`
	EventTime            time.Time         `json:"eventTime,omitzero"`
	ResponseElements     map[string]string `json:"responseElements,omitempty"`
	S3                   *s3Entity         `json:"s3,omitempty"`
	ReplicationEventData *replicationData  `json:"replicationEventData,omitempty"`
	// CloudWatch alarm state change detail.
	alarmDetail
}

// s3Entity is events.S3Entity with the same JSON names (so RawJSON renders the same), but
// its object has no UnmarshalJSON: aws-lambda-go's S3Object.UnmarshalJSON decodes the
// object a second time through encoding/json to URL-decode the key, which costs more than
// the rest of the record. s3Record URL-decodes the key instead, with the same function.
type s3Entity struct {
	SchemaVersion   string          `json:"s3SchemaVersion"`
	ConfigurationID string          `json:"configurationId"`
	Bucket          events.S3Bucket `json:"bucket"`
	Object          s3Object        `json:"object"`
}

// s3Object is events.S3Object's fields without its UnmarshalJSON.
type s3Object struct {
	Key           string `json:"key"`
	Size          int64  `json:"size,omitempty"`
	URLDecodedKey string `json:"urlDecodedKey"`
	VersionID     string `json:"versionId"`
	ETag          string `json:"eTag"`
	Sequencer     string `json:"sequencer"`
}

// replicationData is events.S3ReplicationEventData plus the threshold events' fields.
type replicationData struct {
	events.S3ReplicationEventData
	Threshold       json.RawMessage `json:"threshold,omitempty"`
	ReplicationTime json.RawMessage `json:"replicationTime,omitempty"`
}

// value decodes one JSON value that must be in a known shape.
func (d *Decoded) value(raw []byte, env envelope, depth int) error {
	if depth > maxDepth {
		return errors.New("envelopes nested too deep")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return fmt.Errorf("empty: %w", ErrUnrecognised)
	}
	switch raw[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("%w: %w", err, ErrUnrecognised)
		}
		for i, it := range items {
			e := env.with("item", strconv.Itoa(i))
			if err := d.value(it, e, depth+1); err != nil {
				d.Malformed = append(d.Malformed, Malformed{ID: e.origin, Err: err})
			}
		}
		return nil
	case '"':
		// A body or detail passed as a JSON string holding JSON.
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%w: %w", err, ErrUnrecognised)
		}
		if err := d.value([]byte(s), env, depth+1); err != nil {
			return fmt.Errorf("string holding JSON: %w", err)
		}
		return nil
	case '{':
	default:
		return ErrUnrecognised
	}
	var n node
	if err := json.Unmarshal(raw, &n); err != nil {
		// One bad record fails the whole pass; decode the records one by one so the
		// others are kept.
		var iso struct {
			Records []json.RawMessage `json:"Records"`
		}
		if json.Unmarshal(raw, &iso) != nil || len(iso.Records) == 0 {
			return fmt.Errorf("%w: %w", err, ErrUnrecognised)
		}
		for i, r := range iso.Records {
			e := env.with("record", strconv.Itoa(i))
			if err := d.value(r, e, depth+1); err != nil {
				d.Malformed = append(d.Malformed, Malformed{ID: e.origin, Err: err})
			}
		}
		return nil
	}
	return d.node(&n, env, depth)
}

// body decodes an SQS body: a string holding JSON, or an object a Pipe already parsed.
func (d *Decoded) body(b any, env envelope, depth int) error {
	switch v := b.(type) {
	case string:
		return d.value([]byte(v), env, depth+1)
	case map[string]any:
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return d.value(raw, env, depth+1)
	}
	return fmt.Errorf("body is neither a string nor an object: %w", ErrUnrecognised)
}

// node dispatches a decoded object by its shape.
func (d *Decoded) node(n *node, env envelope, depth int) error {
	if depth > maxDepth {
		return errors.New("envelopes nested too deep")
	}
	switch {
	case n.DetailType != nil:
		e := env.with("eventbridge", n.ID)
		e.account, e.region = n.Account, n.Region
		if *n.DetailType == alarmDetailType {
			if n.Detail == nil {
				return fmt.Errorf("alarm state change %s has no detail", n.ID)
			}
			return d.alarm(n, e)
		}
		if n.Detail == nil {
			return fmt.Errorf("EventBridge event %s (%s) has no detail", n.ID, *n.DetailType)
		}
		if err := d.node(n.Detail, e, depth+1); err != nil {
			return fmt.Errorf("detail of EventBridge event %s (%s, %s): %w", n.ID, n.Source, *n.DetailType, err)
		}
		return nil
	case n.Event == "s3:TestEvent":
		d.Skipped = append(d.Skipped, Skip{ID: env.with("s3", "TestEvent").origin,
			Why: "s3:TestEvent: S3 sends it when a notification configuration is saved; it is not a replication event"})
		return nil
	case n.Body != nil && (n.MessageID != "" || n.EventSource == "aws:sqs"):
		e := env.with("sqs", n.MessageID)
		if e.region == "" {
			e.region = n.AWSRegion
		}
		if err := d.body(n.Body, e, depth); err != nil {
			return fmt.Errorf("body of SQS message %s: %w", n.MessageID, err)
		}
		return nil
	case n.S3 != nil || n.EventSource == "aws:s3":
		return d.s3Record(n, env)
	case n.Records != nil:
		for i := range n.Records {
			e := env.with("record", strconv.Itoa(i))
			if err := d.node(&n.Records[i], e, depth+1); err != nil {
				d.Malformed = append(d.Malformed, Malformed{ID: e.origin, Err: err})
			}
		}
		return nil
	}
	return ErrUnrecognised
}

// s3Record turns one S3 notification record into a signal.
func (d *Decoded) s3Record(r *node, env envelope) error {
	name := strings.TrimPrefix(r.EventName, "s3:")
	var obj s3Object
	bucket := ""
	if r.S3 != nil {
		// S3 URL-encodes the key in events; events.S3Object.UnmarshalJSON decodes it with
		// url.QueryUnescape ('+' is a space), and a key that does not decode makes the record
		// malformed, as it did there.
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return fmt.Errorf("decode object key: %w", err)
		}
		r.S3.Object.URLDecodedKey = key
		obj, bucket = r.S3.Object, r.S3.Bucket.Name
	}
	id := obj.Sequencer
	if id == "" {
		id = r.ResponseElements["x-amz-request-id"]
	}
	e := env.with("s3", id)
	kind, ok := strings.CutPrefix(name, "Replication:")
	if !ok {
		d.Skipped = append(d.Skipped, Skip{ID: e.origin, Why: "not a replication event: " + r.EventName})
		return nil
	}
	k := Kind(kind)
	switch k {
	case KindFailed, KindMissedThreshold, KindReplicatedAfterThreshold, KindNotTracked:
	default:
		return fmt.Errorf("unknown replication event %q", r.EventName)
	}
	if bucket == "" {
		return errors.New("S3 record names no bucket")
	}
	s := Signal{
		Origin:       e.origin,
		Kind:         k,
		SourceBucket: bucket,
		Region:       firstNonEmpty(r.AWSRegion, e.region),
		Account:      e.account,
		Key:          obj.URLDecodedKey,
		VersionID:    obj.VersionID,
		Size:         obj.Size,
		Sequencer:    obj.Sequencer,
		EventTime:    r.EventTime,
		record:       r,
	}
	if rd := r.ReplicationEventData; rd != nil {
		s.RuleID = rd.ReplicationRuleID
		s.DestinationBucket = bucketName(rd.DestinationBucket)
		s.S3Operation = rd.S3Operation
		s.RequestTime = rd.RequestTime
		s.Reason = rd.FailureReason
		s.Threshold = scalar(rd.Threshold)
		s.ReplicationTime = scalar(rd.ReplicationTime)
	}
	if k == KindFailed && s.Reason == "" {
		s.Reason = "Unspecified"
	}
	s.ID = occurrenceID("s3", s.SourceBucket, s.Key, s.VersionID, s.Sequencer, string(s.Kind), s.Reason, s.RuleID, s.DestinationBucket, s.RequestTime.Format(time.RFC3339Nano))
	d.Signals = append(d.Signals, s)
	return nil
}

const alarmDetailType = names.AlarmDetailType

// alarmDetail is the part of a CloudWatch Alarm State Change's detail the monitor reads.
type alarmDetail struct {
	AlarmName     string         `json:"alarmName,omitempty"`
	State         *alarmState    `json:"state,omitempty"`
	PreviousState *alarmState    `json:"previousState,omitempty"`
	Configuration *alarmSettings `json:"configuration,omitempty"`
}

type alarmState struct {
	Value      string `json:"value"`
	Reason     string `json:"reason"`
	ReasonData string `json:"reasonData"`
	Timestamp  string `json:"timestamp"`
}

type alarmSettings struct {
	Metrics []struct {
		MetricStat struct {
			Metric struct {
				Namespace  string            `json:"namespace"`
				Name       string            `json:"name"`
				Dimensions map[string]string `json:"dimensions"`
			} `json:"metric"`
		} `json:"metricStat"`
	} `json:"metrics"`
}

func (d *Decoded) alarm(ev *node, env envelope) error {
	a := ev.Detail
	if a.AlarmName == "" || a.State == nil {
		return fmt.Errorf("alarm state change %s names no alarm or state", ev.ID)
	}
	if !strings.HasPrefix(a.AlarmName, names.AlarmNamePrefix) {
		d.Skipped = append(d.Skipped, Skip{ID: env.origin, Why: "alarm " + a.AlarmName + " is not s3crr's (no " + names.AlarmNamePrefix + " prefix)"})
		return nil
	}
	if a.State.Value != "ALARM" {
		prev := ""
		if a.PreviousState != nil {
			prev = a.PreviousState.Value
		}
		d.Skipped = append(d.Skipped, Skip{ID: env.origin, Why: fmt.Sprintf("alarm %s went %s → %s: only ALARM is alerted (the failure events carry each object's reason)", a.AlarmName, prev, a.State.Value)})
		return nil
	}
	kind := KindOtherAlarm
	switch {
	case strings.HasSuffix(a.AlarmName, names.FailedReplicationAlarmSuffix):
		kind = KindAlarm
	case a.AlarmName == names.EventsDLQAlarmName:
		kind = KindEventsUndelivered
	}
	s := Signal{
		Origin:      env.origin,
		Kind:        kind,
		Region:      env.region,
		Account:     env.account,
		AlarmName:   a.AlarmName,
		AlarmReason: a.State.Reason,
		record:      a,
	}
	if t, err := time.Parse(time.RFC3339, ev.Time); err == nil {
		s.EventTime = t
	}
	if a.Configuration != nil {
		for _, m := range a.Configuration.Metrics {
			dims := m.MetricStat.Metric.Dimensions
			if m.MetricStat.Metric.Name != "OperationsFailedReplication" || dims == nil {
				continue
			}
			s.SourceBucket, s.DestinationBucket, s.RuleID = dims["SourceBucket"], dims["DestinationBucket"], dims["RuleId"]
		}
	}
	// reasonData is a JSON string; its recentDatapoints are the sums that breached.
	var rd struct {
		RecentDatapoints []float64 `json:"recentDatapoints"`
	}
	if json.Unmarshal([]byte(a.State.ReasonData), &rd) == nil && len(rd.RecentDatapoints) > 0 {
		s.FailedOperations = rd.RecentDatapoints[len(rd.RecentDatapoints)-1]
	}
	if t, err := time.Parse("2006-01-02T15:04:05.000-0700", a.State.Timestamp); err == nil {
		s.EventTime = t
	}
	s.ID = occurrenceID("alarm", env.account, env.region, a.AlarmName, a.State.Timestamp)
	d.Signals = append(d.Signals, s)
	return nil
}

// occurrenceID hashes the fields that identify one occurrence, so that every delivery of it
// (S3's at-least-once duplicates, EventBridge's retries, a Pipe re-reading the message)
// gets the same ID and an ID fits any key-length limit.
func occurrenceID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// bucketName turns S3's "arn:aws:s3:::name" (how replication events name the destination)
// into the name; a name is returned as is.
func bucketName(s string) string {
	if i := strings.LastIndex(s, ":::"); i >= 0 {
		return s[i+3:]
	}
	return s
}

// scalar renders a JSON string or number as text; anything else as its JSON.
func scalar(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
