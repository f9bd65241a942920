package localaws

// CloudWatch alarms, the second route of replication failures: the events stage puts a
// metric alarm on S3's OperationsFailedReplication metric in the source account and
// region, and its state changes reach the hub through EventBridge.
//
// aws-sdk-go-v2's cloudwatch client (v1.7x) speaks Smithy RPC v2 CBOR, not the old Query
// protocol: POST /service/GraniteServiceVersion20100801/operation/<Op> with a CBOR body,
// Content-Type application/cbor and the header smithy-protocol: rpc-v2-cbor. Responses
// are CBOR maps keyed by member name, timestamps are tag 1 (epoch seconds). CloudWatch
// is awsQueryCompatible, so an error carries two codes: the body's __type (the Smithy
// shape ID, e.g. com.amazonaws.cloudwatch#ResourceNotFound) and the header
// X-Amzn-Query-Error "<query code>;<Sender|Receiver>", whose code is the one the SDK
// reports (ResourceNotFound, InvalidParameterValue, AccessDenied...). apiError.Code holds
// the query code; cwErrorShape maps it to the shape.
//
// Only what s3crr and a person checking by hand need is simulated: metric alarms on one
// metric with a static threshold (PutMetricAlarm, DescribeAlarms, DeleteAlarms) and alarm
// tags (TagResource, UntagResource, ListTagsForResource). Alarms are per account and
// region; the simulator publishes no metrics, so alarms stay in their initial
// INSUFFICIENT_DATA state.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// cwPathPrefix starts the path of every RPC v2 request to CloudWatch; the operation
// name follows.
const cwPathPrefix = "/service/GraniteServiceVersion20100801/operation/"

// cwRegion is CloudWatch in one account and region.
type cwRegion struct {
	alarms  map[string]*cwAlarm // by alarm name
	metrics []Metric            // put by PutMetricData, in order
}

// cwAlarm is one metric alarm: what DescribeAlarms returns, and its tags.
type cwAlarm struct {
	out  cwMetricAlarm
	tags map[string]string
}

// cwRegionOf returns (creating once) CloudWatch's state in an account and region. The
// caller holds s.mu.
func (s *Server) cwRegionOf(account, region string) *cwRegion {
	k := account + "/" + region
	r := s.cw[k]
	if r == nil {
		r = &cwRegion{alarms: map[string]*cwAlarm{}}
		s.cw[k] = r
	}
	return r
}

// cwAlarmARN is an alarm's ARN, the resource CloudWatch authorizes alarm calls on.
func cwAlarmARN(region, account, name string) string {
	return "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + name
}

// cwHandler runs one operation with s.mu held and returns the response member map (a
// struct encoded as CBOR) or a CloudWatch-coded error.
type cwHandler func(s *Server, c *call, body []byte) (any, *apiError)

var cwHandlers = map[string]cwHandler{
	"PutMetricAlarm":      (*Server).cwPutMetricAlarm,
	"DescribeAlarms":      (*Server).cwDescribeAlarms,
	"DeleteAlarms":        (*Server).cwDeleteAlarms,
	"TagResource":         (*Server).cwTagResource,
	"UntagResource":       (*Server).cwUntagResource,
	"ListTagsForResource": (*Server).cwListTagsForResource,
}

// isRPCv2 reports whether a request uses Smithy RPC v2 CBOR, so errors can be written in
// the protocol the client reads.
func isRPCv2(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Smithy-Protocol"), "rpc-v2-cbor")
}

// serveCloudWatch dispatches an RPC v2 CBOR request by the operation in its path.
func (s *Server) serveCloudWatch(c *call) {
	op, ok := strings.CutPrefix(c.r.URL.Path, cwPathPrefix)
	if !isRPCv2(c.r) {
		// The Query protocol of older SDKs and of the AWS CLI is not simulated; say so in
		// the protocol the caller reads (fail picks it), rather than misparse its form body.
		c.fail(errf(http.StatusBadRequest, "InvalidAction",
			"localaws CloudWatch speaks only Smithy RPC v2 CBOR (aws-sdk-go-v2 service/cloudwatch v1.7x or later)"))
		return
	}
	h := cwHandlers[op]
	if !ok || c.r.Method != http.MethodPost || h == nil {
		c.fail(errf(http.StatusNotFound, "UnknownOperationException", "localaws CloudWatch does not support %s %s", c.r.Method, c.r.URL.Path))
		return
	}
	s.serveRPC(c, op, rpcHandler(h), c.writeCBOR)
}

// cwDecode unmarshals a CBOR request body into v; an empty body is an empty input.
func cwDecode(body []byte, v any) *apiError {
	if len(body) == 0 {
		return nil
	}
	if err := cbor.Unmarshal(body, v); err != nil {
		return errf(http.StatusBadRequest, "SerializationException", "decode CBOR request: %v", err)
	}
	return nil
}

// cwEncMode encodes responses as the SDK's RPC v2 deserializer reads them: timestamps as
// tag 1 epoch seconds, nil lists as empty arrays (CloudWatch returns [] for an alarm
// without actions).
var cwEncMode = func() cbor.EncMode {
	em, err := cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired, NilContainers: cbor.NilContainerAsEmpty}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// writeCBOR writes a 200 RPC v2 CBOR response.
