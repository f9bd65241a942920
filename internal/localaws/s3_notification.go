package localaws

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// Put/GetBucketNotificationConfiguration. PUT replaces the whole configuration (an empty
// one clears it), which is why s3crr read-modify-writes it. S3 checks event names, filter
// rules, ARN shape and region, and overlapping configurations, and verifies that every SNS
// or SQS destination exists before it stores anything, refusing the configuration with
// "Unable to validate the following destination configurations"
// (docs/aws-facts.md#F-S3-NOTIFICATION-DESTINATION-CHECK). The simulator has SQS queues, so
// it refuses a queue that does not exist; it has no SNS or Lambda and does not check those.

type s3NotificationConfiguration struct {
	XMLName xml.Name               `xml:"NotificationConfiguration"`
	Xmlns   string                 `xml:"xmlns,attr,omitempty"`
	Topics  []s3NotificationTarget `xml:"TopicConfiguration"`
	Queues  []s3NotificationTarget `xml:"QueueConfiguration"`
	Lambdas []s3NotificationTarget `xml:"CloudFunctionConfiguration"`
	// EventBridge is the empty <EventBridgeConfiguration/> element, present when enabled.
	EventBridge *struct{} `xml:"EventBridgeConfiguration"`
}

// s3NotificationTarget is one Topic, Queue or CloudFunction configuration; exactly one of
// Topic, Queue and CloudFunction is set, according to the element it came from.
type s3NotificationTarget struct {
	ID            string          `xml:"Id,omitempty"`
	Topic         string          `xml:"Topic,omitempty"`
	Queue         string          `xml:"Queue,omitempty"`
	CloudFunction string          `xml:"CloudFunction,omitempty"`
	Events        []string        `xml:"Event"`
	Filter        *s3NotifyFilter `xml:"Filter"`
}

type s3NotifyFilter struct {
	Rules []s3FilterRule `xml:"S3Key>FilterRule"`
}

type s3FilterRule struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

// s3NotificationEvents are the event types S3 accepts in a notification configuration.
var s3NotificationEvents = map[string]bool{
	"s3:ReducedRedundancyLostObject": true,
	"s3:ObjectCreated:*":             true, "s3:ObjectCreated:Put": true, "s3:ObjectCreated:Post": true,
	"s3:ObjectCreated:Copy": true, "s3:ObjectCreated:CompleteMultipartUpload": true,
	"s3:ObjectRemoved:*": true, "s3:ObjectRemoved:Delete": true, "s3:ObjectRemoved:DeleteMarkerCreated": true,
	"s3:ObjectRestore:*": true, "s3:ObjectRestore:Post": true, "s3:ObjectRestore:Completed": true, "s3:ObjectRestore:Delete": true,
	"s3:Replication:*": true, "s3:Replication:OperationFailedReplication": true, "s3:Replication:OperationNotTracked": true,
	"s3:Replication:OperationMissedThreshold": true, "s3:Replication:OperationReplicatedAfterThreshold": true,
	"s3:LifecycleExpiration:*": true, "s3:LifecycleExpiration:Delete": true, "s3:LifecycleExpiration:DeleteMarkerCreated": true,
	"s3:LifecycleTransition": true, "s3:IntelligentTiering": true,
	"s3:ObjectTagging:*": true, "s3:ObjectTagging:Put": true, "s3:ObjectTagging:Delete": true,
	"s3:ObjectAcl:Put": true,
}

func (s *Server) s3GetBucketNotification(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:GetBucketNotification", func(b *bucket) {
		out := s3NotificationConfiguration{Xmlns: s3NS}
		if n := b.notification; n != nil {
			render := func(ts []notificationTarget, set func(*s3NotificationTarget, string)) []s3NotificationTarget {
				var xs []s3NotificationTarget
				for _, t := range ts {
					x := s3NotificationTarget{ID: t.id, Events: t.events}
					set(&x, t.arn)
					if t.prefix != "" || t.suffix != "" {
						x.Filter = &s3NotifyFilter{}
						if t.prefix != "" {
							x.Filter.Rules = append(x.Filter.Rules, s3FilterRule{Name: "Prefix", Value: t.prefix})
						}
						if t.suffix != "" {
							x.Filter.Rules = append(x.Filter.Rules, s3FilterRule{Name: "Suffix", Value: t.suffix})
						}
					}
					xs = append(xs, x)
				}
				return xs
			}
			out.Topics = render(n.topics, func(x *s3NotificationTarget, a string) { x.Topic = a })
			out.Queues = render(n.queues, func(x *s3NotificationTarget, a string) { x.Queue = a })
			out.Lambdas = render(n.lambdas, func(x *s3NotificationTarget, a string) { x.CloudFunction = a })
			if n.eventBridge {
				out.EventBridge = &struct{}{}
			}
		}
		c.writeXML(out)
	})
}

