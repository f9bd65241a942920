// Command stubprovision is a stand-in for the provision Lambda that keeps its
// contract (event and result shapes, named errors) without touching any
// account, so tests can run statemachine/provision.asl.json itself on the
// local hub and check the data flow of every state.
//
// It remembers in STUB_STATE_DIR which stage/side pairs it has "created", so a
// second run reports no changes, and counts invocations there. Environment:
//
//	STUB_STATE_DIR      directory for its memory (required)
//	STUB_FAIL           stage/side=ErrorName: always fail there, e.g. keyPolicy/destination=AccessDenied
//	STUB_PROPAGATION    stage/side=N: fail there with PrincipalNotReady the first N times
//	STUB_NOT_READY      checkReplication answers ready=false this many times first
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/s3crr/s3crr/internal/names"
)

type event struct {
	Stage   string          `json:"stage"`
	Side    string          `json:"side"`
	Request json.RawMessage `json:"request"`
	Plan    bool            `json:"plan"`
}

type change struct {
	Account  string `json:"account"`
	Region   string `json:"region,omitempty"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

// result mirrors internal/provision's, omitempty fields included: the state
// machine must not depend on fields a stage leaves out.
type result struct {
	Stage    string            `json:"stage"`
	Side     string            `json:"side,omitempty"`
	Changes  []change          `json:"changes"`
	Outputs  map[string]string `json:"outputs,omitempty"`
	Warnings []string          `json:"warnings,omitempty"`
	Request  json.RawMessage   `json:"request,omitempty"`
	// Legs is what the real validate stage returns: the stub's requests are plain,
	// so the request is its own only leg.
	Legs []json.RawMessage `json:"legs,omitempty"`
}

type endpoint struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Bucket  string `json:"bucket"`
}

type request struct {
	PairID      string   `json:"pairId"`
	Source      endpoint `json:"source"`
	Destination endpoint `json:"destination"`
}

// The named errors, as the provision Lambda returns them.
type (
	InvalidSpec       struct{ msg string }
	PreflightFailed   struct{ msg string }
	PrincipalNotReady struct{ msg string }
	AccessDenied      struct{ msg string }
	Conflict          struct{ msg string }
)

func (e InvalidSpec) Error() string       { return e.msg }
func (e PreflightFailed) Error() string   { return e.msg }
func (e PrincipalNotReady) Error() string { return e.msg }
func (e AccessDenied) Error() string      { return e.msg }
func (e Conflict) Error() string          { return e.msg }

func named(name, msg string) error {
	switch name {
	case "InvalidSpec":
		return InvalidSpec{msg}
	case "PreflightFailed":
		return PreflightFailed{msg}
	case "PrincipalNotReady":
		return PrincipalNotReady{msg}
	case "Conflict":
		return Conflict{msg}
	default:
		return AccessDenied{msg}
	}
}

// setting returns the value of STUB_<name> for this stage/side, if any.
func setting(env, where string) (string, bool) {
	k, v, ok := strings.Cut(os.Getenv(env), "=")
	return v, ok && k == where
}

// count increments and returns the counter file name in the state directory.
func count(name string) int {
	path := filepath.Join(os.Getenv("STUB_STATE_DIR"), "count-"+name)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte{'.'}); err != nil {
		panic(err)
	}
	st, err := f.Stat()
	if err != nil {
		panic(err)
	}
	return int(st.Size())
}

func handle(_ context.Context, ev event) (*result, error) {
	where := ev.Stage + "/" + ev.Side
	n := count(strings.ReplaceAll(where, "/", "-"))
	if name, ok := setting("STUB_FAIL", where); ok {
		return nil, named(name, fmt.Sprintf("%s (%s): stub failure %s", ev.Stage, ev.Side, name))
	}
	if v, ok := setting("STUB_PROPAGATION", where); ok {
		if times, _ := strconv.Atoi(v); n <= times {
			return nil, PrincipalNotReady{fmt.Sprintf("%s (%s): not visible yet (call %d)", ev.Stage, ev.Side, n)}
		}
	}
	var req request
	if err := json.Unmarshal(ev.Request, &req); err != nil || req.PairID == "" {
		return nil, InvalidSpec{"request: not a pair request"}
	}
	side := req.Source
	if ev.Side == "destination" {
		side = req.Destination
	}
	res := &result{Stage: ev.Stage, Side: ev.Side, Outputs: map[string]string{}}
	// The first run "creates" what each stage owns; later runs find it in place.
	marker := filepath.Join(os.Getenv("STUB_STATE_DIR"), "created-"+req.PairID+"-"+strings.ReplaceAll(where, "/", "-"))
	created := false
	if ev.Stage != "validate" && ev.Stage != "preflight" && ev.Stage != "checkReplication" {
		if _, err := os.Stat(marker); err != nil {
			created = true
			if err := os.WriteFile(marker, nil, 0o600); err != nil {
				return nil, err
			}
		}
	}
	resource := ""
	switch ev.Stage {
	case names.StageValidate:
		res.Request = ev.Request
		res.Legs = []json.RawMessage{ev.Request}
	case names.StageBucket:
		resource = "arn:aws:s3:::" + side.Bucket
	case names.StageKey:
		resource = "arn:aws:kms:" + side.Region + ":" + side.Account + ":key/" + ev.Side + "-key"
		res.Outputs["keyArn"] = resource
	case names.StageRole:
		resource = names.SourceReplicationRoleARN(side.Account, side.Bucket)
		res.Outputs["roleArn"] = resource
	case names.StageReplication:
		resource = "arn:aws:s3:::" + req.Source.Bucket
		res.Outputs["ruleId"] = names.RuleID(req.PairID)
	case names.StageCheckReplication:
		notReady, _ := strconv.Atoi(os.Getenv("STUB_NOT_READY"))
		res.Outputs["ready"] = strconv.FormatBool(n > notReady)
	default:
		resource = ev.Stage + ":" + ev.Side
	}
	if created {
		res.Changes = append(res.Changes, change{Account: side.Account, Region: side.Region, Resource: resource, Action: "create"})
	}
	if len(res.Outputs) == 0 {
		res.Outputs = nil // omitted, as internal/provision does
	}
	return res, nil
}

func main() { lambda.Start(handle) }
