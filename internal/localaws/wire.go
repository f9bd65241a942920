package localaws

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiError is an AWS error as the service returns it: an HTTP status, an error code the
// SDKs surface through smithy.APIError, and a message.
type apiError struct {
	Status  int
	Code    string
	Message string
	// Extra fields S3 adds to some error bodies (BucketName, Key, ...), rendered in order.
	S3Fields [][2]string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// Common constructors, so codes and statuses stay exactly as AWS sends them.
func errAccessDenied(msg string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "AccessDenied", Message: msg}
}

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// call is one request in flight.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	service   string // "s3", "s3control", "kms", "iam", "sts", "cloudwatch", "sqs"
	region    string // from the SigV4 credential scope
	op        string // the operation name, e.g. "PutBucketReplication"; set by the service handler
	p         *principal
	secure    bool // aws:SecureTransport
	requestID string
	wrote     bool
}

// credentialScope is what the SigV4 Authorization header (or presigned query) says about
// the caller: its access key, the region and the service the request was signed for.
type credentialScope struct {
	accessKey, region, service string
}

// parseScope reads the SigV4 credential scope. The simulator does not verify signatures
// (root credentials accept any secret by convention); it trusts the scope for routing, the
// access key for identity, and the session token for temporary credentials.
func parseScope(r *http.Request) (credentialScope, *apiError) {
	var cred string
	if h := r.Header.Get("Authorization"); h != "" {
		if !strings.HasPrefix(h, "AWS4-HMAC-SHA256 ") {
			return credentialScope{}, errf(http.StatusBadRequest, "InvalidRequest",
				"localaws supports only AWS Signature Version 4 (AWS4-HMAC-SHA256)")
		}
		for _, part := range strings.Split(strings.TrimPrefix(h, "AWS4-HMAC-SHA256 "), ",") {
			part = strings.TrimSpace(part)
			if v, ok := strings.CutPrefix(part, "Credential="); ok {
				cred = v
			}
		}
	} else if v := r.URL.Query().Get("X-Amz-Credential"); v != "" {
		cred = v
	}
	if cred == "" {
		return credentialScope{}, errf(http.StatusForbidden, "MissingAuthenticationToken",
			"Request is missing Authentication Token: sign it with SigV4 credentials of a simulated account")
	}
	// AKID/date/region/service/aws4_request
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return credentialScope{}, errf(http.StatusBadRequest, "IncompleteSignature",
			"malformed SigV4 credential scope %q", cred)
	}
	return credentialScope{accessKey: parts[0], region: parts[2], service: parts[3]}, nil
}

// guessService picks the error protocol for a request whose scope could not be read.
func guessService(r *http.Request) string {
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "TrentService.") {
		return "kms"
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.") {
		return "sqs"
	}
	if isRPCv2(r) {
		return "cloudwatch"
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && r.Method == http.MethodPost {
		return "sts"
	}
	return "s3"
}

// fail writes err in the service's error protocol.
func (c *call) fail(err *apiError) {
	if c.wrote {
		return
	}
	c.wrote = true
	switch c.service {
	case "s3control":
		c.writeS3ControlError(err)
	case "cloudwatch":
		c.writeCloudWatchError(err)
	case "sqs":
		c.writeSQSError(err)
	case "kms":
		c.w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		c.w.Header().Set("X-Amzn-ErrorType", err.Code)
		c.w.WriteHeader(err.Status)
		_ = json.NewEncoder(c.w).Encode(map[string]string{"__type": err.Code, "message": err.Message})
	case "iam", "sts":
		ns := "https://sts.amazonaws.com/doc/2011-06-15/"
		if c.service == "iam" {
			ns = "https://iam.amazonaws.com/doc/2010-05-08/"
		}
		typ := "Sender"
		if err.Status >= 500 {
			typ = "Receiver"
		}
		c.w.Header().Set("Content-Type", "text/xml")
		c.w.WriteHeader(err.Status)
		fmt.Fprintf(c.w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			ns, typ, xmlEscape(err.Code), xmlEscape(err.Message), c.requestID)
	default: // s3
		c.w.Header().Set("Content-Type", "application/xml")
		c.w.WriteHeader(err.Status)
		if c.r.Method == http.MethodHead {
			return // S3 sends no body for HEAD; the SDK maps the status
		}
		var b strings.Builder
		b.WriteString(xml.Header)
		b.WriteString("<Error><Code>" + xmlEscape(err.Code) + "</Code><Message>" + xmlEscape(err.Message) + "</Message>")
		for _, f := range err.S3Fields {
			b.WriteString("<" + f[0] + ">" + xmlEscape(f[1]) + "</" + f[0] + ">")
		}
		b.WriteString("<RequestId>" + c.requestID + "</RequestId></Error>")
		_, _ = c.w.Write([]byte(b.String()))
	}
}

// writeXML writes a 200 response whose body is v marshalled as XML, for S3, IAM and STS.
func (c *call) writeXML(v any) {
	if c.wrote {
		return
	}
	body, err := xml.Marshal(v)
	if err != nil {
		c.fail(errf(http.StatusInternalServerError, "InternalError", "marshal response: %v", err))
		return
	}
	c.wrote = true
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(xml.Header))
	_, _ = c.w.Write(body)
}

// writeJSON writes a 200 KMS (JSON 1.1) response.
func (c *call) writeJSON(v any) {
	if c.wrote {
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		c.fail(errf(http.StatusInternalServerError, "KMSInternalException", "marshal response: %v", err))
		return
	}
	c.wrote = true
	c.w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(body)
}

// writeEmpty writes a status with no body (S3 204s and 200s without payload).
func (c *call) writeEmpty(status int) {
	if c.wrote {
		return
	}
	c.wrote = true
	c.w.WriteHeader(status)
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// rpcHandler is one operation of an RPC-style service (KMS over JSON 1.1, CloudWatch over
// RPC v2 CBOR): it decodes body itself and runs with s.mu held.
type rpcHandler func(s *Server, c *call, body []byte) (any, *apiError)

// serveRPC is what the RPC-style services share once they know the operation: count it and
// apply injected faults, read the body (at most 1 MiB), run the handler under s.mu, and
// write its result with write (the service's encoding) or its error.
func (s *Server) serveRPC(c *call, op string, h rpcHandler, write func(any)) {
	if !s.begin(c, op) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(c.r.Body, 1<<20))
	if err != nil {
		c.fail(errf(http.StatusBadRequest, "SerializationException", "read request body: %v", err))
		return
	}
	s.mu.Lock()
	out, aerr := h(s, c, body)
	s.mu.Unlock()
	if aerr != nil {
		c.fail(aerr)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	write(out)
}
