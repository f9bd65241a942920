package localrun

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// BrokenCode is the failure the demo's break causes: S3 records it on the source
// version when the replication role may not s3:ReplicateObject into the destination.
const BrokenCode = "DstPutObjectNotPermitted"

// monitorAlertWait bounds the wait for the monitor's alert: the event goes simulator →
// hub bus → kumo's asynchronous Lambda invoke → DynamoDB → SNS → SQS, each a local call.
const monitorAlertWait = 30 * time.Second

// Breakage is the demo's failure step: what was broken, the object that failed, the
// alert the monitor sent, the repairing execution and the object replicated after it.
type Breakage struct {
	// How says what was changed by hand.
	How string
	// Failed is the object written while broken; Code the failure S3 recorded on it.
	Failed Replica
	Code   string
	// Alert is the monitor's alert for it, as the alert topic's subscriber read it.
	Alert MonitorAlert
	// Repair is the re-run of the provision state machine that put the policy back.
	Repair *Run
	// After is the object written after the repair.
	After Replica
	// Redrive is the redrive state machine's execution that re-drove the object that
	// failed while broken (S3 never retries it); RedrivenStatus is that object's
	// replication status after it.
	Redrive        *Run
	RedrivenStatus string
}

// BreakAlertRepair breaks the pair the way someone editing the replication role's policy
// by hand might (an explicit Deny of s3:ReplicateObject), writes an object and waits for
// the monitor's alert naming the failure, the pair and the object, repairs the pair by
// re-running the provision state machine with the same request, and checks that the next
// object replicates. destinationKeyARN is the pair's destination key.
func (e *Env) BreakAlertRepair(ctx context.Context, req spec.Request, request []byte, destinationKeyARN string, onProgress func(Progress)) (*Breakage, error) {
	b := &Breakage{How: fmt.Sprintf("added an explicit Deny of s3:ReplicateObject on arn:aws:s3:::%s/* to the replication role's policy %s", req.Destination.Bucket, names.ReplicationPolicyName)}
	if err := e.denyReplicateObject(ctx, req); err != nil {
		return b, err
	}
	key := req.Rule.Prefix + "demo/while-broken.txt"
	var err error
	b.Failed, err = e.PutAndCheck(ctx, req, key, destinationKeyARN)
	if err == nil {
		return b, fmt.Errorf("s3://%s/%s replicated although the role may not s3:ReplicateObject", req.Source.Bucket, key)
	}
	status, code, _, _ := e.Sim.ObjectReplication(req.Source.Bucket, key, b.Failed.SourceVersionID)
	if status != "FAILED" {
		return b, fmt.Errorf("s3://%s/%s replication %s, want FAILED: %w", req.Source.Bucket, key, status, err)
	}
	b.Code = code
	alerts, err := e.WaitMonitorAlerts(ctx, req.PairID, code, monitorAlertWait)
	if err != nil {
		return b, err
	}
	i := FindAlert(alerts, req.PairID, code)
	if i < 0 {
		return b, fmt.Errorf("no monitor alert for pair %s and %s within %s", req.PairID, code, monitorAlertWait)
	}
	b.Alert = alerts[i]

	if b.Repair, err = e.Provision(ctx, request, req.ExecutionName()+"-repair", onProgress); err != nil {
		return b, err
	}
	if !b.Repair.Succeeded() {
		return b, &ExecutionError{Run: b.Repair}
	}
	if b.After, err = e.PutAndCheck(ctx, req, req.Rule.Prefix+"demo/after-repair.txt", destinationKeyARN); err != nil {
		return b, err
	}
	if problems := b.After.Problems(); len(problems) > 0 {
		return b, fmt.Errorf("%w after the repair: %v", ErrReplica, problems)
	}
	// The object written while broken stays FAILED after the repair until it is re-driven.
	if b.Redrive, err = e.Redrive(ctx, RedriveInput{PairID: req.PairID, Statuses: []string{"FAILED"}}, req.ExecutionName()+"-redrive", onProgress); err != nil {
		return b, err
	}
	if x := b.Redrive.Execution; !b.Redrive.Succeeded() {
		return b, fmt.Errorf("redrive %s: %s: %s", x.Status, x.Error, x.Cause)
	}
	b.RedrivenStatus, _, _, _ = e.Sim.ObjectReplication(req.Source.Bucket, key, b.Failed.SourceVersionID)
	if b.RedrivenStatus != "COMPLETED" {
		return b, fmt.Errorf("s3://%s/%s is %s after the re-drive, want COMPLETED", req.Source.Bucket, key, b.RedrivenStatus)
	}
	return b, nil
}

// denyReplicateObject adds the Deny to s3crr's own inline policy of the replication role
// (as the source account's root), which the role stage of a re-run puts back as it was.
func (e *Env) denyReplicateObject(ctx context.Context, req spec.Request) error {
	c := awsclient.IAM(e.RootConfig(req.Source.Account, req.Source.Region))
	role := aws.String(req.ReplicationRoleName())
	out, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: role, PolicyName: aws.String(names.ReplicationPolicyName)})
	if err != nil {
		return fmt.Errorf("read the replication role's policy: %w", err)
	}
	doc, err := policy.ParseIAMDocument(aws.ToString(out.PolicyDocument))
	if err != nil {
		return fmt.Errorf("parse the replication role's policy: %w", err)
	}
	doc.Statement = append(doc.Statement, policy.Statement{
		Sid: "HandEditedDeny", Effect: policy.Deny, Action: []string{"s3:ReplicateObject"},
		Resource: []string{"arn:aws:s3:::" + req.Destination.Bucket + "/*"},
	})
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String(names.ReplicationPolicyName), PolicyDocument: aws.String(string(doc.JSON()))}); err != nil {
		return fmt.Errorf("put the replication role's policy with the Deny: %w", err)
	}
	return nil
}
