package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/s3crr/s3crr/internal/monitor"
)

// maxEventBytes bounds an event file: EventBridge events are at most 256 KB, a Lambda
// payload 6 MB.
const maxEventBytes = 6 << 20

// monitorCommand is `crr monitor`.
func monitorCommand() *command {
	return &command{
		name:    "monitor",
		summary: "the replication monitor: preview the alert an event would produce",
		subs: []*command{{
			name:    "preview",
			summary: "print the alerts the monitor would publish for an event file, without sending or de-duplicating",
			run:     monitorPreview,
		}},
	}
}

// previewAlert is one alert as `crr monitor preview --output json` prints it: what the
// monitor would hand SNS.
type previewAlert struct {
	Subject    string            `json:"subject"`
	Attributes map[string]string `json:"attributes"`
	Body       string            `json:"body"`
	Alert      monitor.Alert     `json:"alert"`
}

func monitorPreview(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr monitor preview")
	file := fs.String("f", "", "event `file` (JSON); - reads standard input")
	output := addOutputFlag(fs)
	usage := "crr monitor preview -f EVENT.json [--output text|json]\n\n" +
		"Prints the alert(s) the monitor Lambda would publish for the event: subject, message\n" +
		"attributes and e-mail body. The event may be an S3 event notification, an SQS event or\n" +
		"record, the member Pipe's EventBridge event, a CloudWatch alarm state change, or a JSON\n" +
		"array of those. Nothing is sent and nothing is de-duplicated; the pair is not looked up,\n" +
		"so alerts read as for an unmanaged bucket. An event that alerts nothing prints\n" +
		"\"no alert: <why>\" and exits 0; input the monitor cannot read exits 1."
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	asJSON, err := output.json()
	if err != nil {
		return err
	}
	payload, err := readEventFile(env, *file)
	if err != nil {
		return err
	}
	alerts, d, err := monitor.Preview(ctx, payload, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, oneLine(err))
	}
	if len(alerts) == 0 {
		var why []string
		for _, s := range d.Skipped {
			why = append(why, s.Why)
		}
		if len(d.Malformed) > 0 {
			m := d.Malformed[0]
			return fmt.Errorf("%s: record %s: %w", *file, m.ID, oneLine(m.Err))
		}
		if len(why) == 0 {
			why = append(why, "the event holds no replication record or alarm")
		}
		fmt.Fprintf(env.stdout, "no alert: %s\n", strings.Join(why, "; "))
		return nil
	}
	out := make([]previewAlert, 0, len(alerts))
	for _, a := range alerts {
		in, err := monitor.PublishInput("arn:aws:sns:<region>:<hub account>:preview", a)
		if err != nil {
			return err
		}
		attrs := map[string]string{}
		for k, v := range in.MessageAttributes {
			attrs[k] = aws.ToString(v.StringValue)
		}
		out = append(out, previewAlert{Subject: aws.ToString(in.Subject), Attributes: attrs, Body: a.Body, Alert: a})
	}
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for i, p := range out {
		if len(out) > 1 {
			fmt.Fprintf(env.stdout, "=== alert %d of %d\n", i+1, len(out))
		}
		fmt.Fprintf(env.stdout, "Subject: %s\n", p.Subject)
		keys := make([]string, 0, len(p.Attributes))
		for k := range p.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(env.stdout, "Attribute %s: %s\n", k, p.Attributes[k])
		}
		fmt.Fprintf(env.stdout, "\n%s\n", strings.TrimRight(p.Body, "\n"))
	}
	for _, m := range d.Malformed {
		fmt.Fprintf(env.stderr, "dropped record %s: %v\n", m.ID, oneLine(m.Err))
	}
	return nil
}

// readEventFile reads -f (or standard input for -).
func readEventFile(env *cliEnv, file string) ([]byte, error) {
	var r io.Reader
	switch file {
	case "":
		return nil, usagef("-f is required: the event file, or - for standard input")
	case "-":
		if env.stdin == nil {
			return nil, errors.New("read event: no standard input")
		}
		r = env.stdin
	default:
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read event: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxEventBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read event %s: %w", file, err)
	}
	if len(b) > maxEventBytes {
		return nil, fmt.Errorf("read event %s: larger than %d bytes, the Lambda payload limit", file, maxEventBytes)
	}
	return b, nil
}

// oneLine joins a multi-line error into one line, so the command's error stays one line.
func oneLine(err error) error {
	return errors.New(strings.Join(strings.Fields(err.Error()), " "))
}
