package localaws

// Amazon SQS, only as much as a member account needs: MemberStack creates the events
// queue in each region (CreateQueue), the provisioner checks at preflight that it exists
// (GetQueueUrl), and S3 refuses a notification configuration naming a queue that does not
// exist (docs/aws-facts.md#F-S3-NOTIFICATION-DESTINATION-CHECK). Messages are not stored:
// the local run hands S3's notifications to Options.EventSink, which plays the Pipe.
//
// aws-sdk-go-v2's sqs client speaks AWS JSON 1.0: POST with X-Amz-Target
// "AmazonSQS.<Op>" and Content-Type application/x-amz-json-1.0. SQS is
// awsQueryCompatible: an error carries the Smithy shape in __type (e.g.
// com.amazonaws.sqs#QueueDoesNotExist), which the SDK decodes into its error type, and the
// query-era code in the x-amzn-query-error header ("AWS.SimpleQueueService.NonExistentQueue;Sender").

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// sqsQueue is one queue: its attributes as CreateQueue set them.
type sqsQueue struct {
	account, region, name string
	attributes            map[string]string
	tags                  map[string]string
}

func (q *sqsQueue) arn() string { return sqsQueueARN(q.region, q.account, q.name) }

// url is the queue URL SQS returns; the SDK sends it back as a parameter, not as the
// request's endpoint, so the simulator's own endpoint is not part of it.
func (q *sqsQueue) url() string {
	return "https://sqs." + q.region + ".amazonaws.com/" + q.account + "/" + q.name
}

func sqsQueueARN(region, account, name string) string {
	return "arn:aws:sqs:" + region + ":" + account + ":" + name
}

// sqsQueueKey indexes Server.sqs.
func sqsQueueKey(account, region, name string) string { return account + "/" + region + "/" + name }

// sqsQueueName is SQS's rule for queue names (.fifo allowed at the end).
var sqsQueueName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

type sqsHandler func(s *Server, c *call, body []byte) (any, *apiError)

var sqsHandlers = map[string]sqsHandler{
	"CreateQueue":        (*Server).sqsCreateQueue,
	"GetQueueUrl":        (*Server).sqsGetQueueURL,
	"GetQueueAttributes": (*Server).sqsGetQueueAttributes,
}

// serveSQS dispatches an AWS JSON 1.0 request by its X-Amz-Target.
func (s *Server) serveSQS(c *call) {
	serveTarget(s, c, "SQS", "AmazonSQS.", sqsHandlers, "UnsupportedOperation", c.writeSQSJSON)
}

// writeSQSJSON writes a 200 AWS JSON 1.0 response.
func (c *call) writeSQSJSON(v any) {
	if c.wrote {
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		c.fail(errf(http.StatusInternalServerError, "InternalError", "marshal response: %v", err))
		return
	}
	c.wrote = true
	c.w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(body)
}

// sqsQueryCodes maps the Smithy error shapes the simulator returns to SQS's query-era
// codes, sent in x-amzn-query-error as SQS does.
var sqsQueryCodes = map[string]string{
	"QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
	"QueueNameExists":   "QueueAlreadyExists",
}

// writeSQSError writes err as SQS's JSON 1.0 error.
func (c *call) writeSQSError(err *apiError) {
	c.w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	typ := "Sender"
	if err.Status >= 500 {
		typ = "Receiver"
	}
	query := err.Code
	if q, ok := sqsQueryCodes[err.Code]; ok {
		query = q
	}
	c.w.Header().Set("x-amzn-query-error", query+";"+typ)
	c.w.WriteHeader(err.Status)
	_ = json.NewEncoder(c.w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + err.Code, "message": err.Message})
}

// sqsAuthorize authorizes p for an SQS action on a queue ARN in account (identity
// policies only: the simulator keeps no queue policies, so another account is denied).
func (s *Server) sqsAuthorize(c *call, action, arn, account string) *apiError {
	return s.authorize(authRequest{
		p:               c.p,
		mode:            authz.ModeStandard,
		action:          action,
		resource:        arn,
		resourceAccount: account,
		context:         c.requestContext(),
	})
}

func sqsNoQueue() *apiError {
	return errf(http.StatusBadRequest, "QueueDoesNotExist", "The specified queue does not exist.")
}

