package localrun

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/internal/verify"
	"github.com/s3crr/s3crr/internal/verifyjob"
)

// VerifyDemo is the demo's verification step: a pass, the tampering, the verification
// that reports it, the repair, and the pass again.
type VerifyDemo struct {
	// Healthy, Tampered and Repaired are the pair's result in each verification.
	Healthy, Tampered, Repaired verifyjob.Result
	// Removed is the key policy statement the tampering removed.
	Removed string
	// Finding is the tampered verification's finding that names it.
	Finding verify.Finding
	// Repair is the provision execution that put the statement back.
	Repair *Run
}

// DemoVerification verifies a provisioned pair through the verify state machine, removes
// the destination key policy's statement that lets the replication role encrypt
// replicas, verifies again (which must fail, naming that statement and its fix),
// provisions the pair again, and verifies a third time (which must pass).
func (e *Env) DemoVerification(ctx context.Context, request []byte) (*VerifyDemo, error) {
	req, err := spec.Parse(request)
	if err != nil {
		return nil, fmt.Errorf("read the request: %w", err)
	}
	d := &VerifyDemo{}
	verifyPair := func(label string) (verifyjob.Result, error) {
		run, err := e.Verify(ctx, []byte(`{"pairId":"`+req.PairID+`"}`), "")
		if err != nil {
			return verifyjob.Result{}, err
		}
		if run.Execution.Status != "SUCCEEDED" || len(run.Results) != 1 {
			return verifyjob.Result{}, fmt.Errorf("%s verification %s: %s: %s", label, run.Execution.Status, run.Execution.Error, run.Execution.Cause)
		}
		return run.Results[0], nil
	}
	if d.Healthy, err = verifyPair("first"); err != nil {
		return d, err
	}
	if d.Healthy.Status != verifyjob.StatusPassed {
		return d, fmt.Errorf("the provisioned pair did not pass verification: %v", d.Healthy.Findings)
	}

	d.Removed = policy.SidReplicaEncryptShared
	if err := e.removeKeyStatement(ctx, req, d.Removed); err != nil {
		return d, err
	}
	if d.Tampered, err = verifyPair("tampered"); err != nil {
		return d, err
	}
	found := false
	for _, f := range d.Tampered.Findings {
		if f.Check == "destination-key-policy" && !found {
			d.Finding, found = f, true
		}
	}
	if d.Tampered.Status != verifyjob.StatusFailed || !found {
		return d, fmt.Errorf("verification after removing %s: %s, findings %v; want it failed naming the destination key policy", d.Removed, d.Tampered.Status, d.Tampered.Findings)
	}

	if d.Repair, err = e.Provision(ctx, request, req.ExecutionName()+"-verify-repair", nil); err != nil {
		return d, err
	}
	if !d.Repair.Succeeded() {
		return d, &ExecutionError{Run: d.Repair}
	}
	if d.Repaired, err = verifyPair("repaired"); err != nil {
		return d, err
	}
	if d.Repaired.Status != verifyjob.StatusPassed {
		return d, fmt.Errorf("after re-applying the pair, verification still fails: %v", d.Repaired.Findings)
	}
	return d, nil
}

// removeKeyStatement removes one statement from the destination key's policy, as the
// key's owner could.
func (e *Env) removeKeyStatement(ctx context.Context, req spec.Request, sid string) error {
	c := awsclient.KMS(e.RootConfig(req.Destination.Account, req.Destination.Region))
	key, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(req.Destination.KMSKeyAlias)})
	if err != nil {
		return fmt.Errorf("find the destination key: %w", err)
	}
	arn := key.KeyMetadata.Arn
	out, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: arn, PolicyName: aws.String("default")})
	if err != nil {
		return fmt.Errorf("read the destination key policy: %w", err)
	}
	doc, err := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
	if err != nil {
		return fmt.Errorf("read the destination key policy: %w", err)
	}
	doc, removed := policy.Remove(doc, sid)
	if !removed {
		return fmt.Errorf("the destination key policy has no statement %s", sid)
	}
	if _, err := c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: arn, PolicyName: aws.String("default"), Policy: aws.String(doc.String())}); err != nil {
		return fmt.Errorf("write the destination key policy: %w", err)
	}
	return nil
}
