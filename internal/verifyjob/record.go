package verifyjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/monitor"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/verify"
)

// The verification metrics (namespace policy.MetricsNamespace, dimension PairId); the
// HubStack dashboard shows them.
const (
	MetricVerificationFailed = "VerificationFailed"
	MetricCanaryLatency      = "CanaryLatencySeconds"
	MetricFindings           = "Findings"
	DimensionPairID          = "PairId"
)

// Attributes the record stage sets on the pair's item; `crr status` reads them.
const (
	AttrLastVerified   = "lastVerified"
	AttrVerifyStatus   = "verifyStatus"
	AttrCanaryLatency  = "canaryLatencySeconds"
	AttrFindingCount   = "findingCount"
	AttrVerifyFindings = "verifyFindings"
	AttrVerifyExec     = "verifyExecution"
)

// listPageSize is how many pairs one Scan page asks for (Limit). The IDs of a thousand
// pairs fit one Lambda response and the state payload either way; the limit keeps each
// call's read capacity and latency bounded however large the table grows.
const listPageSize = 500

// list reads one registered pair, or the IDs of all of them, page by page: each child
// execution of the verify state machine's Distributed Map reads its own pair's request
// (load), so the Map's items stay small (docs/aws-facts.md#F-SFN-DISTRIBUTED-MAP).
func (s *Service) list(ctx context.Context, pairID string) (ListResult, error) {
	out := ListResult{Pairs: []PairState{}}
	if pairID != "" {
		got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.cfg.TableName), ConsistentRead: aws.Bool(true),
			Key: map[string]ddbtypes.AttributeValue{names.PairsTableKey: &ddbtypes.AttributeValueMemberS{Value: pairID}}})
		if err != nil {
			return out, fmt.Errorf("read pair %s: %w", pairID, err)
		}
		if got.Item == nil {
			return out, &PairNotFound{PairID: pairID}
		}
		out.Pairs = append(out.Pairs, pairOf(got.Item))
		return out, nil
	}
	var start map[string]ddbtypes.AttributeValue
	for {
		page, err := s.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.cfg.TableName), ExclusiveStartKey: start,
			ProjectionExpression: aws.String(names.PairsTableKey), Limit: aws.Int32(listPageSize)})
		if err != nil {
			return out, fmt.Errorf("list pairs: %w", err)
		}
		for _, it := range page.Items {
			out.Pairs = append(out.Pairs, pairOf(it))
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// load fills in the pair's registered request when the state carries only its ID (an
// item of the verify-all listing).
func (s *Service) load(ctx context.Context, st PairState) (PairState, error) {
	if st.Request != "" {
		return st, nil
	}
	got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.cfg.TableName), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{names.PairsTableKey: &ddbtypes.AttributeValueMemberS{Value: st.PairID}}})
	if err != nil {
		return st, fmt.Errorf("read pair %s: %w", st.PairID, err)
	}
	if got.Item == nil {
		return st, &PairNotFound{PairID: st.PairID}
	}
	st.Request = pairOf(got.Item).Request
	return st, nil
}