func sqsDecode(body []byte, v any) *apiError {
	if err := kmsDecode(body, v); err != nil {
		err.Code = "InvalidParameterValue"
		return err
	}
	return nil
}

func (s *Server) sqsCreateQueue(c *call, body []byte) (any, *apiError) {
	var in struct {
		QueueName  string
		Attributes map[string]string
		Tags       map[string]string `json:"tags"`
	}
	if err := sqsDecode(body, &in); err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(in.QueueName, ".fifo")
	if !sqsQueueName.MatchString(base) || len(in.QueueName) > 80 {
		return nil, errf(http.StatusBadRequest, "InvalidParameterValue",
			"Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	account := c.p.account
	if err := s.sqsAuthorize(c, "sqs:CreateQueue", sqsQueueARN(c.region, account, in.QueueName), account); err != nil {
		return nil, err
	}
	key := sqsQueueKey(account, c.region, in.QueueName)
	if q := s.sqs[key]; q != nil {
		// CreateQueue is idempotent for the same attributes and refuses different ones.
		for k, v := range in.Attributes {
			if q.attributes[k] != v {
				return nil, errf(http.StatusBadRequest, "QueueNameExists",
					"A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
		return map[string]string{"QueueUrl": q.url()}, nil
	}
	q := &sqsQueue{account: account, region: c.region, name: in.QueueName, attributes: map[string]string{}, tags: map[string]string{}}
	for k, v := range in.Attributes {
		q.attributes[k] = v
	}
	for k, v := range in.Tags {
		q.tags[k] = v
	}
	s.sqs[key] = q
	return map[string]string{"QueueUrl": q.url()}, nil
}

func (s *Server) sqsGetQueueURL(c *call, body []byte) (any, *apiError) {
	var in struct {
		QueueName              string
		QueueOwnerAWSAccountId string
	}
	if err := sqsDecode(body, &in); err != nil {
		return nil, err
	}
	account := in.QueueOwnerAWSAccountId
	if account == "" {
		account = c.p.account
	}
	// Authorized before the lookup, as SQS does: a caller without the permission learns
	// nothing about whether the queue exists.
	if err := s.sqsAuthorize(c, "sqs:GetQueueUrl", sqsQueueARN(c.region, account, in.QueueName), account); err != nil {
		return nil, err
	}
	q := s.sqs[sqsQueueKey(account, c.region, in.QueueName)]
	if q == nil {
		return nil, sqsNoQueue()
	}
	return map[string]string{"QueueUrl": q.url()}, nil
}

// sqsQueueByURL finds a queue by the URL GetQueueUrl or CreateQueue returned.
func (s *Server) sqsQueueByURL(url string) *sqsQueue {
	parts := strings.Split(strings.TrimSuffix(url, "/"), "/")
	if len(parts) < 2 {
		return nil
	}
	account, name := parts[len(parts)-2], parts[len(parts)-1]
	region := ""
	if h := strings.Split(strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://"), "/")[0]; strings.HasPrefix(h, "sqs.") {
		region = strings.Split(h, ".")[1]
	}
	return s.sqs[sqsQueueKey(account, region, name)]
}

func (s *Server) sqsGetQueueAttributes(c *call, body []byte) (any, *apiError) {
	var in struct {
		QueueUrl       string
		AttributeNames []string
	}
	if err := sqsDecode(body, &in); err != nil {
		return nil, err
	}
	q := s.sqsQueueByURL(in.QueueUrl)
	if q == nil {
		return nil, sqsNoQueue()
	}
	if err := s.sqsAuthorize(c, "sqs:GetQueueAttributes", q.arn(), q.account); err != nil {
		return nil, err
	}
	all := map[string]string{"QueueArn": q.arn()}
	for k, v := range q.attributes {
		all[k] = v
	}
	out := map[string]string{}
	for _, n := range in.AttributeNames {
		if n == "All" {
			out = all
			break
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return map[string]map[string]string{"Attributes": out}, nil
}

// sqsQueueExists reports whether the queue an ARN names exists. The caller holds s.mu.
func (s *Server) sqsQueueExists(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return false
	}
	return s.sqs[sqsQueueKey(parts[4], parts[3], parts[5])] != nil
}

// Queues lists the ARNs of every simulated queue, sorted, for tests and the local run.
func (s *Server) Queues() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.sqs))
	for _, q := range s.sqs {
		out = append(out, q.arn())
	}
	sort.Strings(out)
	return out
}