// s3PutBucketNotification is PutBucketNotificationConfiguration.
func (s *Server) s3PutBucketNotification(c *call, req *s3Request) {
	var in s3NotificationConfiguration
	if !s3ReadConfig(c, &in) {
		return
	}
	s.s3WithBucket(c, req, "s3:PutBucketNotification", func(b *bucket) {
		n := &notificationConfig{eventBridge: in.EventBridge != nil}
		var all []notificationTarget
		groups := []struct {
			in      []s3NotificationTarget
			service string
			arn     func(s3NotificationTarget) string
			out     *[]notificationTarget
		}{
			{in.Topics, "sns", func(x s3NotificationTarget) string { return x.Topic }, &n.topics},
			{in.Queues, "sqs", func(x s3NotificationTarget) string { return x.Queue }, &n.queues},
			{in.Lambdas, "lambda", func(x s3NotificationTarget) string { return x.CloudFunction }, &n.lambdas},
		}
		for _, g := range groups {
			for _, x := range g.in {
				t, aerr := s3ParseNotificationTarget(b, x, g.arn(x), g.service)
				if aerr != nil {
					c.fail(aerr)
					return
				}
				for _, other := range all {
					if s3NotificationsOverlap(t, other) {
						c.fail(errInvalidArgument("Configurations overlap. Configurations on the same bucket cannot share a common event type.",
							"Event", strings.Join(t.events, ",")))
						return
					}
				}
				all = append(all, t)
				*g.out = append(*g.out, t)
			}
		}
		var missing [][2]string
		for _, q := range n.queues {
			if !s.sqsQueueExists(q.arn) {
				i := strconv.Itoa(len(missing) + 1)
				missing = append(missing, [2]string{"ArgumentName" + i, q.arn}, [2]string{"ArgumentValue" + i, "The destination queue does not exist"})
			}
		}
		if len(missing) > 0 {
			c.fail(s3Err(http.StatusBadRequest, "InvalidArgument", "Unable to validate the following destination configurations", missing...))
			return
		}
		if len(all) == 0 && !n.eventBridge {
			b.notification = nil
		} else {
			b.notification = n
		}
		c.writeEmpty(http.StatusOK)
	})
}

func s3ParseNotificationTarget(b *bucket, x s3NotificationTarget, arn, service string) (notificationTarget, *apiError) {
	t := notificationTarget{id: x.ID, arn: arn}
	if t.id == "" {
		t.id = s3RandomID(40)
	}
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 6 || parts[0] != "arn" || parts[2] != service || parts[5] == "" || !accountIDPattern.MatchString(parts[4]) {
		return t, errInvalidArgument("The ARN is not well formed", strings.ToUpper(service[:1])+service[1:], arn)
	}
	if parts[3] != b.region {
		return t, errInvalidArgument("The notification destination service region is not valid for the bucket location constraint",
			"Destination", arn)
	}
	if len(x.Events) == 0 {
		return t, errMalformedXML()
	}
	for _, e := range x.Events {
		if !s3NotificationEvents[e] {
			return t, errInvalidArgument("The event is not supported for notifications", "Event", e)
		}
		t.events = append(t.events, e)
	}
	if x.Filter != nil {
		for _, r := range x.Filter.Rules {
			var dst *string
			switch strings.ToLower(r.Name) {
			case "prefix":
				dst = &t.prefix
			case "suffix":
				dst = &t.suffix
			default:
				return t, errInvalidArgument("filter rule name must be either prefix or suffix", "FilterRule", r.Name)
			}
			if *dst != "" {
				return t, errInvalidArgument("Cannot specify more than one "+strings.ToLower(r.Name)+" rule in a filter.", "FilterRule", r.Name)
			}
			*dst = r.Value
		}
	}
	return t, nil
}

// s3NotificationsOverlap reports whether two configurations could fire for the same
// object and event, which S3 refuses: they share an event type (wildcards included) and
// neither filter excludes the other's keys.
func s3NotificationsOverlap(a, b notificationTarget) bool {
	shared := false
	for _, x := range a.events {
		for _, y := range b.events {
			if s3EventCovers(x, y) || s3EventCovers(y, x) {
				shared = true
			}
		}
	}
	if !shared {
		return false
	}
	prefixesOverlap := strings.HasPrefix(a.prefix, b.prefix) || strings.HasPrefix(b.prefix, a.prefix)
	suffixesOverlap := strings.HasSuffix(a.suffix, b.suffix) || strings.HasSuffix(b.suffix, a.suffix)
	return prefixesOverlap && suffixesOverlap
}

// s3EventCovers reports whether event type pattern covers event (s3:ObjectCreated:* covers
// s3:ObjectCreated:Put).
func s3EventCovers(pattern, event string) bool {
	if pattern == event {
		return true
	}
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(event, p)
	}
	return false
}