func pairOf(item map[string]ddbtypes.AttributeValue) PairState {
	str := func(k string) string {
		if v, ok := item[k].(*ddbtypes.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return PairState{PairID: str(names.PairsTableKey), Request: str("request")}
}

// record ends a pair's verification: it deletes the canary, decides the outcome,
// records it on the pair, puts the metrics and, when it failed, publishes the alert.
func (s *Service) record(ctx context.Context, st PairState, execution string) (Result, error) {
	res := Result{PairID: st.PairID, Status: StatusPassed, VerifiedAt: s.cfg.Now().UTC(), Findings: []verify.Finding{}}
	if st.Report != nil {
		res.Findings = append(res.Findings, st.Report.Findings...)
	}
	if st.Canary != nil {
		res.Findings = append(res.Findings, st.Canary.Findings...)
		if st.Canary.Status == verify.CanaryCompleted {
			res.LatencySeconds = st.Canary.LatencySeconds
		}
		if err := s.cleanup(ctx, st.Canary.Canary); err != nil {
			res.Findings = append(res.Findings, verify.Finding{Check: "canary-cleanup", Kind: verify.KindCanary, Severity: verify.SeverityWarning,
				Account: st.Canary.Canary.SourceAccount, Document: "canary object", Message: err.Error(),
				Fix: "delete the canary versions by hand; the s3crr-verifier role needs s3:DeleteObjectVersion on the canary prefix"})
		}
	}
	if st.Error != nil {
		res.Findings = append(res.Findings, verify.Finding{Check: "verification-error", Kind: verify.KindAccess, Severity: verify.SeverityError,
			Message: st.Error.Error + ": " + st.Error.Cause, Fix: "see the cause; a refused AssumeRole means the member stack or its trust of the verify Lambda is missing"})
	}
	for _, f := range res.Findings {
		if f.Severity == verify.SeverityError {
			res.Status = StatusFailed
		}
	}
	if st.Canary == nil || (st.Canary.Status != verify.CanaryCompleted && st.Canary.Status != verify.CanaryFailed) {
		if st.Error == nil {
			res.Status = StatusFailed // no canary verdict is not a pass
		}
	}
	res.FindingCount = len(res.Findings)
	res.Summary = summarize(res)

	var errs []error
	if err := s.put(ctx, res, execution); err != nil {
		errs = append(errs, err)
	}
	if err := s.metrics(ctx, res); err != nil {
		errs = append(errs, err)
	}
	if res.Status == StatusFailed {
		if err := s.alert(ctx, st, res, execution); err != nil {
			errs = append(errs, err)
		} else {
			res.Alerted = true
		}
	}
	return res, errors.Join(errs...)
}

// summarize says the outcome in one line: the canary's latency when it passed, else
// every error finding with its fix (warnings only counted), or why there was no verdict.
func summarize(res Result) string {
	var errs []string
	warnings := 0
	for _, f := range res.Findings {
		switch f.Severity {
		case verify.SeverityError:
			e := f.Check
			if f.Code != "" {
				e += " (" + f.Code + ")"
			}
			if f.Account != "" {
				e += " in account " + f.Account
			}
			e += ": " + f.Message
			if f.Fix != "" {
				e += "; fix: " + f.Fix
			}
			errs = append(errs, e)
		case verify.SeverityWarning:
			warnings++
		}
	}
	if res.Status == StatusPassed {
		return fmt.Sprintf("passed: the canary replicated in %.1f s under the destination key; %d warning(s)", res.LatencySeconds, warnings)
	}
	if len(errs) == 0 {
		return fmt.Sprintf("failed: the canary reached no verdict before its deadline; %d warning(s)", warnings)
	}
	return fmt.Sprintf("failed with %d error(s):\n- %s", len(errs), strings.Join(errs, "\n- "))
}

func (s *Service) cleanup(ctx context.Context, c verify.Canary) error {
	if c.VersionID == "" {
		return nil
	}
	src, dst, err := s.writerSessions(ctx, c)
	if err != nil {
		return err
	}
	return verify.CleanupCanary(ctx, c, src, dst)
}

// put records the outcome on the pair's item; a pair deregistered meanwhile is not
// re-created (attribute_exists).
func (s *Service) put(ctx context.Context, res Result, execution string) error {
	findings, err := json.Marshal(res.Findings)
	if err != nil {
		return fmt.Errorf("encode findings: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.cfg.TableName),
		Key:                 map[string]ddbtypes.AttributeValue{names.PairsTableKey: &ddbtypes.AttributeValueMemberS{Value: res.PairID}},
		UpdateExpression:    aws.String("SET #lv = :lv, #st = :st, #lat = :lat, #n = :n, #f = :f, #ex = :ex"),
		ConditionExpression: aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": names.PairsTableKey, "#lv": AttrLastVerified, "#st": AttrVerifyStatus,
			"#lat": AttrCanaryLatency, "#n": AttrFindingCount, "#f": AttrVerifyFindings, "#ex": AttrVerifyExec},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":lv":  &ddbtypes.AttributeValueMemberS{Value: res.VerifiedAt.Format(time.RFC3339)},
			":st":  &ddbtypes.AttributeValueMemberS{Value: res.Status},
			":lat": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatFloat(res.LatencySeconds, 'f', 3, 64)},
			":n":   &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(res.FindingCount)},
			":f":   &ddbtypes.AttributeValueMemberS{Value: string(findings)},
			":ex":  &ddbtypes.AttributeValueMemberS{Value: execution},
		},
	})
	if err != nil && awsclient.ErrorCode(err) != "ConditionalCheckFailedException" {
		return fmt.Errorf("record verification of pair %s: %w", res.PairID, err)
	}
	return nil
}

func (s *Service) metrics(ctx context.Context, res Result) error {
	dims := []cwtypes.Dimension{{Name: aws.String(DimensionPairID), Value: aws.String(res.PairID)}}
	failed := 0.0
	if res.Status == StatusFailed {
		failed = 1
	}
	data := []cwtypes.MetricDatum{
		{MetricName: aws.String(MetricVerificationFailed), Dimensions: dims, Value: aws.Float64(failed), Unit: cwtypes.StandardUnitCount, Timestamp: aws.Time(res.VerifiedAt)},
		{MetricName: aws.String(MetricFindings), Dimensions: dims, Value: aws.Float64(float64(res.FindingCount)), Unit: cwtypes.StandardUnitCount, Timestamp: aws.Time(res.VerifiedAt)},
	}
	if res.LatencySeconds > 0 {
		data = append(data, cwtypes.MetricDatum{MetricName: aws.String(MetricCanaryLatency), Dimensions: dims, Value: aws.Float64(res.LatencySeconds),
			Unit: cwtypes.StandardUnitSeconds, Timestamp: aws.Time(res.VerifiedAt)})
	}
	if _, err := s.cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(policy.MetricsNamespace), MetricData: data}); err != nil {
		return fmt.Errorf("put metrics of pair %s: %w", res.PairID, err)
	}
	return nil
}

func (s *Service) alert(ctx context.Context, st PairState, res Result, execution string) error {
	v := monitor.VerificationFailure{PairID: res.PairID, Status: res.Status, Execution: execution, At: res.VerifiedAt}
	if loaded, err := s.load(ctx, st); err == nil {
		st = loaded // a pair whose check failed before reading its request
	}
	if req, err := s.request(st); err == nil {
		v.Source = monitor.Side{Account: req.Source.Account, Region: req.Source.Region, Bucket: req.Source.Bucket, KeyARN: st.SourceKeyARN}
		v.Dest = monitor.Side{Account: req.Destination.Account, Region: req.Destination.Region, Bucket: req.Destination.Bucket, KeyARN: st.DestinationKeyARN}
	}
	for _, f := range res.Findings {
		v.Findings = append(v.Findings, monitor.VerificationFinding{Check: f.Check, Severity: string(f.Severity), Code: f.Code, Account: f.Account,
			Document: f.Document, Statement: f.Statement, Message: f.Message, Fix: f.Fix})
	}
	in, err := monitor.PublishInput(s.cfg.TopicARN, monitor.VerificationAlert(v))
	if err != nil {
		return err
	}
	if _, err := s.sns.Publish(ctx, in); err != nil {
		return fmt.Errorf("publish alert of pair %s: %w", res.PairID, err)
	}
	return nil
}
