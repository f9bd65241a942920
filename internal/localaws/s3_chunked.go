package localaws

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
)

// aws-chunked is the body encoding SigV4 streaming uploads use (Content-Encoding:
// aws-chunked): a sequence of "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n" chunks ending
// with a zero-size chunk, optionally followed by trailing headers ("x-amz-checksum-crc32:...")
// and a blank line. aws-sdk-go-v2 uses it for flexible checksums over TLS; the AWS CLI uses
// it too. The simulator does not verify chunk signatures, as it verifies no signature.

// s3IsChunked reports whether the request body is aws-chunked.
func s3IsChunked(r *http.Request) bool {
	for _, enc := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if strings.TrimSpace(enc) == "aws-chunked" {
			return true
		}
	}
	sha := r.Header.Get("X-Amz-Content-Sha256")
	return strings.HasPrefix(sha, "STREAMING-")
}

// s3DecodeChunked decodes an aws-chunked body into the payload and its trailing headers
// (lower-cased names).
func s3DecodeChunked(raw []byte) ([]byte, map[string]string, *apiError) {
	bad := func(why string) *apiError {
		return s3Err(http.StatusBadRequest, "IncompleteBody", "The aws-chunked request body is malformed: "+why)
	}
	var out bytes.Buffer
	rest := raw
	for {
		line, after, ok := bytes.Cut(rest, []byte("\r\n"))
		if !ok {
			return nil, nil, bad("missing chunk header")
		}
		sizeText, _, _ := strings.Cut(string(line), ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
		if err != nil || size < 0 {
			return nil, nil, bad("invalid chunk size " + strconv.Quote(sizeText))
		}
		rest = after
		if size == 0 {
			break
		}
		if int64(len(rest)) < size+2 || string(rest[size:size+2]) != "\r\n" {
			return nil, nil, bad("chunk shorter than its declared size")
		}
		out.Write(rest[:size])
		rest = rest[size+2:]
	}
	trailers := map[string]string{}
	for len(rest) > 0 {
		line, after, _ := bytes.Cut(rest, []byte("\r\n"))
		rest = after
		if len(line) == 0 {
			continue
		}
		name, value, ok := strings.Cut(string(line), ":")
		if !ok {
			return nil, nil, bad("malformed trailer " + strconv.Quote(string(line)))
		}
		trailers[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	return out.Bytes(), trailers, nil
}
