package monitor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3crr/s3crr/internal/policy"
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
	// Raw is the S3 record or alarm detail as received, for reasons the table does not know.
	Raw json.RawMessage
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

// Decode finds the replication events in payload, by shape: an S3 notification, an SQS
// event or record whose body is one (as a JSON string or already parsed, which is how a
// Pipe's implicit body parsing may pass it on), an EventBridge event whose detail is any of
// those or a CloudWatch alarm state change, or a JSON array of any of those. Records that
// cannot be decoded are reported in Malformed; an error means the payload as a whole is not
// JSON or not in any known shape.
func Decode(payload []byte) (Decoded, error) {
	var d Decoded
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 {
		return d, fmt.Errorf("decode event: empty payload: %w", ErrUnrecognised)
	}
	if !json.Valid(trimmed) {
		return d, fmt.Errorf("decode event: not JSON: %w", ErrUnrecognised)
	}
	if err := d.value(trimmed, envelope{}, 0); err != nil {
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

// probe holds the fields that tell the shapes apart. encoding/json matches names without
// regard to case, so "Records" (S3, SQS) and "records" are one field, as are
// "detail-type" spellings.
type probe struct {
	Records    json.RawMessage `json:"Records"`
	DetailType *string         `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
	Body       json.RawMessage `json:"body"`
	MessageID  string          `json:"messageId"`
	Event      string          `json:"Event"`
	EventSrc   string          `json:"eventSource"`
	S3         json.RawMessage `json:"s3"`
}

// value decodes one JSON value that must be in a known shape.
func (d *Decoded) value(raw []byte, env envelope, depth int) error {
	if depth > maxDepth {
		return errors.New("envelopes nested too deep")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ErrUnrecognised
	}
	switch raw[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return err
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
			return err
		}
		s = strings.TrimSpace(s)
		if !json.Valid([]byte(s)) {
			return fmt.Errorf("string is not JSON: %w", ErrUnrecognised)
		}
		return d.value([]byte(s), env, depth+1)
	case '{':
	default:
		return ErrUnrecognised
	}
	var p probe
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	switch {
	case p.DetailType != nil:
		return d.eventBridge(raw, env, depth)
	case p.Event == "s3:TestEvent":
		d.Skipped = append(d.Skipped, Skip{ID: env.with("s3", "TestEvent").origin,
			Why: "s3:TestEvent: S3 sends it when a notification configuration is saved; it is not a replication event"})
		return nil
	case p.Body != nil && (p.MessageID != "" || p.EventSrc == "aws:sqs"):
		return d.sqsRecord(raw, env, depth)
	case p.S3 != nil || p.EventSrc == "aws:s3":
		return d.s3Record(raw, env, 0)
	case p.Records != nil:
		var recs []json.RawMessage
		if err := json.Unmarshal(p.Records, &recs); err != nil {
			return fmt.Errorf("Records is not an array: %w", err)
		}
		for i, r := range recs {
			e := env.with("record", strconv.Itoa(i))
			if err := d.value(r, e, depth+1); err != nil {
				d.Malformed = append(d.Malformed, Malformed{ID: e.origin, Err: err})
			}
		}
		return nil
	}
	return ErrUnrecognised
}

// sqsRecord decodes an SQS message (an SQS event record, or the detail a Pipe puts on the
// bus) and then its body, a string or an already parsed object.
func (d *Decoded) sqsRecord(raw []byte, env envelope, depth int) error {
	var m struct {
		events.SQSMessage
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	e := env.with("sqs", m.MessageId)
	if m.AWSRegion != "" && e.region == "" {
		e.region = m.AWSRegion
	}
	if err := d.value(m.Body, e, depth+1); err != nil {
		return fmt.Errorf("body of SQS message %s: %w", m.MessageId, err)
	}
	return nil
}

// eventBridge decodes an EventBridge event: an alarm state change, or a detail in any other
// known shape (the Pipe's SQS record).
func (d *Decoded) eventBridge(raw []byte, env envelope, depth int) error {
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return err
	}
	e := env.with("eventbridge", ev.ID)
	e.account, e.region = ev.AccountID, ev.Region
	if ev.DetailType == alarmDetailType {
		return d.alarm(ev, e)
	}
	if len(ev.Detail) == 0 || string(ev.Detail) == "null" {
		return fmt.Errorf("EventBridge event %s (%s) has no detail", ev.ID, ev.DetailType)
	}
	if err := d.value(ev.Detail, e, depth+1); err != nil {
		return fmt.Errorf("detail of EventBridge event %s (%s, %s): %w", ev.ID, ev.Source, ev.DetailType, err)
	}
	return nil
}

// s3Record decodes one S3 notification record.
func (d *Decoded) s3Record(raw []byte, env envelope, _ int) error {
	var r events.S3EventRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	name := strings.TrimPrefix(r.EventName, "s3:")
	id := r.S3.Object.Sequencer
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
	if r.S3.Bucket.Name == "" {
		return errors.New("S3 record names no bucket")
	}
	s := Signal{
		Origin:       e.origin,
		Kind:         k,
		SourceBucket: r.S3.Bucket.Name,
		Region:       firstNonEmpty(r.AWSRegion, e.region),
		Account:      e.account,
		Key:          r.S3.Object.URLDecodedKey,
		VersionID:    r.S3.Object.VersionID,
		Size:         r.S3.Object.Size,
		Sequencer:    r.S3.Object.Sequencer,
		EventTime:    r.EventTime,
		Raw:          append(json.RawMessage(nil), raw...),
	}
	if rd := r.ReplicationEventData; rd != nil {
		s.RuleID = rd.ReplicationRuleID
		s.DestinationBucket = bucketName(rd.DestinationBucket)
		s.S3Operation = rd.S3Operation
		s.RequestTime = rd.RequestTime
		s.Reason = rd.FailureReason
	}
	// Threshold events add two fields aws-lambda-go's type does not have.
	var extra struct {
		ReplicationEventData struct {
			Threshold       json.RawMessage `json:"threshold"`
			ReplicationTime json.RawMessage `json:"replicationTime"`
		} `json:"replicationEventData"`
	}
	if err := json.Unmarshal(raw, &extra); err == nil {
		s.Threshold = scalar(extra.ReplicationEventData.Threshold)
		s.ReplicationTime = scalar(extra.ReplicationEventData.ReplicationTime)
	}
	if k == KindFailed && s.Reason == "" {
		s.Reason = "Unspecified"
	}
	s.ID = occurrenceID("s3", s.SourceBucket, s.Key, s.VersionID, s.Sequencer, string(s.Kind), s.Reason, s.RuleID, s.DestinationBucket, s.RequestTime.Format(time.RFC3339Nano))
	d.Signals = append(d.Signals, s)
	return nil
}

const alarmDetailType = "CloudWatch Alarm State Change"

// alarmDetail is the part of a CloudWatch Alarm State Change's detail the monitor reads.
type alarmDetail struct {
	AlarmName string `json:"alarmName"`
	State     struct {
		Value      string `json:"value"`
		Reason     string `json:"reason"`
		ReasonData string `json:"reasonData"`
		Timestamp  string `json:"timestamp"`
	} `json:"state"`
	PreviousState struct {
		Value string `json:"value"`
	} `json:"previousState"`
	Configuration struct {
		Metrics []struct {
			MetricStat struct {
				Metric struct {
					Namespace  string            `json:"namespace"`
					Name       string            `json:"name"`
					Dimensions map[string]string `json:"dimensions"`
				} `json:"metric"`
			} `json:"metricStat"`
		} `json:"metrics"`
	} `json:"configuration"`
}

func (d *Decoded) alarm(ev events.CloudWatchEvent, env envelope) error {
	var a alarmDetail
	if err := json.Unmarshal(ev.Detail, &a); err != nil {
		return fmt.Errorf("alarm state change %s: %w", ev.ID, err)
	}
	if a.AlarmName == "" {
		return fmt.Errorf("alarm state change %s names no alarm", ev.ID)
	}
	if !strings.HasPrefix(a.AlarmName, policy.AlarmNamePrefix) {
		d.Skipped = append(d.Skipped, Skip{ID: env.origin, Why: "alarm " + a.AlarmName + " is not s3crr's (no " + policy.AlarmNamePrefix + " prefix)"})
		return nil
	}
	if a.State.Value != "ALARM" {
		d.Skipped = append(d.Skipped, Skip{ID: env.origin, Why: fmt.Sprintf("alarm %s went %s → %s: only ALARM is alerted (the failure events carry each object's reason)", a.AlarmName, a.PreviousState.Value, a.State.Value)})
		return nil
	}
	s := Signal{
		Origin:      env.origin,
		Kind:        KindAlarm,
		Region:      env.region,
		Account:     env.account,
		AlarmName:   a.AlarmName,
		AlarmReason: a.State.Reason,
		EventTime:   ev.Time,
		Raw:         append(json.RawMessage(nil), ev.Detail...),
	}
	for _, m := range a.Configuration.Metrics {
		dims := m.MetricStat.Metric.Dimensions
		if m.MetricStat.Metric.Name != "OperationsFailedReplication" || dims == nil {
			continue
		}
		s.SourceBucket, s.DestinationBucket, s.RuleID = dims["SourceBucket"], dims["DestinationBucket"], dims["RuleId"]
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