func (c *call) writeCBOR(v any) {
	if c.wrote {
		return
	}
	body, err := cwEncMode.Marshal(v)
	if err != nil {
		c.fail(errf(http.StatusInternalServerError, "InternalServiceError", "marshal response: %v", err))
		return
	}
	c.wrote = true
	c.w.Header().Set("Content-Type", "application/cbor")
	c.w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(body)
}

// cwErrorShape maps CloudWatch's Query error codes (what apiError.Code holds and the SDK
// reports) to the Smithy shapes of its model, named in the body's __type.
var cwErrorShape = map[string]string{
	"ValidationError":                 "ValidationException",
	"InvalidParameterValue":           "InvalidParameterValueException",
	"InvalidParameterCombination":     "InvalidParameterCombinationException",
	"MissingParameter":                "MissingRequiredParameterException",
	"ResourceNotFound":                "ResourceNotFound",
	"ResourceNotFoundException":       "ResourceNotFoundException",
	"LimitExceeded":                   "LimitExceededFault",
	"InvalidNextToken":                "InvalidNextToken",
	"InternalServiceError":            "InternalServiceFault",
	"ConcurrentModificationException": "ConcurrentModificationException",
}

// writeCloudWatchError writes err as CloudWatch does: in RPC v2 CBOR, with the Query code
// in X-Amzn-Query-Error; to a Query-protocol caller, as a Query XML error.
func (c *call) writeCloudWatchError(err *apiError) {
	fault := "Sender"
	if err.Status >= 500 {
		fault = "Receiver"
	}
	if !isRPCv2(c.r) {
		c.w.Header().Set("Content-Type", "text/xml")
		c.w.WriteHeader(err.Status)
		fmt.Fprintf(c.w, `<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			fault, xmlEscape(err.Code), xmlEscape(err.Message), c.requestID)
		return
	}
	typ := "com.amazon.coral.service#" + err.Code // codes outside the model (AccessDenied, Throttling...)
	if shape, ok := cwErrorShape[err.Code]; ok {
		typ = "com.amazonaws.cloudwatch#" + shape
	}
	body, merr := cwEncMode.Marshal(map[string]string{"__type": typ, "message": err.Message})
	if merr != nil {
		body = nil
	}
	c.w.Header().Set("Content-Type", "application/cbor")
	c.w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	c.w.Header().Set("X-Amzn-Query-Error", err.Code+";"+fault)
	c.w.WriteHeader(err.Status)
	_, _ = io.Copy(c.w, bytes.NewReader(body))
}

// Error constructors, with CloudWatch's codes and message forms.

// cwValidation is the framework's ValidationError for one member constraint.
func cwValidation(field, constraint string) *apiError {
	return constraintError("ValidationError", field, constraint)
}

// cwRequired is the ValidationError of a required member left out.
func cwRequired(field string) *apiError {
	return requiredError("ValidationError", field)
}

func cwInvalidValue(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "InvalidParameterValue", format, args...)
}

func cwCombination(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "InvalidParameterCombination", format, args...)
}

func cwMissing(name string) *apiError {
	return errf(http.StatusBadRequest, "MissingParameter", "The parameter %s is required.", name)
}

// cwUnsupported rejects a feature of the real API the simulator does not model, with a
// code no real CloudWatch error has, so a test cannot mistake it for a validation result.
func cwUnsupported(what string) *apiError {
	return errf(http.StatusBadRequest, "LocalawsUnsupported", "localaws CloudWatch does not simulate %s", what)
}

// cwAuthorize decides a CloudWatch action on a resource in the caller's account and
// region: identity policies only (CloudWatch has no resource policies), ModeStandard.
// The caller holds s.mu.
func (s *Server) cwAuthorize(c *call, action, resource string, ctx map[string][]string) *apiError {
	return s.authorize(authRequest{
		p:               c.p,
		mode:            authz.ModeStandard,
		action:          action,
		resource:        resource,
		resourceAccount: accountOfARN(resource),
		context:         ctx,
	})
}

// cwResourceTagContext adds aws:ResourceTag/<key> for an existing alarm's tags.
func cwResourceTagContext(ctx map[string][]string, tags map[string]string) map[string][]string {
	for k, v := range tags {
		ctx["aws:ResourceTag/"+k] = []string{v}
	}
	return ctx
}

// cwNow is the simulator's clock at CloudWatch's precision (milliseconds), in UTC.
func (s *Server) cwNow() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// sortedAlarms returns a region's alarms in name order, as DescribeAlarms lists them.
func (r *cwRegion) sortedAlarms() []*cwAlarm {
	out := make([]*cwAlarm, 0, len(r.alarms))
	for _, a := range r.alarms {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].out.AlarmName < out[j].out.AlarmName })
	return out
}

// AlarmNames lists the CloudWatch alarms of an account and region, in name order, for
// tests that check what provisioning left behind without going through the API.
func (s *Server) AlarmNames(account, region string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.cwRegionOf(account, region).sortedAlarms() {
		out = append(out, a.out.AlarmName)
	}
	return out
}
